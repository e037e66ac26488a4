// Gemma 3 text body over a packed batch, mirroring transformers' models/gemma3/modeling_gemma3.py
// (Gemma3TextModel; weight names are the safetensors keys, with or without the `model.` prefix).
// EmbeddingGemma is this model with use_bidirectional_attention: true.
//
//   embed_tokens × √hidden   x = embed[ids] · √H     (the scale folded into the table at load, in f32)
//   Gemma3DecoderLayer × L, every RMSNorm scaling by (1 + w):
//     input_layernorm           n   = RMSNorm(x)
//     q/k/v_proj (fused)        qkv = n·Wqkvᵀ                     [T, (nH + 2·nKV)·hd], no biases
//     q_norm / k_norm + RoPE    per head, RMSNorm over hd BEFORE rotate-half RoPE; θ = rope_theta on
//                               full_attention layers, rope_local_base_freq on sliding_attention ones
//     attention                 GQA, scores · query_pre_attn_scalar^-0.5. Bidirectional: full layers
//                               see the whole sequence, sliding layers |q − k| ≤ sliding_window / 2
//                               (window W = sliding_window / 2 + 1, the value HF's config rewrites it
//                               to); causal: the last sliding_window keys on sliding layers.
//     o_proj                    o   = ctx·Woᵀ
//     post_attention_layernorm  h   = RMSNorm(o) + x
//     pre_feedforward_layernorm n   = RMSNorm(h)
//     gate/up_proj (fused)      gu  = n·[Wg; Wu]ᵀ                  [T, 2I]
//     act · up                  a   = gelu_tanh(gate) · up
//     down_proj                 m   = a·Wdᵀ
//     post_feedforward_layernorm x  = RMSNorm(m) + h
//   norm                      hidden = RMSNorm(x)
//
// Pooling → Dense → Dense → Normalize (EmbeddingGemma's sentence-transformers pipeline) runs in the
// embed head.

import type { Gpu } from '../gpu/context';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { GluKernel } from '../kernels/glu';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import { RmsNormKernel } from '../kernels/rms_norm';
import { RopeKernel } from '../kernels/rope';
import type { StorageDtype } from '../gpu/storage_dtype';
import type { WeightStore } from '../loading/safetensors';
import type { Gemma3Config } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { concatRows, uploadValues, uploadWeight } from './weights';

interface LayerWeights {
  inputNorm: GPUBuffer;
  qkvW: GPUBuffer;
  qNorm: GPUBuffer;
  kNorm: GPUBuffer;
  oW: GPUBuffer;
  postAttnNorm: GPUBuffer;
  preFfNorm: GPUBuffer;
  gateUpW: GPUBuffer;
  downW: GPUBuffer;
  postFfNorm: GPUBuffer;
}

interface Kernels {
  embed: EmbeddingKernel;
  norm: RmsNormKernel;
  normResidual: RmsNormKernel;
  proj: MatmulKernel;
  rope: RopeKernel;
  attention: AttentionKernel;
  glu: GluKernel;
}

export interface Gemma3Options {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

export class Gemma3Model extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  private constructor(
    gpu: Gpu,
    readonly config: Gemma3Config,
    private readonly k: Kernels,
    private readonly embedTokens: GPUBuffer,
    private readonly finalNorm: GPUBuffer,
    private readonly layers: LayerWeights[],
  ) {
    super(gpu);
    this.hiddenSize = config.hidden_size;
    this.maxPositions = config.max_position_embeddings;
  }

