// What every model body (BERT, Qwen3, …) gives the engine: a forward pass over a packed batch that
// leaves the final hidden state [T, H] on the GPU. Heads (pooling, classifiers) read it from there.

import type { Bound, Gpu } from '../gpu/context';
import type { PackedBatch } from './packing';

/** The batch's index arrays on the GPU, shared by the model body and the heads. */
export interface BatchBuffers {
  ids: GPUBuffer;
  typeIds: GPUBuffer;
  positions: GPUBuffer;
  seqOf: GPUBuffer;
  cuSeqLens: GPUBuffer;
}

/** A forward pass prepared for one batch: encode it into the batch's compute pass. */
export interface PreparedForward {
  /** Final hidden states [tokens, hiddenSize], valid after the pass runs. */
  hidden: GPUBuffer;
  inputs: BatchBuffers;
  encode(pass: GPUComputePassEncoder): void;
}

export interface ModelBody {
  readonly hiddenSize: number;
  /** Longest sequence the position table (or RoPE config) allows. */
  readonly maxPositions: number;
  /**
   * Upload the batch's ids/positions and set every dispatch's shape. The returned pass must be
   * encoded and submitted before the next prepare() (one batch in flight per model body).
   */
  prepare(batch: PackedBatch): PreparedForward;
  dispose(): void;
}

/** Activation buffers sized for a token/sequence capacity, grown by doubling when a batch needs more. */
export abstract class CapacityPlan<T> {
  private cap = { tokens: 0, batch: 0 };
  private plan: T | undefined;

  constructor(protected readonly gpu: Gpu) {}

  protected abstract build(tokens: number, batch: number): T;
  protected abstract release(plan: T): void;

  protected planFor(tokens: number, batch: number): T {
    if (!this.plan || tokens > this.cap.tokens || batch > this.cap.batch) {
      if (this.plan) this.release(this.plan);
      const t = Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(1, tokens))), this.cap.tokens);
      const b = Math.max(8, 2 ** Math.ceil(Math.log2(Math.max(1, batch))), this.cap.batch);
      this.cap = { tokens: t, batch: b };
      this.plan = this.build(t, b);
    }
    return this.plan;
  }

  protected disposePlan(): void {
    if (this.plan) this.release(this.plan);
    this.plan = undefined;
    this.cap = { tokens: 0, batch: 0 };
  }
}

/** A model body's activation plan: index buffers, activations, and the steps of one forward pass. */
export interface BodyPlan {
  inputs: BatchBuffers;
  acts: GPUBuffer[];
  hidden: GPUBuffer;
  steps: StepList;
}

/** A model body whose forward pass is a StepList over capacity-sized buffers (BERT, Qwen3). */
export abstract class PlannedBody extends CapacityPlan<BodyPlan> implements ModelBody {
  abstract readonly hiddenSize: number;
  abstract readonly maxPositions: number;

  /** Position ids the model wants for a packed batch (RoBERTa offsets them). */
  protected positions(batch: PackedBatch): Uint32Array {
    return batch.positions;
  }

  protected release(plan: BodyPlan): void {
    plan.steps.destroy();
    plan.acts.forEach((b) => this.gpu.pool.release(b));
    releaseBatchBuffers(this.gpu, plan.inputs);
  }

  prepare(batch: PackedBatch): PreparedForward {
    const plan = this.planFor(batch.tokens, batch.batch);
    writeBatchBuffers(this.gpu, plan.inputs, batch, this.positions(batch));
    plan.steps.update(batch.tokens);
    return { hidden: plan.hidden, inputs: plan.inputs, encode: (pass) => plan.steps.encode(pass) };
  }

  abstract dispose(): void;
}

/** Allocate the per-batch index buffers for a capacity. */
export function allocBatchBuffers(gpu: Gpu, tokens: number, batch: number): BatchBuffers {
  return {
    ids: gpu.storage(tokens * 4, 'batch.ids'),
    typeIds: gpu.storage(tokens * 4, 'batch.type_ids'),
    positions: gpu.storage(tokens * 4, 'batch.positions'),
    seqOf: gpu.storage(tokens * 4, 'batch.seq_of'),
    cuSeqLens: gpu.storage((batch + 1) * 4, 'batch.cu_seqlens'),
  };
}

export function writeBatchBuffers(gpu: Gpu, b: BatchBuffers, batch: PackedBatch, positions: Uint32Array = batch.positions): void {
  gpu.write(b.ids, batch.ids);
  gpu.write(b.typeIds, batch.typeIds);
  gpu.write(b.positions, positions);
  gpu.write(b.seqOf, batch.seqOf);
  gpu.write(b.cuSeqLens, batch.cuSeqLens);
}

export function releaseBatchBuffers(gpu: Gpu, b: BatchBuffers): void {
  for (const buf of Object.values(b)) gpu.pool.release(buf);
}

/**
 * A forward pass as a list of bound dispatches, each with how its shape follows from the batch's
 * token count. Built once per capacity; per batch only the shapes change.
 */
export class StepList {
  private readonly steps: { d: Bound<unknown>; shape: (tokens: number) => unknown }[] = [];

  add<S>(d: Bound<S>, shape: (tokens: number) => S): void {
    this.steps.push({ d: d as Bound<unknown>, shape });
  }

  update(tokens: number): void {
    for (const s of this.steps) s.d.update(s.shape(tokens));
  }

  encode(pass: GPUComputePassEncoder): void {
    for (const s of this.steps) s.d.encode(pass);
  }

  destroy(): void {
    for (const s of this.steps) s.d.destroy();
  }
}
