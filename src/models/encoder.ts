// The post-norm encoder that BERT and the models built like it share — RoBERTa, MPNet, DistilBERT,
// NomicBert, GTE v1.5 — over a packed batch. Their modeling files differ in module names and a few
// switches, not in the forward pass (HF marks most of theirs "Copied from ...bert..."):
//
//   embeddings    x   = LayerNorm(word[ids] (+ position[pos]) (+ token_type[types]))     [T, H]
//   layer × L     qkv = x·Wqkvᵀ (+ b)                 (one packed tensor, or q/k/v fused)  [T, 3H]
//                 q, k ← rotate-half RoPE              (NomicBert, GTE: no position table)
//                 ctx = softmax(q·kᵀ/√d (+ relBias[bucket(j − i)])) · v   within each sequence
//                                                      (MPNet's bias, shared by every layer)
//                 h   = LayerNorm(ctx·Woᵀ (+ b) + x)
//     dense MLP   u   = act(h·W1ᵀ + b)                 (BERT, MPNet, DistilBERT)           [T, I]
//     gated MLP   gu  = h·[W1a; W1b]ᵀ (+ b), u = act(one half) · other half   (NomicBert's SwiGLU,
//                                                      GTE's GeGLU)                        [T, 2I]
//                 x   = LayerNorm(u·W2ᵀ (+ b) + h)
//   no final norm (the pooler and classifiers are heads).
//
// A model file gives the checkpoint's module names (EncoderNames: they name the weights and label
// the dispatches) and its switches (EncoderSpec). ModernBERT (pre-norm, GeGLU, local attention) and
// the decoders have bodies of their own.

import type { Gpu } from '../gpu/context';
import type { StorageDtype } from '../gpu/storage_dtype';
import { AttentionKernel, REL_BIAS_BUCKETS } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { GluKernel, type GluOptions } from '../kernels/glu';
import { LayerNormKernel } from '../kernels/layer_norm';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import { RopeKernel, type NtkScaling } from '../kernels/rope';
import type { WeightStore } from '../loading/safetensors';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { concatRows, destroyAll, weightUploaders } from './weights';

