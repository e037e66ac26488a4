// One search as GPU work: the scan (dot_scores, or quantize_bits + hamming_scores), top_k, and in
// binary mode the exact rescoring of the candidates (dot_scores gathering their float rows, then
// top_k again over them). Everything for Q queries is one compute pass and one submit; only
// [Q, k] scores and row numbers come back.
//
// Plans are built once per shape (queries, rows, k, mode) and corpus generation, and reused: a
// repeated search writes its queries and encodes the same dispatches again.

import type { Gpu } from '../gpu/context';
import { DotScoresKernel } from '../kernels/dot_scores';
import { HammingScoresKernel } from '../kernels/hamming_scores';
import { QuantizeBitsKernel, quantizedBytes } from '../kernels/quantize_bits';
import { TopKKernel, type TopKRun } from '../kernels/top_k';
import type { GpuCorpus } from './corpus';

export type SearchMode = 'float' | 'binary';

export interface SearchShape {
  queries: number;
  k: number;
  mode: SearchMode;
  /** Binary mode: Hamming candidates rescored exactly (≥ k). */
  candidates: number;
}

export class SearchKernels {
  private constructor(
    readonly dot: DotScoresKernel,
    readonly hamming: HammingScoresKernel,
    readonly topK: TopKKernel,
    readonly quantize: QuantizeBitsKernel,
  ) {}

  static async create(gpu: Gpu): Promise<SearchKernels> {
    const [dot, hamming, topK, quantize] = await Promise.all([
      DotScoresKernel.create(gpu),
      HammingScoresKernel.create(gpu),
      TopKKernel.create(gpu),
      QuantizeBitsKernel.create(gpu),
    ]);
    return new SearchKernels(dot, hamming, topK, quantize);
  }
}

export class SearchPlan {
  private constructor(
    readonly key: string,
    /** [Q, D] f32: write the (unit) queries here before encoding. */
    readonly queries: GPUBuffer,
    readonly outScores: GPUBuffer,
    readonly outIds: GPUBuffer,
    readonly k: number,
    private readonly steps: { encode(pass: GPUComputePassEncoder): void; destroy(): void }[],
    private readonly buffers: GPUBuffer[],
    private readonly gpu: Gpu,
  ) {}

  static key(corpus: GpuCorpus, s: SearchShape): string {
    return `${corpus.generation}|${corpus.count}|${s.queries}|${s.k}|${s.mode}|${s.candidates}`;
  }

  static build(gpu: Gpu, kernels: SearchKernels, corpus: GpuCorpus, s: SearchShape): SearchPlan {
    const { queries: Q, mode } = s;
    const N = corpus.count;
    const D = corpus.dims;
    const k = Math.min(s.k, N);
    const buffers: GPUBuffer[] = [];
    const buf = (bytes: number, label: string) => {
      const b = gpu.storage(bytes, label);
      buffers.push(b);
      return b;
    };
    const queries = buf(Q * D * 4, 'index.queries');
    const scores = buf(Q * N * 4, 'index.scores');
    const outScores = buf(Q * k * 4, 'index.top_scores');
    const outIds = buf(Q * k * 4, 'index.top_rows');
    const steps: { encode(pass: GPUComputePassEncoder): void; destroy(): void }[] = [];
    if (mode === 'float') {
      steps.push(kernels.dot.bind({ queries, corpus: corpus.vectors, scores }, D, 'index.dot').update({ queries: Q, count: N, dims: D }));
      steps.push(topK(kernels, { scores, outScores, outIds }, Q, N, k));
    } else {
      const C = Math.max(k, Math.min(s.candidates, N));
      const queryBits = buf(quantizedBytes(Q, D), 'index.query_bits');
      const candScores = buf(Q * C * 4, 'index.cand_scores');
      const candRows = buf(Q * C * 4, 'index.cand_rows');
      const exact = buf(Q * C * 4, 'index.cand_exact');
      steps.push(kernels.quantize.bind({ x: queries, out: queryBits }, 'index.query_bits').update({ rows: Q, dims: D, inStride: D }));
      steps.push(kernels.hamming.bind({ queryBits, corpusBits: corpus.bits(), scores }, 'index.hamming').update({ queries: Q, count: N, dims: D }));
      steps.push(topK(kernels, { scores, outScores: candScores, outIds: candRows }, Q, N, C));
      steps.push(kernels.dot.bind({ queries, corpus: corpus.vectors, rows: candRows, scores: exact }, D, 'index.rescore').update({ queries: Q, count: C, dims: D, rowLimit: N }));
      steps.push(topK(kernels, { scores: exact, ids: candRows, outScores, outIds }, Q, C, k));
    }
    return new SearchPlan(SearchPlan.key(corpus, s), queries, outScores, outIds, k, steps, buffers, gpu);
  }

  encode(pass: GPUComputePassEncoder): void {
    for (const s of this.steps) s.encode(pass);
  }

  destroy(): void {
    this.steps.forEach((s) => s.destroy());
    this.buffers.forEach((b) => this.gpu.pool.release(b));
  }
}

function topK(kernels: SearchKernels, b: Parameters<TopKKernel['plan']>[0], queries: number, count: number, k: number): TopKRun {
  return kernels.topK.plan(b, { queries, count, k }, 'index.top_k');
}
