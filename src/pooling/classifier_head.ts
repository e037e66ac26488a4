// Classification heads on the GPU, for sequences and for tokens:
//
//   sequence:  pool (CLS, mean, last token, or last non-pad token) → [dense + tanh | relu | gelu → [LayerNorm]]
//              → classifier → softmax | sigmoid | none
//   token:     classifier on every token                   → softmax | sigmoid | none
//
// BertForSequenceClassification is pooler.dense+tanh on [CLS] then classifier; (XLM)Roberta's
// classification head is classifier.dense+tanh on <s> then classifier.out_proj; Qwen3's score is
// one bias-free projection of the last token; DistilBERT's is pre_classifier + ReLU on [CLS], then
// classifier; Llama / Qwen2 (HF GenericForSequenceClassification) score the rightmost token whose
// id is not pad_token_id, picked on the CPU from the packed ids and gathered on the GPU by row index
// (the embedding kernel is a row gather); a Qwen3 yes/no reranker is a one-row classifier
// (lm_head[yes] − lm_head[no]) of the last token; ModernBERT's head is head.norm(gelu(head.dense(pooled)))
// on the CLS token or the mean (classifier_pooling), then classifier. Only the activated [rows, labels]
// is read back.

import type { Bound, Gpu } from '../gpu/context';
import { L2NormalizeKernel, type L2NormalizeShape } from '../kernels/l2_normalize';
import { EmbeddingKernel, type EmbeddingShape } from '../kernels/embedding';
import { LayerNormKernel, type LayerNormShape } from '../kernels/layer_norm';
import { BadRequestError } from '../gpu/errors';
import { MatmulKernel, type MatmulShape, type MatmulVariant } from '../kernels/matmul';
import { POOL_MODE, PoolKernel, type PoolShape } from '../kernels/pool';
import { SigmoidKernel, type SigmoidShape } from '../kernels/sigmoid';
import { SoftmaxKernel, type SoftmaxShape } from '../kernels/softmax';
import type { PreparedForward } from '../models/model';
import type { PackedBatch } from '../models/packing';
import { rowRuns } from './head';

export type ClassifierActivation = 'softmax' | 'sigmoid' | 'none';

export interface ClassifierWeights {
  /**
   * 'cls' / 'mean' / 'last' / 'last_non_pad': one output per sequence; 'token': one per token.
   * 'last_non_pad' is HF's rule for decoder classifiers: the rightmost token whose id ≠ padTokenId
   * (the first token when all are pad), which is 'last' unless an input ends in the pad token.
   */
  pooling: 'cls' | 'mean' | 'last' | 'last_non_pad' | 'token';
  /** With 'last_non_pad'; null (no pad token in config.json) means the last token. */
  padTokenId?: number | null;
  /**
   * BERT pooler / RoBERTa classifier.dense (tanh), DistilBERT pre_classifier (relu): [H, H] + [H];
   * ModernBERT's head.dense (bias only with classifier_bias) followed by GELU. activation defaults to tanh.
   */
  dense?: { w: GPUBuffer; b?: GPUBuffer; activation?: 'tanh' | 'relu' | 'gelu' };
  /** LayerNorm after the dense activation (ModernBERT's head.norm; beta zeros when bias-free). */
  norm?: { gamma: GPUBuffer; beta: GPUBuffer; eps: number };
  /** [labels, H] (+ [labels]). */
  out: { w: GPUBuffer; b?: GPUBuffer };
  numLabels: number;
}

interface Plan {
  hidden: GPUBuffer;
  capacity: number;
  modes: GPUBuffer;
  /** 'last_non_pad': the token row each sequence is scored at. */
  scoreRows: GPUBuffer;
  pooled: GPUBuffer;
  densed: GPUBuffer;
  normed: GPUBuffer;
  logits: GPUBuffer;
  probs: GPUBuffer;
  pool?: Bound<PoolShape>;
  gather?: Bound<EmbeddingShape>;
  dense?: Bound<MatmulShape>;
  norm?: Bound<LayerNormShape>;
  out: Bound<MatmulShape>;
  acts: { softmax: Bound<SoftmaxShape>[]; sigmoid: Bound<SigmoidShape>[]; none: Bound<L2NormalizeShape>[] };
}

