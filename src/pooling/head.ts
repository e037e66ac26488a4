// The embedding head on the GPU: pool each packed sequence → sentence-transformers Dense modules
// (if any) → keep the first `dims` columns (matryoshka) → L2-normalize (or not) → optionally pack the
// sign bits (binary / ubinary). Only the [B, dims] result (or its bits) is copied back.
//
// Rows of one batch may come from different requests with different pooling modes, dimensions and
// normalization: modes go per row in a buffer; dims/normalize are uniform per run of rows, one
// l2_normalize dispatch per run.

import type { Bound, Gpu } from '../gpu/context';
import { L2NormalizeKernel, type L2NormalizeShape } from '../kernels/l2_normalize';
import { MatmulKernel, type MatmulShape, type MatmulVariant } from '../kernels/matmul';
import { PoolKernel, poolModes, type PoolMode, type PoolShape } from '../kernels/pool';
import { QuantizeBitsKernel, packedRowBytes, quantizedBytes, type QuantizeBitsShape } from '../kernels/quantize_bits';
import type { PreparedForward } from '../models/model';
import type { PackedBatch } from '../models/packing';
import type { DenseLayer } from './dense';
import { InternalError } from '../gpu/errors';

export interface EmbedRow {
  mode: PoolMode;
  /** Columns kept, ≤ the embedding size. */
  dims: number;
  normalize: boolean;
}

/** Split rows into runs of equal (dims, normalize): one normalize dispatch per run. */
export function rowRuns<T>(rows: readonly T[], same: (a: T, b: T) => boolean): { start: number; count: number; row: T }[] {
  const runs: { start: number; count: number; row: T }[] = [];
  rows.forEach((row, i) => {
    const last = runs[runs.length - 1];
    if (last && same(last.row, row)) last.count++;
    else runs.push({ start: i, count: 1, row });
  });
  return runs;
}

/** One batch's embedding head: its dispatches, and how to read the answer back. */
export interface EmbedRun {
  encode(pass: GPUComputePassEncoder): void;
  output: GPUBuffer;
  /** Bytes of `output` to copy back. */
  bytes: number;
  split(data: ArrayBuffer): (Float32Array | Uint8Array)[];
}

interface Plan {
  hidden: GPUBuffer;
  cuSeqLens: GPUBuffer;
  capacity: number;
  modes: GPUBuffer;
  pooled: GPUBuffer;
  /** One output per Dense module. */
  densed: GPUBuffer[];
  out: GPUBuffer;
  /** Packed sign bits of `out`, for binary / ubinary requests. */
  bits: GPUBuffer;
  pool: Bound<PoolShape>;
  dense: Bound<MatmulShape>[];
  quantize: Bound<QuantizeBitsShape>;
  /** Normalize dispatches, grown on demand: [normalize=false, normalize=true]. */
  norm: [Bound<L2NormalizeShape>[], Bound<L2NormalizeShape>[]];
}

export class EmbedHead {
  private plan: Plan | undefined;

  private constructor(
    private readonly gpu: Gpu,
    readonly hiddenSize: number,
    private readonly pool: PoolKernel,
    private readonly normalizers: [L2NormalizeKernel, L2NormalizeKernel],
    private readonly denseLayers: readonly DenseLayer[],
    private readonly denseKernels: readonly MatmulKernel[],
    private readonly quantizer: QuantizeBitsKernel,
  ) {}

  static async create(gpu: Gpu, hiddenSize: number, dense: readonly DenseLayer[] = [], variant?: MatmulVariant): Promise<EmbedHead> {
    const wg = hiddenSize >= 256 ? 128 : 64;
    const [pool, copy, norm, quantizer, denseKernels] = await Promise.all([
      PoolKernel.create(gpu, { workgroupSize: wg }),
      L2NormalizeKernel.create(gpu, { normalize: false, workgroupSize: wg }),
      L2NormalizeKernel.create(gpu, { normalize: true, workgroupSize: wg }),
      QuantizeBitsKernel.create(gpu),
      Promise.all(dense.map((d) => MatmulKernel.create(gpu, { variant, bias: !!d.b, activation: d.activation }))),
    ]);
    return new EmbedHead(gpu, hiddenSize, pool, [copy, norm], dense, denseKernels, quantizer);
  }

  /** Width of the vectors this head produces: the last Dense module's output, else the hidden size. */
  get embeddingSize(): number {
    return this.denseLayers.length ? this.denseLayers[this.denseLayers.length - 1].outFeatures : this.hiddenSize;
  }

