// The pre-norm decoder body of Qwen3, Qwen2, Llama, Mistral and Gemma 3 over a packed batch,
// mirroring transformers' models/qwen3/modeling_qwen3.py, models/qwen2/modeling_qwen2.py,
// models/llama/modeling_llama.py and models/mistral/modeling_mistral.py (weight names are the
// safetensors keys, with or without the `model.` prefix). The four differ only in what DecoderConfig
// records: biases, Qwen3's q/k norms, the mask, and Mistral's causal sliding window. Gemma 3
// (gemma3.ts) is the same layer with the switches of DecoderSpec: (1 + w) norms, the embedding
// scale, a norm after each sublayer, GeGLU, and per-layer RoPE bases and windows.
//
//   embed_tokens      x = embed[ids]                                  (Gemma: × √hidden)
//   DecoderLayer × L
//     input_layernorm           n   = RMSNorm(x)
//     q/k/v_proj (fused)        qkv = n·Wqkvᵀ (+ b: Qwen2; Llama attention_bias)  [T, (nH + 2·nKV)·hd]
//     [q_norm / k_norm] + RoPE  per head: Qwen3's (Gemma's) RMSNorm over hd, then rotate-half RoPE
//     attention                 ctx = GQA attention within each sequence, causal unless is_causal: false
//                                     (then the padding-only bidirectional mask: the whole sequence);
//                                     Mistral: each query sees only its last sliding_window keys
//     o_proj + residual         h   = ctx·Woᵀ (+ b: Llama attention_bias) + x
//                                     (Gemma: h = RMSNorm_post_attention(ctx·Woᵀ) + x)
//     post_attention_layernorm  n   = RMSNorm(h)                     (Gemma: pre_feedforward_layernorm)
//     gate/up_proj (fused)      gu  = n·[Wg; Wu]ᵀ (+ b: Llama mlp_bias)          [T, 2I]
//     SwiGLU                    a   = silu(gate) · up                 (Gemma: gelu_tanh(gate) · up)
//     down_proj + residual      x   = a·Wdᵀ (+ b: Llama mlp_bias) + h
//                                     (Gemma: x = RMSNorm_post_feedforward(a·Wdᵀ) + h)
//   norm              hidden = RMSNorm(x)
//
// head_dim comes from config and need not equal hidden / heads (q_proj is heads × head_dim wide).

import type { Gpu } from '../gpu/context';
import type { StorageDtype } from '../gpu/storage_dtype';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { GluKernel } from '../kernels/glu';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import { RmsNormKernel } from '../kernels/rms_norm';
import { RopeKernel } from '../kernels/rope';
import type { WeightStore } from '../loading/safetensors';
import type { DecoderConfig } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { concatRows, destroyAll, uploadValues, weightUploaders } from './weights';