export class ClassifierHead {
  private plan: Plan | undefined;

  private constructor(
    private readonly gpu: Gpu,
    readonly hiddenSize: number,
    readonly weights: ClassifierWeights,
    private readonly k: { pool: PoolKernel; gather: EmbeddingKernel; dense: MatmulKernel; norm: LayerNormKernel; out: MatmulKernel; softmax: SoftmaxKernel; sigmoid: SigmoidKernel; copy: L2NormalizeKernel },
  ) {}

  static async create(gpu: Gpu, hiddenSize: number, weights: ClassifierWeights, variant?: MatmulVariant): Promise<ClassifierHead> {
    const [pool, gather, dense, norm, out, softmax, sigmoid, copy] = await Promise.all([
      PoolKernel.create(gpu),
      EmbeddingKernel.create(gpu, { positions: false, tokenTypes: false }),
      MatmulKernel.create(gpu, { variant, bias: !weights.dense || !!weights.dense.b, activation: weights.dense?.activation ?? 'tanh' }),
      LayerNormKernel.create(gpu),
      MatmulKernel.create(gpu, { variant, bias: !!weights.out.b }),
      SoftmaxKernel.create(gpu),
      SigmoidKernel.create(gpu),
      L2NormalizeKernel.create(gpu, { normalize: false, workgroupSize: 32 }),
    ]);
    return new ClassifierHead(gpu, hiddenSize, weights, { pool, gather, dense, norm, out, softmax, sigmoid, copy });
  }

  get perToken(): boolean {
    return this.weights.pooling === 'token';
  }