export interface EncoderOptions {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

/**
 * The checkpoint's names (without the `bert.`-style prefix, which the weight store resolves). A
 * module is a name whose `.weight` / `.bias` are the tensors; an array is several modules whose rows
 * are stacked at load (q, k, v; NomicBert's fc12, fc11).
 */
export interface EncoderNames {
  word: string;
  /** Absent for RoPE models. */
  position?: string;
  /** Loaded only when the spec has token types. */
  tokenType?: string;
  embeddingNorm: string;
  /** Layer i's modules live under `${layers}.${i}.`. */
  layers: string;
  qkv: string | readonly string[];
  /** A label only: the attention itself has no weights. */
  attention: string;
  o: string;
  attnNorm: string;
  /** The MLP's input projection ([2I, H] for a gated MLP: the activated half as glu reads it). */
  up: string | readonly string[];
  down: string;
  mlpNorm: string;
}

export type EncoderMlp =
  | { kind: 'dense'; activation: 'gelu' | 'relu' }
  /** The gate's activation and which half it is: silu on the first (NomicBert), GELU on the second (GTE). */
  | { kind: 'gated'; glu: GluOptions };

export interface EncoderSpec {
  /** Label prefix: the HF base model's name (bert, mpnet, …). */
  name: string;
  names: EncoderNames;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocab: number;
  eps: number;
  /** Rows of the absolute position table; 0: none (RoPE). */
  positionRows: number;
  /** Rows of the token-type table; 0: none. */
  typeRows: number;
  /** RoPE over whole heads of q and k. */
  rope?: { theta: number; ntk?: NtkScaling };
  /** MPNet: the name and configured rows of the relative-position bias table [buckets, heads]. */
  relativeBias?: { name: string; buckets: number };
  mlp: EncoderMlp;
  /** Which projections have a bias. */
  bias: { qkv: boolean; o: boolean; up: boolean; down: boolean };
}

interface Norm {
  g: GPUBuffer;
  b: GPUBuffer;
}

interface LayerWeights {
  qkvW: GPUBuffer;
  qkvB?: GPUBuffer;
  oW: GPUBuffer;
  oB?: GPUBuffer;
  attnNorm: Norm;
  upW: GPUBuffer;
  upB?: GPUBuffer;
  downW: GPUBuffer;
  downB?: GPUBuffer;
  mlpNorm: Norm;
}

interface EncoderWeights {
  word: GPUBuffer;
  position?: GPUBuffer;
  tokenType?: GPUBuffer;
  embeddingNorm: Norm;
  relBias?: GPUBuffer;
  layers: LayerWeights[];
}

interface Kernels {
  embed: EmbeddingKernel;
  layerNorm: LayerNormKernel;
  qkv: MatmulKernel;
  rope?: RopeKernel;
  attention: AttentionKernel;
  o: MatmulKernel;
  up: MatmulKernel;
  gate?: GluKernel;
  down: MatmulKernel;
}

/** The loaded parts of an encoder, for a model file's constructor. */
export interface EncoderParts {
  k: Kernels;
  weights: EncoderWeights;
}

export async function loadEncoder(gpu: Gpu, spec: EncoderSpec, store: WeightStore, opts: EncoderOptions = {}): Promise<EncoderParts> {
  const { names: n, hidden: H, intermediate: I, bias } = spec;
  const variant = opts.matmulVariant;
  const dt = opts.weightDtype ?? 'f32';
  const gated = spec.mlp.kind === 'gated' ? spec.mlp.glu : undefined;
  const hd = H / spec.heads;
  const [embed, layerNorm, qkv, rope, attention, o, up, gate, down] = await Promise.all([
    EmbeddingKernel.create(gpu, { positions: spec.positionRows > 0, tokenTypes: spec.typeRows > 0, tableDtype: dt }),
    LayerNormKernel.create(gpu, { workgroupSize: H >= 256 ? 128 : 64 }),
    MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: bias.qkv }),
    spec.rope ? RopeKernel.create(gpu, { norm: false, headDim: hd }) : undefined,
    AttentionKernel.create(gpu, { causal: false, headDim: hd, relativeBias: !!spec.relativeBias }),
    MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: bias.o, residual: true }),
    MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: bias.up, activation: spec.mlp.kind === 'dense' ? spec.mlp.activation : 'none' }),
    gated === undefined ? undefined : GluKernel.create(gpu, gated),
    MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: bias.down, residual: true }),
  ]);

  const { w, mw } = weightUploaders(gpu, store, dt);
  const norm = (name: string): Norm => ({ g: w(`${name}.weight`, [H]), b: w(`${name}.bias`, [H]) });
  /** A projection's weight [rows, H] (dt) and bias [rows] (f32), from one module or several stacked. */
  const proj = (name: string | readonly string[], rows: number, label: string, hasBias: boolean) => {
    if (typeof name === 'string') return { W: mw(`${name}.weight`, [rows, H]), B: hasBias ? w(`${name}.bias`, [rows]) : undefined };
    const part = rows / name.length;
    return {
      W: concatRows(gpu, store, name.map((m) => `${m}.weight`), [part, H], `${label}.weight`, dt),
      B: hasBias ? concatRows(gpu, store, name.map((m) => `${m}.bias`), [part], `${label}.bias`) : undefined,
    };
  };
  // In checkpoint order: embeddings, then the layers.
  const embeddings = {
    word: mw(`${n.word}.weight`, [spec.vocab, H]),
    position: spec.positionRows > 0 && n.position ? mw(`${n.position}.weight`, [spec.positionRows, H]) : undefined,
    tokenType: spec.typeRows > 0 && n.tokenType ? mw(`${n.tokenType}.weight`, [spec.typeRows, H]) : undefined,
    embeddingNorm: norm(n.embeddingNorm),
  };
  const upRows = gated === undefined ? I : 2 * I;
  const layers = Array.from({ length: spec.layers }, (_, i): LayerWeights => {
    const p = (m: string) => `${n.layers}.${i}.${m}`;
    const q = proj(typeof n.qkv === 'string' ? p(n.qkv) : n.qkv.map(p), 3 * H, p('qkv'), bias.qkv);
    const u = proj(typeof n.up === 'string' ? p(n.up) : n.up.map(p), upRows, p('gate_up'), bias.up);
    return {
      qkvW: q.W,
      qkvB: q.B,
      oW: mw(`${p(n.o)}.weight`, [H, H]),
      oB: bias.o ? w(`${p(n.o)}.bias`, [H]) : undefined,
      attnNorm: norm(p(n.attnNorm)),
      upW: u.W,
      upB: u.B,
      downW: mw(`${p(n.down)}.weight`, [H, I]),
      downB: bias.down ? w(`${p(n.down)}.bias`, [H]) : undefined,
      mlpNorm: norm(p(n.mlpNorm)),
    };
  });
  let relBias: GPUBuffer | undefined;
  if (spec.relativeBias) {
    // Only the first REL_BIAS_BUCKETS rows are ever indexed (a larger configured table is cut to them).
    const { name, buckets } = spec.relativeBias;
    const table = store.getShaped(`${name}.weight`, [buckets, spec.heads]);
    relBias = gpu.upload(table.subarray(0, REL_BIAS_BUCKETS * spec.heads), `${name}.weight`);
  }
  const weights: EncoderWeights = { ...embeddings, relBias, layers };
  return { k: { embed, layerNorm, qkv, rope, attention, o, up, gate, down }, weights };
}