export interface DecoderOptions {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

/** What a decoder family sets; the weights' names are the same in all of them. */
export interface DecoderSpec {
  /** Label prefix (model_type). */
  name: string;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  eps: number;
  maxPositions: number;
  causal: boolean;
  /** Attention score scale (1/√head_dim; Gemma: query_pre_attn_scalar^-0.5). */
  scale: number;
  /** Per layer: its RoPE base and attention window (0: the whole sequence or prefix). */
  layers: { theta: number; window: number }[];
  /** Per-head RMSNorm of q and k before RoPE (Qwen3, Gemma). */
  qkNorm: boolean;
  bias: { qkv: boolean; o: boolean; mlp: boolean };
  /** Gemma3RMSNorm: every norm scales by (1 + w), q/k norms included. */
  unitOffsetNorms: boolean;
  /**
   * Gemma 3's four norms a layer: post_attention_layernorm and post_feedforward_layernorm normalize
   * each sublayer's output before its residual add, and pre_feedforward_layernorm is the MLP's input
   * norm (elsewhere post_attention_layernorm is).
   */
  sandwichNorms: boolean;
  /** The gated MLP's activation on the gate half. */
  activation: 'silu' | 'gelu_tanh';
  /** Gemma3TextScaledWordEmbedding: embed(ids) · √hidden, folded into the table at load. */
  embedScale?: number;
}

interface LayerWeights {
  inputNorm: GPUBuffer;
  qkvW: GPUBuffer;
  qkvB?: GPUBuffer;
  qNorm?: GPUBuffer;
  kNorm?: GPUBuffer;
  oW: GPUBuffer;
  oB?: GPUBuffer;
  /** Sandwich norms only. */
  postAttnNorm?: GPUBuffer;
  mlpNorm: GPUBuffer;
  gateUpW: GPUBuffer;
  gateUpB?: GPUBuffer;
  downW: GPUBuffer;
  downB?: GPUBuffer;
  /** Sandwich norms only. */
  postMlpNorm?: GPUBuffer;
}

interface Kernels {
  embed: EmbeddingKernel;
  rmsNorm: RmsNormKernel;
  /** RMSNorm(x) + residual: the sandwich norms. */
  rmsNormResidual?: RmsNormKernel;
  qkv: MatmulKernel;
  rope: RopeKernel;
  attention: AttentionKernel;
  oProj: MatmulKernel;
  gateUp: MatmulKernel;
  act: GluKernel;
  downProj: MatmulKernel;
}

/** The loaded parts of a decoder, for a model file's constructor. */
export interface DecoderParts {
  k: Kernels;
  embedTokens: GPUBuffer;
  finalNorm: GPUBuffer;
  layers: LayerWeights[];
}

export async function loadDecoder(gpu: Gpu, spec: DecoderSpec, weights: WeightStore, opts: DecoderOptions = {}): Promise<DecoderParts> {
  const { hidden: H, headDim: hd, heads: nH, kvHeads: nKV, intermediate: I, bias, sandwichNorms: sandwich } = spec;
  const variant = opts.matmulVariant;
  const dt = opts.weightDtype ?? 'f32';
  const wg = H >= 256 ? 128 : 64;
  const unitOffset = spec.unitOffsetNorms;
  const [embed, rmsNorm, rmsNormResidual, qkv, rope, attention, oProj, gateUp, act, downProj] = await Promise.all([
    EmbeddingKernel.create(gpu, { positions: false, tokenTypes: false, tableDtype: dt }),
    RmsNormKernel.create(gpu, { workgroupSize: wg, unitOffset }),
    sandwich ? RmsNormKernel.create(gpu, { workgroupSize: wg, unitOffset, residual: true }) : undefined,
    MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: bias.qkv }),
    RopeKernel.create(gpu, { norm: spec.qkNorm, normUnitOffset: unitOffset, headDim: hd }),
    AttentionKernel.create(gpu, { causal: spec.causal, headDim: hd }),
    // With sandwich norms the residual is added by the norm after the projection.
    MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: bias.o, residual: !sandwich }),
    MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: bias.mlp }),
    GluKernel.create(gpu, { activation: spec.activation, activated: 'first' }),
    MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: bias.mlp, residual: !sandwich }),
  ]);
  const { w, mw } = weightUploaders(gpu, weights, dt);
  const qkvShapes = (suffix: number[]) => [[nH * hd, ...suffix], [nKV * hd, ...suffix], [nKV * hd, ...suffix]];
  const layers = spec.layers.map((_, i): LayerWeights => {
    const p = `layers.${i}.`;
    const a = `${p}self_attn.`;
    const m = `${p}mlp.`;
    return {
      inputNorm: w(`${p}input_layernorm.weight`, [H]),
      qkvW: concatRows(gpu, weights, [`${a}q_proj.weight`, `${a}k_proj.weight`, `${a}v_proj.weight`], qkvShapes([H]), `${p}qkv.weight`, dt),
      qkvB: bias.qkv ? concatRows(gpu, weights, [`${a}q_proj.bias`, `${a}k_proj.bias`, `${a}v_proj.bias`], qkvShapes([]), `${p}qkv.bias`) : undefined,
      qNorm: spec.qkNorm ? w(`${a}q_norm.weight`, [hd]) : undefined,
      kNorm: spec.qkNorm ? w(`${a}k_norm.weight`, [hd]) : undefined,
      oW: mw(`${a}o_proj.weight`, [H, nH * hd]),
      oB: bias.o ? w(`${a}o_proj.bias`, [H]) : undefined,
      postAttnNorm: sandwich ? w(`${p}post_attention_layernorm.weight`, [H]) : undefined,
      mlpNorm: w(`${p}${sandwich ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'}.weight`, [H]),
      gateUpW: concatRows(gpu, weights, [`${m}gate_proj.weight`, `${m}up_proj.weight`], [I, H], `${p}gate_up.weight`, dt),
      gateUpB: bias.mlp ? concatRows(gpu, weights, [`${m}gate_proj.bias`, `${m}up_proj.bias`], [I], `${p}gate_up.bias`) : undefined,
      downW: mw(`${m}down_proj.weight`, [H, I]),
      downB: bias.mlp ? w(`${m}down_proj.bias`, [H]) : undefined,
      postMlpNorm: sandwich ? w(`${p}post_feedforward_layernorm.weight`, [H]) : undefined,
    };
  });
  let embedTokens: GPUBuffer;
  if (spec.embedScale === undefined) {
    embedTokens = mw('embed_tokens.weight', [spec.vocab, H]);
  } else {
    // HF multiplies in the compute dtype (f32 here): f32(e · f32(scale)) per element, so scaling the
    // table once gives the same numbers.
    const table = Float32Array.from(weights.getShaped('embed_tokens.weight', [spec.vocab, H]));
    const scale = Math.fround(spec.embedScale);
    for (let i = 0; i < table.length; i++) table[i] *= scale;
    embedTokens = uploadValues(gpu, table, 'embed_tokens.weight×scale', dt);
  }
  const finalNorm = w('norm.weight', [H]);
  return { k: { embed, rmsNorm, rmsNormResidual, qkv, rope, attention, oProj, gateUp, act, downProj }, embedTokens, finalNorm, layers };
}