  private planFor(fwd: PreparedForward, rows: number): Plan {
    const p = this.plan;
    if (p && p.hidden === fwd.hidden && rows <= p.capacity) return p;
    if (p) this.release(p);
    const { gpu, weights: w } = this;
    const H = this.hiddenSize;
    const L = w.numLabels;
    const capacity = Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(1, rows))));
    const modes = gpu.storage(capacity * 4, 'classifier.modes');
    const scoreRows = gpu.storage(capacity * 4, 'classifier.score_rows');
    const pooled = gpu.storage(this.perToken ? 16 : capacity * H * 4, 'classifier.pooled');
    const densed = gpu.storage(w.dense ? capacity * H * 4 : 16, 'classifier.dense');
    const normed = gpu.storage(w.norm ? capacity * H * 4 : 16, 'classifier.norm');
    const logits = gpu.storage(capacity * L * 4, 'classifier.logits');
    const probs = gpu.storage(capacity * L * 4, 'classifier.probs');
    const features = this.perToken ? fwd.hidden : pooled;
    const byRow = w.pooling === 'last_non_pad';
    const pool = this.perToken || byRow ? undefined : this.k.pool.bind({ hidden: fwd.hidden, cuSeqLens: fwd.inputs.cuSeqLens, modes, out: pooled }, 'classifier.pool');
    // pooled[b] = hidden[rows[b]]: the embedding gather with the hidden states as its table.
    const gather = byRow ? this.k.gather.bind({ ids: scoreRows, word: fwd.hidden, out: pooled, positions: scoreRows, tokenTypes: scoreRows, position: scoreRows, tokenType: scoreRows }, 'classifier.gather_last_non_pad') : undefined;
    const dense = w.dense ? this.k.dense.bind({ x: features, w: w.dense.w, bias: w.dense.b, y: densed }, 'classifier.dense') : undefined;
    const norm = w.dense && w.norm ? this.k.norm.bind({ x: densed, gamma: w.norm.gamma, beta: w.norm.beta, y: normed }, 'classifier.norm') : undefined;
    const out = this.k.out.bind({ x: norm ? normed : w.dense ? densed : features, w: w.out.w, bias: w.out.b, y: logits }, 'classifier.out_proj');
    this.plan = { hidden: fwd.hidden, capacity, modes, scoreRows, pooled, densed, normed, logits, probs, pool, gather, dense, norm, out, acts: { softmax: [], sigmoid: [], none: [] } };
    return this.plan;
  }

  private release(p: Plan): void {
    p.pool?.destroy();
    p.gather?.destroy();
    p.dense?.destroy();
    p.norm?.destroy();
    p.out.destroy();
    Object.values(p.acts).flat().forEach((d) => d.destroy());
    [p.modes, p.scoreRows, p.pooled, p.densed, p.normed, p.logits, p.probs].forEach((b) => this.gpu.pool.release(b));
    this.plan = undefined;
  }

  /**
   * `activations[b]` is sequence b's output activation (applied to all its tokens in token mode).
   * Output: [rows, numLabels] with rows = sequences, or tokens in token mode.
   */
  prepare(fwd: PreparedForward, batch: PackedBatch, activations: readonly ClassifierActivation[]): { encode(pass: GPUComputePassEncoder): void; output: GPUBuffer; rows: number; rowStride: number } {
    const H = this.hiddenSize;
    const L = this.weights.numLabels;
    const rows = this.perToken ? batch.tokens : batch.batch;
    const p = this.planFor(fwd, rows);
    const steps: { encode(pass: GPUComputePassEncoder): void }[] = [];
    if (p.pool) {
      const mode = POOL_MODE[this.weights.pooling as 'cls' | 'mean' | 'last'];
      this.gpu.write(p.modes, new Uint32Array(batch.batch).fill(mode));
      steps.push(p.pool.update({ batch: batch.batch, hidden: H }));
    }
    if (p.gather) {
      this.gpu.write(p.scoreRows, lastNonPadRows(batch, this.weights.padTokenId ?? null));
      steps.push(p.gather.update({ tokens: batch.batch, hidden: H, vocab: batch.tokens, maxPositions: 0, typeVocab: 0 }));
    }
    if (p.dense) steps.push(p.dense.update({ M: rows, N: H, K: H }));
    if (p.norm) steps.push(p.norm.update({ rows, n: H, eps: this.weights.norm!.eps }));
    steps.push(p.out.update({ M: rows, N: L, K: H }));

    const used = { softmax: 0, sigmoid: 0, none: 0 };
    for (const run of rowRuns(activations, (a, b) => a === b)) {
      // Sequence runs → row ranges (tokens in token mode).
      const start = this.perToken ? batch.cuSeqLens[run.start] : run.start;
      const end = this.perToken ? batch.cuSeqLens[run.start + run.count] : run.start + run.count;
      const list = p.acts[run.row];
      const i = used[run.row]++;
      if (run.row === 'softmax') {
        if (i === list.length) p.acts.softmax.push(this.k.softmax.bind({ x: p.logits, out: p.probs }, 'classifier.softmax'));
        steps.push(p.acts.softmax[i].update({ rows: end - start, rowOffset: start, n: L }));
      } else if (run.row === 'sigmoid') {
        if (i === list.length) p.acts.sigmoid.push(this.k.sigmoid.bind({ x: p.logits, out: p.probs }, 'classifier.sigmoid'));
        steps.push(p.acts.sigmoid[i].update({ count: (end - start) * L, offset: start * L }));
      } else {
        if (i === list.length) p.acts.none.push(this.k.copy.bind({ x: p.logits, out: p.probs }, 'classifier.logits'));
        steps.push(p.acts.none[i].update({ rows: end - start, rowOffset: start, dims: L, inStride: L, outStride: L }));
      }
    }
    return { output: p.probs, rows, rowStride: L, encode: (pass) => steps.forEach((s) => s.encode(pass)) };
  }

  dispose(): void {
    if (this.plan) this.release(this.plan);
    const w = this.weights;
    new Set([w.dense?.w, w.dense?.b, w.norm?.gamma, w.norm?.beta, w.out.w, w.out.b]).forEach((b) => b?.destroy());
  }
}

/**
 * Per sequence, the packed row of its rightmost token whose id ≠ pad (HF GenericForSequenceClassification:
 * argmax of position · (id ≠ pad), so the sequence's first token when every id is pad). pad null: the last token.
 */
export function lastNonPadRows(batch: PackedBatch, pad: number | null): Uint32Array {
  const rows = new Uint32Array(batch.batch);
  for (let b = 0; b < batch.batch; b++) {
    const start = batch.cuSeqLens[b];
    const end = batch.cuSeqLens[b + 1];
    if (end === start) throw new BadRequestError('An empty input has no token for the classifier to score.');
    let t = end - 1;
    if (pad !== null) while (t > start && batch.ids[t] === pad) t--;
    rows[b] = t;
  }
  return rows;
}