/** An encoder body: the forward pass above over the parts loadEncoder() made. */
export abstract class EncoderBody extends PlannedBody {
  readonly hiddenSize: number;
  private readonly k: Kernels;
  private readonly w: EncoderWeights;

  protected constructor(
    gpu: Gpu,
    private readonly spec: EncoderSpec,
    parts: EncoderParts,
  ) {
    super(gpu);
    this.hiddenSize = spec.hidden;
    this.k = parts.k;
    this.w = parts.weights;
  }

  protected build(T: number, B: number): BodyPlan {
    const { gpu, spec, k, w } = this;
    const { name, names: n, hidden: H, intermediate: I, heads, eps } = spec;
    const gated = !!k.gate;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, `${name}.x`);
    const qkv = gpu.storage(T * 3 * H * 4, `${name}.qkv`);
    const ctx = gpu.storage(T * H * 4, `${name}.ctx`);
    const tmp = gpu.storage(T * H * 4, `${name}.tmp`);
    const h = gpu.storage(T * H * 4, `${name}.h`);
    const u = gpu.storage(T * I * 4, `${name}.intermediate`);
    const gu = gated ? gpu.storage(T * 2 * I * 4, `${name}.gate_up`) : undefined;

    const steps = new StepList();
    const add = steps.add.bind(steps);
    const ln = (from: GPUBuffer, m: Norm, to: GPUBuffer, label: string) =>
      add(k.layerNorm.bind({ x: from, gamma: m.g, beta: m.b, y: to }, `${name}.${label}`), (t) => ({ rows: t, n: H, eps }));

    add(
      k.embed.bind({ ids: inputs.ids, positions: inputs.positions, tokenTypes: inputs.typeIds, word: w.word, position: w.position, tokenType: w.tokenType, out: tmp }, `${name}.embeddings`),
      (t) => ({ tokens: t, hidden: H, vocab: spec.vocab, maxPositions: spec.positionRows, typeVocab: spec.typeRows }),
    );
    ln(tmp, w.embeddingNorm, x, n.embeddingNorm);
    const attention = { numHeads: heads, numKvHeads: heads, qStride: 3 * H, kStride: 3 * H, vStride: 3 * H, qOffset: 0, kOffset: H, vOffset: 2 * H, scale: 1 / Math.sqrt(H / heads) };
    w.layers.forEach((L, i) => {
      const p = (m: string) => `${name}.${n.layers}.${i}.${m}`;
      add(k.qkv.bind({ x, w: L.qkvW, bias: L.qkvB, y: qkv }, p('qkv')), (t) => ({ M: t, N: 3 * H, K: H }));
      if (k.rope && spec.rope) {
        const { theta, ntk } = spec.rope;
        for (const [which, offset] of [['q', 0], ['k', H]] as const) {
          add(k.rope.bind({ x: qkv, positions: inputs.positions }, p(`rotary_emb.${which}`)), (t) => ({ tokens: t, numHeads: heads, stride: 3 * H, offset, theta, eps: 0, ntk }));
        }
      }
      add(k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx, relBias: w.relBias }, p(n.attention)), (t) => ({ tokens: t, ...attention }));
      add(k.o.bind({ x: ctx, w: L.oW, bias: L.oB, residual: x, y: tmp }, p(n.o)), (t) => ({ M: t, N: H, K: H }));
      ln(tmp, L.attnNorm, h, `${n.layers}.${i}.${n.attnNorm}`);
      if (k.gate && gu) {
        add(k.up.bind({ x: h, w: L.upW, bias: L.upB, y: gu }, p('gate_up')), (t) => ({ M: t, N: 2 * I, K: H }));
        add(k.gate.bind({ gateUp: gu, out: u }, p('act')), (t) => ({ tokens: t, inter: I }));
      } else {
        add(k.up.bind({ x: h, w: L.upW, bias: L.upB, y: u }, p(String(n.up))), (t) => ({ M: t, N: I, K: H }));
      }
      add(k.down.bind({ x: u, w: L.downW, bias: L.downB, residual: h, y: tmp }, p(n.down)), (t) => ({ M: t, N: H, K: I }));
      ln(tmp, L.mlpNorm, x, `${n.layers}.${i}.${n.mlpNorm}`);
    });
    return { inputs, acts: [x, qkv, ctx, tmp, h, u, ...(gu ? [gu] : [])], hidden: x, steps };
  }

  dispose(): void {
    this.disposePlan();
    destroyAll(this.w);
  }
}