/** A decoder body: the forward pass above over the parts loadDecoder() made. */
export abstract class DecoderBody extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  protected constructor(
    gpu: Gpu,
    private readonly spec: DecoderSpec,
    private readonly parts: DecoderParts,
  ) {
    super(gpu);
    this.hiddenSize = spec.hidden;
    this.maxPositions = spec.maxPositions;
  }

  protected build(T: number, B: number): BodyPlan {
    const { gpu, spec } = this;
    const { k, embedTokens, finalNorm } = this.parts;
    const { name, hidden: H, headDim: hd, heads: nH, kvHeads: nKV, intermediate: I, eps, scale } = spec;
    const qkvWidth = (nH + 2 * nKV) * hd;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, `${name}.x`);
    const h = gpu.storage(T * H * 4, `${name}.h`);
    const n = gpu.storage(T * H * 4, `${name}.normed`);
    const qkv = gpu.storage(T * qkvWidth * 4, `${name}.qkv`);
    const ctx = gpu.storage(T * nH * hd * 4, `${name}.ctx`);
    const gu = gpu.storage(T * 2 * I * 4, `${name}.gate_up`);
    const act = gpu.storage(T * I * 4, `${name}.act`);
    // A sublayer's output before its sandwich norm adds the residual.
    const tmp = spec.sandwichNorms ? gpu.storage(T * H * 4, `${name}.proj_out`) : undefined;

    const steps = new StepList();
    const add = steps.add.bind(steps);
    const rows = (t: number) => ({ rows: t, n: H, eps });
    /** y = sublayer output + residual: in the projection, or (sandwich) by RMSNorm(output) + residual. */
    const residualProj = (mm: MatmulKernel, from: GPUBuffer, wt: GPUBuffer, b: GPUBuffer | undefined, residual: GPUBuffer, norm: GPUBuffer | undefined, y: GPUBuffer, K: number, label: string, normLabel: string) => {
      if (k.rmsNormResidual && tmp && norm) {
        add(mm.bind({ x: from, w: wt, bias: b, y: tmp }, label), (t) => ({ M: t, N: H, K }));
        add(k.rmsNormResidual.bind({ x: tmp, residual, w: norm, y }, normLabel), rows);
      } else {
        add(mm.bind({ x: from, w: wt, bias: b, residual, y }, label), (t) => ({ M: t, N: H, K }));
      }
    };

    add(k.embed.bind({ ids: inputs.ids, word: embedTokens, out: x }, `${name}.embed_tokens`), (t) => ({ tokens: t, hidden: H, vocab: spec.vocab, maxPositions: 0, typeVocab: 0 }));
    const rope = spec.qkNorm ? ['q_norm+rope', 'k_norm+rope'] : ['q_rope', 'k_rope'];
    this.parts.layers.forEach((L, i) => {
      const p = `${name}.layers.${i}`;
      const { theta, window } = spec.layers[i];
      add(k.rmsNorm.bind({ x, w: L.inputNorm, y: n }, `${p}.input_layernorm`), rows);
      add(k.qkv.bind({ x: n, w: L.qkvW, bias: L.qkvB, y: qkv }, `${p}.qkv_proj`), (t) => ({ M: t, N: qkvWidth, K: H }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions, normWeight: L.qNorm }, `${p}.${rope[0]}`), (t) => ({ tokens: t, numHeads: nH, stride: qkvWidth, offset: 0, theta, eps }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions, normWeight: L.kNorm }, `${p}.${rope[1]}`), (t) => ({ tokens: t, numHeads: nKV, stride: qkvWidth, offset: nH * hd, theta, eps }));
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attention${window ? '.sliding' : ''}`),
        (t) => ({ tokens: t, numHeads: nH, numKvHeads: nKV, qStride: qkvWidth, kStride: qkvWidth, vStride: qkvWidth, qOffset: 0, kOffset: nH * hd, vOffset: (nH + nKV) * hd, scale, window }),
      );
      residualProj(k.oProj, ctx, L.oW, L.oB, x, L.postAttnNorm, h, nH * hd, `${p}.o_proj`, `${p}.post_attention_layernorm`);
      add(k.rmsNorm.bind({ x: h, w: L.mlpNorm, y: n }, `${p}.${spec.sandwichNorms ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'}`), rows);
      add(k.gateUp.bind({ x: n, w: L.gateUpW, bias: L.gateUpB, y: gu }, `${p}.gate_up_proj`), (t) => ({ M: t, N: 2 * I, K: H }));
      add(k.act.bind({ gateUp: gu, out: act }, `${p}.act_fn`), (t) => ({ tokens: t, inter: I }));
      residualProj(k.downProj, act, L.downW, L.downB, h, L.postMlpNorm, x, I, `${p}.down_proj`, `${p}.post_feedforward_layernorm`);
    });
    add(k.rmsNorm.bind({ x, w: finalNorm, y: n }, `${name}.norm`), rows);
    return { inputs, acts: [x, h, n, qkv, ctx, gu, act, ...(tmp ? [tmp] : [])], hidden: n, steps };
  }

  dispose(): void {
    this.disposePlan();
    const { embedTokens, finalNorm, layers } = this.parts;
    destroyAll(embedTokens, finalNorm, layers);
  }
}