  static async load(gpu: Gpu, c: Gemma3Config, weights: WeightStore, opts: Gemma3Options = {}): Promise<Gemma3Model> {
    const H = c.hidden_size;
    const hd = c.head_dim;
    const nH = c.num_attention_heads;
    const nKV = c.num_key_value_heads;
    const I = c.intermediate_size;
    const variant = opts.matmulVariant;
    const dt = opts.weightDtype ?? 'f32';
    const wg = H >= 256 ? 128 : 64;
    const [embed, norm, normResidual, proj, rope, attention, glu] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: false, tokenTypes: false, tableDtype: dt }),
      RmsNormKernel.create(gpu, { workgroupSize: wg, unitOffset: true }),
      RmsNormKernel.create(gpu, { workgroupSize: wg, unitOffset: true, residual: true }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt }),
      RopeKernel.create(gpu, { norm: true, normUnitOffset: true, headDim: hd }),
      AttentionKernel.create(gpu, { causal: !c.use_bidirectional_attention, headDim: hd }),
      GluKernel.create(gpu, { activation: 'gelu_tanh', activated: 'first' }),
    ]);
    const w = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape);
    const mw = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape, dt); // read by matmuls / the gather
    const layers: LayerWeights[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `layers.${i}.`;
      const a = `${p}self_attn.`;
      layers.push({
        inputNorm: w(`${p}input_layernorm.weight`, [H]),
        qkvW: concatRows(gpu, weights, [`${a}q_proj.weight`, `${a}k_proj.weight`, `${a}v_proj.weight`], [[nH * hd, H], [nKV * hd, H], [nKV * hd, H]], `${p}qkv.weight`, dt),
        qNorm: w(`${a}q_norm.weight`, [hd]),
        kNorm: w(`${a}k_norm.weight`, [hd]),
        oW: mw(`${a}o_proj.weight`, [H, nH * hd]),
        postAttnNorm: w(`${p}post_attention_layernorm.weight`, [H]),
        preFfNorm: w(`${p}pre_feedforward_layernorm.weight`, [H]),
        gateUpW: concatRows(gpu, weights, [`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`], [I, H], `${p}gate_up.weight`, dt),
        downW: mw(`${p}mlp.down_proj.weight`, [H, I]),
        postFfNorm: w(`${p}post_feedforward_layernorm.weight`, [H]),
      });
    }
    // Gemma3TextScaledWordEmbedding: embed(ids) · √H with the scale held in the compute dtype (f32 here).
    // f32(e · f32(√H)) per element is what HF computes, so scaling the table once is the same number.
    const table = Float32Array.from(weights.getShaped('embed_tokens.weight', [c.vocab_size, H]));
    const scale = Math.fround(Math.sqrt(H));
    for (let i = 0; i < table.length; i++) table[i] *= scale;
    const embedTokens = uploadValues(gpu, table, 'embed_tokens.weight×√hidden', dt);
    const finalNorm = w('norm.weight', [H]);
    return new Gemma3Model(gpu, c, { embed, norm, normResidual, proj, rope, attention, glu }, embedTokens, finalNorm, layers);
  }

  protected build(T: number, B: number): BodyPlan {
    const { gpu, config: c, k } = this;
    const H = c.hidden_size;
    const hd = c.head_dim;
    const nH = c.num_attention_heads;
    const nKV = c.num_key_value_heads;
    const I = c.intermediate_size;
    const qkvWidth = (nH + 2 * nKV) * hd;
    const eps = c.rms_norm_eps;
    const slidingWindow = c.use_bidirectional_attention ? Math.floor(c.sliding_window / 2) + 1 : c.sliding_window;
    const scale = 1 / Math.sqrt(c.query_pre_attn_scalar);
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, 'gemma3.x');
    const h = gpu.storage(T * H * 4, 'gemma3.h');
    const n = gpu.storage(T * H * 4, 'gemma3.normed');
    const tmp = gpu.storage(T * H * 4, 'gemma3.proj_out');
    const qkv = gpu.storage(T * qkvWidth * 4, 'gemma3.qkv');
    const ctx = gpu.storage(T * nH * hd * 4, 'gemma3.ctx');
    const gu = gpu.storage(T * 2 * I * 4, 'gemma3.gate_up');
    const act = gpu.storage(T * I * 4, 'gemma3.act');

    const steps = new StepList();
    const add = steps.add.bind(steps);
    const dummy = inputs.ids; // bound in place of disabled embedding tables (never read)
    const rows = (t: number) => ({ rows: t, n: H, eps });

    add(
      k.embed.bind({ ids: inputs.ids, word: this.embedTokens, out: x, positions: dummy, tokenTypes: dummy, position: dummy, tokenType: dummy }, 'gemma3.embed_tokens'),
      (t) => ({ tokens: t, hidden: H, vocab: c.vocab_size, maxPositions: 0, typeVocab: 0 }),
    );
    this.layers.forEach((L, i) => {
      const p = `gemma3.layers.${i}`;
      const sliding = c.layer_types[i] === 'sliding_attention';
      const theta = sliding ? c.rope_local_base_freq : c.rope_theta;
      add(k.norm.bind({ x, w: L.inputNorm, y: n }, `${p}.input_layernorm`), rows);
      add(k.proj.bind({ x: n, w: L.qkvW, y: qkv }, `${p}.qkv_proj`), (t) => ({ M: t, N: qkvWidth, K: H }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions, normWeight: L.qNorm }, `${p}.q_norm+rope`), (t) => ({ tokens: t, numHeads: nH, stride: qkvWidth, offset: 0, theta, eps }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions, normWeight: L.kNorm }, `${p}.k_norm+rope`), (t) => ({ tokens: t, numHeads: nKV, stride: qkvWidth, offset: nH * hd, theta, eps }));
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attention${sliding ? '.sliding' : ''}`),
        (t) => ({ tokens: t, numHeads: nH, numKvHeads: nKV, qStride: qkvWidth, kStride: qkvWidth, vStride: qkvWidth, qOffset: 0, kOffset: nH * hd, vOffset: (nH + nKV) * hd, scale, window: sliding ? slidingWindow : 0 }),
      );
      add(k.proj.bind({ x: ctx, w: L.oW, y: tmp }, `${p}.o_proj`), (t) => ({ M: t, N: H, K: nH * hd }));
      add(k.normResidual.bind({ x: tmp, residual: x, w: L.postAttnNorm, y: h }, `${p}.post_attention_layernorm`), rows);
      add(k.norm.bind({ x: h, w: L.preFfNorm, y: n }, `${p}.pre_feedforward_layernorm`), rows);
      add(k.proj.bind({ x: n, w: L.gateUpW, y: gu }, `${p}.gate_up_proj`), (t) => ({ M: t, N: 2 * I, K: H }));
      add(k.glu.bind({ gateUp: gu, out: act }, `${p}.act_fn`), (t) => ({ tokens: t, inter: I }));
      add(k.proj.bind({ x: act, w: L.downW, y: tmp }, `${p}.down_proj`), (t) => ({ M: t, N: H, K: I }));
      add(k.normResidual.bind({ x: tmp, residual: h, w: L.postFfNorm, y: x }, `${p}.post_feedforward_layernorm`), rows);
    });
    add(k.norm.bind({ x, w: this.finalNorm, y: n }, 'gemma3.norm'), rows);
    return { inputs, acts: [x, h, n, tmp, qkv, ctx, gu, act], hidden: n, steps };
  }

  dispose(): void {
    this.disposePlan();
    [this.embedTokens, this.finalNorm, ...this.layers.flatMap((l) => Object.values(l))].forEach((b) => b.destroy());
  }
}
