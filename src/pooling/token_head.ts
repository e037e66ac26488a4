// The token_embed head: every real token's hidden state, truncated to `dims` (matryoshka) and
// L2-normalized (or not), on the GPU. Rows are the packed batch's T tokens; the caller splits them
// per sequence with cuSeqLens.

import type { Bound, Gpu } from '../gpu/context';
import { L2NormalizeKernel, type L2NormalizeShape } from '../kernels/l2_normalize';
import type { PreparedForward } from '../models/model';
import type { PackedBatch } from '../models/packing';
import { rowRuns } from './head';

export interface TokenRow {
  dims: number;
  normalize: boolean;
}

interface Plan {
  hidden: GPUBuffer;
  capacity: number;
  out: GPUBuffer;
  norm: [Bound<L2NormalizeShape>[], Bound<L2NormalizeShape>[]];
}

export class TokenEmbedHead {
  private plan: Plan | undefined;

  private constructor(
    private readonly gpu: Gpu,
    readonly hiddenSize: number,
    private readonly normalizers: [L2NormalizeKernel, L2NormalizeKernel],
  ) {}

  static async create(gpu: Gpu, hiddenSize: number): Promise<TokenEmbedHead> {
    const wg = hiddenSize >= 256 ? 128 : 64;
    const [copy, norm] = await Promise.all([
      L2NormalizeKernel.create(gpu, { normalize: false, workgroupSize: wg }),
      L2NormalizeKernel.create(gpu, { normalize: true, workgroupSize: wg }),
    ]);
    return new TokenEmbedHead(gpu, hiddenSize, [copy, norm]);
  }

  private planFor(fwd: PreparedForward, tokens: number): Plan {
    const p = this.plan;
    if (p && p.hidden === fwd.hidden && tokens <= p.capacity) return p;
    if (p) this.release(p);
    const capacity = Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(1, tokens))));
    const out = this.gpu.storage(capacity * this.hiddenSize * 4, 'token_embed.out');
    this.plan = { hidden: fwd.hidden, capacity, out, norm: [[], []] };
    return this.plan;
  }

  private release(p: Plan): void {
    p.norm.flat().forEach((d) => d.destroy());
    this.gpu.pool.release(p.out);
    this.plan = undefined;
  }

  /** `seqRows[b]` applies to every token of sequence b. Output row t holds token t in its first dims floats. */
  prepare(fwd: PreparedForward, batch: PackedBatch, seqRows: readonly TokenRow[]): { encode(pass: GPUComputePassEncoder): void; output: GPUBuffer; rowStride: number } {
    const H = this.hiddenSize;
    const p = this.planFor(fwd, batch.tokens);
    // Runs over sequences, expanded to their token ranges.
    const used = [0, 0];
    const dispatches = rowRuns(seqRows, (a, b) => a.dims === b.dims && a.normalize === b.normalize).map((run) => {
      const which = run.row.normalize ? 1 : 0;
      const list = p.norm[which];
      if (used[which] === list.length) list.push(this.normalizers[which].bind({ x: fwd.hidden, out: p.out }, `token_embed.normalize${which}`));
      const start = batch.cuSeqLens[run.start];
      const end = batch.cuSeqLens[run.start + run.count];
      return list[used[which]++].update({ rows: end - start, rowOffset: start, dims: run.row.dims, inStride: H, outStride: H });
    });
    return { output: p.out, rowStride: H, encode: (pass) => dispatches.forEach((d) => d.encode(pass)) };
  }

  dispose(): void {
    if (this.plan) this.release(this.plan);
  }
}