/** Qwen3, Qwen2, Llama and Mistral: DecoderConfig's switches as a DecoderSpec. */
export class DecoderModel extends DecoderBody {
  private constructor(gpu: Gpu, readonly config: DecoderConfig, spec: DecoderSpec, parts: DecoderParts) {
    super(gpu, spec, parts);
  }

  static async load(gpu: Gpu, c: DecoderConfig, weights: WeightStore, opts: DecoderOptions = {}): Promise<DecoderModel> {
    // Qwen3 has no attention bias (attention_bias: false), but honour one if a checkpoint carries it.
    const qkvBias = c.qkv_bias || (c.family === 'qwen3' && weights.has('layers.0.self_attn.q_proj.bias'));
    const spec: DecoderSpec = {
      name: c.model_type,
      hidden: c.hidden_size, heads: c.num_attention_heads, kvHeads: c.num_key_value_heads, headDim: c.head_dim,
      intermediate: c.intermediate_size, vocab: c.vocab_size, eps: c.rms_norm_eps, maxPositions: c.max_position_embeddings,
      causal: c.is_causal,
      scale: 1 / Math.sqrt(c.head_dim),
      layers: Array.from({ length: c.num_hidden_layers }, () => ({ theta: c.rope_theta, window: c.sliding_window ?? 0 })),
      qkNorm: c.qk_norm,
      bias: { qkv: qkvBias, o: c.o_bias, mlp: c.mlp_bias },
      unitOffsetNorms: false,
      sandwichNorms: false,
      activation: 'silu',
    };
    return new DecoderModel(gpu, c, spec, await loadDecoder(gpu, spec, weights, opts));
  }
}
