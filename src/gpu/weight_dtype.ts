// Which storage dtype a model's weights get on the GPU: the `dtype` engine option, resolved against
// the adapter and the checkpoint, and reported as info.dtype.
//
//   'f32'  always f32.
//   'f16'  f16 weights (matmuls and embedding tables; norms, biases, heads stay f32), f32 everywhere
//          else; an error when the device lacks shader-f16 or a weight does not fit in f16.
//   'auto' (the default) f16 when all of: the backend is WebGPU, the device has shader-f16, the
//          adapter is hardware, and every weight it would store as f16 fits in the f16 range. Software adapters stay
//          f32: SwiftShader has no shader-f16, and on lavapipe f16 weights ran the matmul shapes
//          1.2–1.5× faster but the MiniLM-shaped model end to end within this machine's noise
//          (README "f16 weights"), not worth leaving the f32 results there. The fidelity bar (cosine ≥ 0.9999 and max abs ≤ 1e-3 for
//          normalized embeddings and probabilities, 1e-2 relative for logits and hidden states) is
//          measured on every fixture in test/models/f16.test.ts; f32 activations and accumulation
//          are what keep it: only the weights are rounded (a relative 2^-11 per weight).

import { BadRequestError, GpuError } from './errors';
import type { Gpu } from './context';
import type { StorageDtype } from './storage_dtype';
import { BASE_PREFIXES, type WeightStore } from '../loading/safetensors';
import { HALF_MAX } from '../loading/half';

export type DtypeChoice = 'auto' | StorageDtype;

export interface DtypeInfo {
  /** The storage dtype of the model's matmul weights and embedding tables. */
  name: StorageDtype;
  requested: DtypeChoice;
  /** Why `auto` chose as it did (or 'requested'). */
  reason: string;
  /** Bytes of weights on the device (all uploaded tensors, heads included). */
  weightBytes?: number;
}

/**
 * Names of the heads' tensors (src/models/heads.ts: poolers, classifiers, scores, the LM head),
 * after any base-model prefix. Heads run their small matmuls on f32 weights.
 */
const HEAD_PREFIXES = ['pooler.', 'classifier.', 'pre_classifier.', 'score.', 'head.', 'lm_head.'] as const;

/**
 * THE per-tensor rule: how checkpoint tensor `name` of `shape` is stored on the GPU when the model's
 * weights are `weightDtype`. Matrices and embedding tables (2 or more dims) of the body take the
 * weight dtype; norms and biases (1 dim) and the heads' tensors stay f32. Known from the header
 * alone, so the streaming upload converts each tensor as its bytes arrive (tensor_upload.ts), and
 * the model code's uploads (src/models/weights.ts) store what they upload by the same rule.
 */
export function storageDtypeOf(name: string, shape: readonly number[], weightDtype: StorageDtype): StorageDtype {
  if (weightDtype === 'f32' || shape.length < 2) return 'f32';
  const prefix = BASE_PREFIXES.find((p) => name.startsWith(p));
  const bare = prefix ? name.slice(prefix.length) : name;
  return HEAD_PREFIXES.some((h) => bare.startsWith(h)) ? 'f32' : weightDtype;
}

/**
 * The first float tensor stored as f16 (storageDtypeOf) holding a finite value past ±65504, or
 * null (F16 tensors always fit). Tensors already streamed to the GPU were checked on the way
 * (tensor_upload.ts) and are skipped: only the host ones are read here.
 */
export function firstOutOfHalfRange(weights: WeightStore): string | null {
  for (const name of weights.names()) {
    const dtype = weights.dtype(name);
    if (dtype !== 'F32' && dtype !== 'BF16' && dtype !== 'F64') continue;
    if (weights.onDevice(name) || storageDtypeOf(name, weights.shape(name), 'f16') !== 'f16') continue;
    const v = weights.get(name);
    for (let i = 0; i < v.length; i++) {
      const a = Math.abs(v[i]);
      if (a > HALF_MAX && a !== Infinity) return name;
    }
  }
  return null;
}

/**
 * Resolve the dtype option on this context, before the weights are read: everything but the range
 * check of 'auto' (checked as the weights arrive: chooseWeightDtype, or the streaming upload).
 */
export function planWeightDtype(gpu: Gpu, requested: DtypeChoice = 'auto'): DtypeInfo {
  if (requested !== 'auto' && requested !== 'f32' && requested !== 'f16') {
    throw new BadRequestError(`dtype must be 'auto', 'f32' or 'f16', got ${JSON.stringify(requested)}`);
  }
  if (requested === 'f32') return { name: 'f32', requested, reason: 'requested' };
  const adapter = [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' ') || 'unknown adapter';
  if (requested === 'f16') {
    if (gpu.backend !== 'webgpu') throw new GpuError("dtype 'f16' needs the WebGPU backend; the CPU backend computes in f32 (use dtype: 'f32' or 'auto')");
    if (!gpu.hasF16) throw new GpuError(`dtype 'f16' needs the shader-f16 feature, which ${adapter} does not offer (use dtype: 'f32' or 'auto')`);
    return { name: 'f16', requested, reason: 'requested' };
  }
  if (gpu.backend !== 'webgpu') return { name: 'f32', requested, reason: 'the CPU backend computes in f32' };
  if (!gpu.hasF16) return { name: 'f32', requested, reason: `no shader-f16 on ${adapter}` };
  if (gpu.adapter.isSoftware) return { name: 'f32', requested, reason: `software adapter (${adapter}): f16 storage is not faster there` };
  return { name: 'f16', requested, reason: `shader-f16 on a hardware adapter (${adapter})` };
}

/** What 'auto' falls back to when tensor `name` has values beyond the f16 range. */
export function halfRangeFallback(name: string): DtypeInfo {
  return { name: 'f32', requested: 'auto', reason: `tensor "${name}" has values beyond the f16 range` };
}

/** Resolve the dtype option on this context and a checkpoint held on the host. */
export function chooseWeightDtype(gpu: Gpu, weights: WeightStore, requested: DtypeChoice = 'auto'): DtypeInfo {
  const plan = planWeightDtype(gpu, requested);
  if (plan.name !== 'f16' || plan.requested !== 'auto') return plan;
  const tooBig = firstOutOfHalfRange(weights);
  return tooBig ? halfRangeFallback(tooBig) : plan;
}