  private planFor(fwd: PreparedForward, batch: number): Plan {
    const p = this.plan;
    if (p && p.hidden === fwd.hidden && p.cuSeqLens === fwd.inputs.cuSeqLens && batch <= p.capacity) return p;
    if (p) this.release(p);
    const H = this.hiddenSize;
    const capacity = Math.max(8, 2 ** Math.ceil(Math.log2(batch)));
    const modes = this.gpu.storage(capacity * 4, 'embed.modes');
    const pooled = this.gpu.storage(capacity * H * 4, 'embed.pooled');
    const densed = this.denseLayers.map((d) => this.gpu.storage(capacity * d.outFeatures * 4, `embed.${d.path}`));
    const out = this.gpu.storage(capacity * this.embeddingSize * 4, 'embed.out');
    const bits = this.gpu.storage(quantizedBytes(capacity, this.embeddingSize), 'embed.bits');
    const pool = this.pool.bind({ hidden: fwd.hidden, cuSeqLens: fwd.inputs.cuSeqLens, modes, out: pooled }, 'embed.pool');
    const dense = this.denseLayers.map((d, i) =>
      this.denseKernels[i].bind({ x: i === 0 ? pooled : densed[i - 1], w: d.w, bias: d.b, y: densed[i] }, `embed.${d.path}`),
    );
    const quantize = this.quantizer.bind({ x: out, out: bits }, 'embed.quantize_bits');
    this.plan = { hidden: fwd.hidden, cuSeqLens: fwd.inputs.cuSeqLens, capacity, modes, pooled, densed, out, bits, pool, dense, quantize, norm: [[], []] };
    return this.plan;
  }

  private release(p: Plan): void {
    p.pool.destroy();
    p.dense.forEach((d) => d.destroy());
    p.quantize.destroy();
    p.norm.flat().forEach((d) => d.destroy());
    [p.modes, p.pooled, ...p.densed, p.out, p.bits].forEach((b) => this.gpu.pool.release(b));
    this.plan = undefined;
  }

  /**
   * Set up the head for one batch: `encode` records pool (+ Dense) + normalize (+ bit packing) into
   * the batch's pass; read `bytes` of `output` back and `split` gives each row's vector (Float32Array),
   * or with `bits` its packed sign bits (Uint8Array; every row must then have the same dims).
   */
  prepare(fwd: PreparedForward, batch: PackedBatch, rows: readonly EmbedRow[], bits = false): EmbedRun {
    const H = this.hiddenSize;
    const D = this.embeddingSize;
    const p = this.planFor(fwd, batch.batch);
    this.gpu.write(p.modes, poolModes(rows.map((r) => r.mode)));
    p.pool.update({ batch: batch.batch, hidden: H });
    this.denseLayers.forEach((d, i) => p.dense[i].update({ M: batch.batch, N: d.outFeatures, K: d.inFeatures }));
    const features = p.densed.length ? p.densed[p.densed.length - 1] : p.pooled;
    const used = [0, 0];
    const dispatches = rowRuns(rows, (a, b) => a.dims === b.dims && a.normalize === b.normalize).map((run) => {
      const which = run.row.normalize ? 1 : 0;
      const list = p.norm[which];
      if (used[which] === list.length) list.push(this.normalizers[which].bind({ x: features, out: p.out }, `embed.normalize${which}`));
      const d = list[used[which]++];
      return d.update({ rows: run.count, rowOffset: run.start, dims: run.row.dims, inStride: D, outStride: D });
    });
    const encode = (pass: GPUComputePassEncoder) => {
      p.pool.encode(pass);
      p.dense.forEach((d) => d.encode(pass));
      dispatches.forEach((d) => d.encode(pass));
    };
    if (!bits) {
      return {
        encode,
        output: p.out,
        bytes: batch.batch * D * 4,
        split: (data) => rows.map((r, i) => new Float32Array(data, i * D * 4, r.dims).slice()),
      };
    }
    const dims = rows[0].dims;
    if (rows.some((r) => r.dims !== dims)) throw new InternalError('embed head: a bit-packed batch needs one dims for every row');
    const q = p.quantize.update({ rows: batch.batch, dims, inStride: D });
    const nb = packedRowBytes(dims);
    return {
      encode: (pass) => {
        encode(pass);
        q.encode(pass);
      },
      output: p.bits,
      bytes: quantizedBytes(batch.batch, dims),
      split: (data) => rows.map((_, i) => new Uint8Array(data, i * nb, nb).slice()),
    };
  }

  dispose(): void {
    if (this.plan) this.release(this.plan);
    for (const d of this.denseLayers) {
      d.w.destroy();
      d.b?.destroy();
    }
  }
}
