// The vector index's kernels on the CPU backend: twins of src/kernels/dot_scores.ts,
// hamming_scores.ts and top_k.ts (same buffers, shapes and errors) over src/cpu/assembly/search.ts.
// src/index/search.ts builds its plan from these through gpu.cpuKernel() exactly as from the WGSL
// wrappers, so the index does not fork. Top-k is one step (the WGSL wrapper's passes exist only to
// spread a long list over workgroups), and every step runs on the calling thread: one search is a
// few milliseconds of memory-bound scanning, and the index serializes its searches anyway.

import { GpuError, InternalError } from '../gpu/errors';
import type { DotScoresBuffers, DotScoresShape } from '../kernels/dot_scores';
import type { HammingScoresBuffers, HammingScoresShape } from '../kernels/hamming_scores';
import { packedRowBytes } from '../kernels/quantize_bits';
import { MAX_K, type TopKBuffers, type TopKRun, type TopKShape } from '../kernels/top_k';
import type { CpuContext } from './context';
import { checkCounts, checkSizes, opt, ptr } from './kernel_checks';
import { cpuBuffer } from './memory';
import { CpuStep } from './step';

class DotScoresCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: DotScoresBuffers, dims: number, label = 'dot_scores'): CpuStep<DotScoresShape> {
    const queries = cpuBuffer(b.queries, label, 'queries');
    const corpus = cpuBuffer(b.corpus, label, 'corpus');
    const rows = opt(b.rows, label, 'rows');
    const scores = cpuBuffer(b.scores, label, 'scores');
    const wasm = this.ctx.wasm;
    return new (class extends CpuStep<DotScoresShape> {
      protected override check(s: DotScoresShape) {
        if (s.dims !== dims) throw new InternalError(`dot_scores: bound for ${dims} dims, updated with ${s.dims}`);
        checkCounts(label, s);
        // Dense: rows [0, count) are read; gather: rows below rowLimit (execute clamps to the buffer without one).
        const corpusRows = rows ? (s.rowLimit ?? 0) : s.count;
        checkSizes(label, [['queries', queries, s.queries * s.dims * 4], ['scores', scores, s.queries * s.count * 4], ['rows', rows, s.queries * s.count * 4], ['corpus', corpus, corpusRows * s.dims * 4]]);
      }
      protected execute(s: DotScoresShape) {
        const limit = Math.min(s.rowLimit ?? 0xffffffff, Math.floor(corpus.size / Math.max(1, s.dims * 4)));
        wasm.dotScores(queries.ptr, corpus.ptr, ptr(rows), scores.ptr, s.count, s.dims, rows ? 1 : 0, limit, 0, s.queries);
      }
    })(label);
  }
}

class HammingScoresCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: HammingScoresBuffers, label = 'hamming_scores'): CpuStep<HammingScoresShape> {
    const queryBits = cpuBuffer(b.queryBits, label, 'queryBits');
    const corpusBits = cpuBuffer(b.corpusBits, label, 'corpusBits');
    const scores = cpuBuffer(b.scores, label, 'scores');
    const wasm = this.ctx.wasm;
    return new (class extends CpuStep<HammingScoresShape> {
      protected override check(s: HammingScoresShape) {
        checkCounts(label, s);
        const nb = packedRowBytes(s.dims);
        checkSizes(label, [['queryBits', queryBits, s.queries * nb], ['corpusBits', corpusBits, s.count * nb], ['scores', scores, s.queries * s.count * 4]]);
      }
      protected execute(s: HammingScoresShape) {
        wasm.hammingScores(queryBits.ptr, corpusBits.ptr, scores.ptr, s.count, packedRowBytes(s.dims), 0, s.queries);
      }
    })(label);
  }
}

class TopKCpu {
  readonly workgroupSize = 1;
  constructor(private readonly ctx: CpuContext) {}

  /** One pass whatever k: the whole list is this thread's "chunk". */
  chunkFor(_k: number): number {
    return Infinity;
  }

  plan(b: TopKBuffers, s: TopKShape, label = 'top_k'): TopKRun {
    const { queries: Q, count, k } = s;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new GpuError(`top_k: k must be an integer in 1..${MAX_K}, got ${k}`);
    checkCounts(label, s);
    if (Q === 0 || count === 0) return { encode: () => {}, passes: 0, destroy: () => {} };
    const scores = cpuBuffer(b.scores, label, 'scores');
    const ids = opt(b.ids, label, 'ids');
    const outScores = cpuBuffer(b.outScores, label, 'outScores');
    const outIds = cpuBuffer(b.outIds, label, 'outIds');
    checkSizes(label, [['scores', scores, Q * count * 4], ['ids', ids, Q * count * 4], ['outScores', outScores, Q * k * 4], ['outIds', outIds, Q * k * 4]]);
    const wasm = this.ctx.wasm;
    const step = new (class extends CpuStep<TopKShape> {
      protected execute() {
        wasm.topK(scores.ptr, ptr(ids), outScores.ptr, outIds.ptr, count, k, ids ? 1 : 0, 0, Q);
      }
    })(`${label}.pass0`).update(s);
    return { passes: 1, encode: (pass) => step.encode(pass), destroy: () => step.destroy() };
  }
}

/** The index's kernels by their WGSL wrappers' shader names (merged into src/cpu/kernels.ts's table). */
export const SEARCH_FACTORIES: Record<string, (ctx: CpuContext, opts: never) => object> = {
  dot_scores: (ctx) => new DotScoresCpu(ctx),
  hamming_scores: (ctx) => new HammingScoresCpu(ctx),
  top_k: (ctx) => new TopKCpu(ctx),
};
