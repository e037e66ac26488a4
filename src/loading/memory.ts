// What a model needs on the GPU, estimated before anything is allocated, and the refusal when it
// cannot fit.
//
// WebGPU tells a page nothing about how much memory an adapter has, only per-buffer limits. So the
// estimate is checked against what is known:
// - every weight tensor, and the largest activation buffer of a full batch, against the largest
//   buffer a kernel can bind (min of maxBufferSize and maxStorageBufferBindingSize): a hard limit,
//   refused with the tensor's name (no kernel here can take a weight split across buffers);
// - the total (weights + one batch of activations) against `gpuMemoryBudget` when the caller gives
//   one (they may know their users' hardware);
// - and allocation itself runs in an 'out-of-memory' error scope (load_model.ts), so a device that
//   runs out anyway is a GpuMemoryError with this estimate, not a lost device later.
//
// Activations: the model bodies allocate one set of [T, ·] buffers per batch (the engine submits one
// batch at a time), with T up to max(maxBatchTokens, maxLength) — a single item longer than the
// budget runs alone. Per token that is at most 8·H + 3·I floats over the families here (BERT: x, h,
// ctx, qkv = 3H, tmp = max(H, I), intermediate = I; decoders: x, h, normed, q|k|v ≤ 3H, ctx, gate|up
// = 2I, act = I), plus 4 u32 of batch metadata; attention keeps no T×T scratch (online softmax).
// The buffer pool rounds sizes up to 4 steps per power of two, so the sum is taken × 1.25.

import { GpuError } from '../gpu/errors';
import type { ModelConfig } from '../models/config';

export interface MemoryEstimate {
  /** Bytes of every weight tensor on the GPU, each in its storage dtype (f32 or f16). */
  weightsBytes: number;
  /** One batch of activations at `batchTokens` tokens (pool rounding included). */
  activationBytes: number;
  totalBytes: number;
  /** Tokens of the largest batch: max(maxBatchTokens, maxLength). */
  batchTokens: number;
  /** The largest single activation buffer of that batch, in bytes. */
  largestActivationBytes: number;
}

/** The estimate did not fit: the message says what was estimated and what the limit is. */
export class GpuMemoryError extends GpuError {
  constructor(
    message: string,
    readonly estimate: MemoryEstimate,
  ) {
    super(message);
    this.name = 'GpuMemoryError';
  }
}

const MB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Activation needs of one full batch for `config`'s shapes. */
export function estimateActivations(config: ModelConfig, batchTokens: number): { bytes: number; largest: number } {
  const c = config as ModelConfig & { intermediate_size?: number; num_attention_heads?: number; num_key_value_heads?: number; head_dim?: number };
  const H = c.hidden_size;
  const I = c.intermediate_size ?? 4 * H;
  const nH = c.num_attention_heads ?? 1;
  const hd = c.head_dim ?? H / nH;
  const nKV = c.num_key_value_heads ?? nH;
  const perToken = 4 * (8 * H + 3 * I) + 16;
  const widest = Math.max((nH + 2 * nKV) * hd, 2 * I, H);
  return { bytes: Math.ceil(batchTokens * perToken * 1.25), largest: batchTokens * widest * 4 };
}

export function estimateMemory(config: ModelConfig, weightsBytes: number, maxBatchTokens: number, maxLength: number): MemoryEstimate {
  const batchTokens = Math.max(maxBatchTokens, maxLength);
  const act = estimateActivations(config, batchTokens);
  return { weightsBytes, activationBytes: act.bytes, totalBytes: weightsBytes + act.bytes, batchTokens, largestActivationBytes: act.largest };
}

/**
 * Refuse, before allocating, what cannot fit: a tensor or activation buffer over the per-buffer
 * limit, or a total over the caller's budget.
 */
export function checkMemory(
  modelId: string,
  estimate: MemoryEstimate,
  largestTensor: { name: string; bytes: number } | undefined,
  limits: { maxBindBytes: number; budget?: number },
): void {
  const { maxBindBytes, budget } = limits;
  if (largestTensor && largestTensor.bytes > maxBindBytes) {
    throw new GpuMemoryError(
      `Model "${modelId}": tensor "${largestTensor.name}" needs ${largestTensor.bytes} bytes (${MB(largestTensor.bytes)}) as f32, more than this adapter's largest bindable buffer of ${maxBindBytes} bytes (min of maxBufferSize and maxStorageBufferBindingSize); the kernels cannot take a weight split across buffers.`,
      estimate,
    );
  }
  if (estimate.largestActivationBytes > maxBindBytes) {
    throw new GpuMemoryError(
      `Model "${modelId}": a batch of ${estimate.batchTokens} tokens needs a ${MB(estimate.largestActivationBytes)} activation buffer, more than this adapter's largest bindable buffer (${MB(maxBindBytes)}); lower scheduler.maxBatchTokens.`,
      estimate,
    );
  }
  if (budget !== undefined && estimate.totalBytes > budget) {
    throw new GpuMemoryError(
      `Model "${modelId}" needs about ${MB(estimate.totalBytes)} of GPU memory (weights ${MB(estimate.weightsBytes)} + activations for ${estimate.batchTokens} tokens ${MB(estimate.activationBytes)}), more than the gpuMemoryBudget of ${MB(budget)}; lower scheduler.maxBatchTokens or use a smaller model.`,
      estimate,
    );
  }
}
