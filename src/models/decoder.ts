// The pre-norm decoder body of Qwen3, Qwen2, Llama and Mistral over a packed batch, mirroring
// transformers' models/qwen3/modeling_qwen3.py, models/qwen2/modeling_qwen2.py,
// models/llama/modeling_llama.py and models/mistral/modeling_mistral.py (weight names are the
// safetensors keys, with or without the `model.` prefix). They differ only in what DecoderConfig
// records: biases, Qwen3's q/k norms, the mask, and Mistral's causal sliding window.
//
//   embed_tokens      x = embed[ids]
//   DecoderLayer × L
//     input_layernorm           n   = RMSNorm(x)
//     q/k/v_proj (fused)        qkv = n·Wqkvᵀ (+ b: Qwen2; Llama attention_bias)  [T, (nH + 2·nKV)·hd]
//     [q_norm / k_norm] + RoPE  per head: Qwen3's RMSNorm over hd, then rotate-half RoPE (in place)
//     attention                 ctx = GQA attention within each sequence, causal unless is_causal: false
//                                     (then the padding-only bidirectional mask: the whole sequence);
//                                     Mistral: each query sees only its last sliding_window keys
//     o_proj + residual         h   = ctx·Woᵀ (+ b: Llama attention_bias) + x
//     post_attention_layernorm  n   = RMSNorm(h)
//     gate/up_proj (fused)      gu  = n·[Wg; Wu]ᵀ (+ b: Llama mlp_bias)          [T, 2I]
//     SwiGLU                    a   = silu(gate) · up                              [T, I]
//     down_proj + residual      x   = a·Wdᵀ (+ b: Llama mlp_bias) + h
//   norm              hidden = RMSNorm(x)
//
// head_dim comes from config and need not equal hidden / heads (q_proj is heads × head_dim wide).

import type { Gpu } from '../gpu/context';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import { RmsNormKernel } from '../kernels/rms_norm';
import { RopeKernel } from '../kernels/rope';
import { GluKernel } from '../kernels/glu';
import type { StorageDtype } from '../gpu/storage_dtype';
import type { WeightStore } from '../loading/safetensors';
import type { DecoderConfig } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { concatRows, uploadWeight } from './weights';

interface LayerWeights {
  inputNorm: GPUBuffer;
  qkvW: GPUBuffer;
  qkvB?: GPUBuffer;
  qNorm?: GPUBuffer;
  kNorm?: GPUBuffer;
  oW: GPUBuffer;
  oB?: GPUBuffer;
  postNorm: GPUBuffer;
  gateUpW: GPUBuffer;
  gateUpB?: GPUBuffer;
  downW: GPUBuffer;
  downB?: GPUBuffer;
}

interface Kernels {
  embed: EmbeddingKernel;
  rmsNorm: RmsNormKernel;
  qkv: MatmulKernel;
  rope: RopeKernel;
  attention: AttentionKernel;
  oProj: MatmulKernel;
  gateUp: MatmulKernel;
  glu: GluKernel;
  downProj: MatmulKernel;
}

export interface DecoderOptions {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

export class DecoderModel extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  private constructor(
    gpu: Gpu,
    readonly config: DecoderConfig,
    private readonly k: Kernels,
    private readonly embedTokens: GPUBuffer,
    private readonly finalNorm: GPUBuffer,
    private readonly layers: LayerWeights[],
  ) {
    super(gpu);
    this.hiddenSize = config.hidden_size;
    this.maxPositions = config.max_position_embeddings;
  }

  static async load(gpu: Gpu, c: DecoderConfig, weights: WeightStore, opts: DecoderOptions = {}): Promise<DecoderModel> {
    const H = c.hidden_size;
    const hd = c.head_dim;
    const nH = c.num_attention_heads;
    const nKV = c.num_key_value_heads;
    const I = c.intermediate_size;
    const variant = opts.matmulVariant;
    const dt = opts.weightDtype ?? 'f32';
    // Qwen3 has no attention bias (attention_bias: false), but honour one if a checkpoint carries it.
    const qkvBias = c.qkv_bias || (c.family === 'qwen3' && weights.has('layers.0.self_attn.q_proj.bias'));
    const [embed, rmsNorm, qkv, rope, attention, oProj, gateUp, glu, downProj] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: false, tokenTypes: false, tableDtype: dt }),
      RmsNormKernel.create(gpu, { workgroupSize: H >= 256 ? 128 : 64 }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: qkvBias }),
      RopeKernel.create(gpu, { norm: c.qk_norm, headDim: hd }),
      AttentionKernel.create(gpu, { causal: c.is_causal, headDim: hd }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.o_bias, residual: true }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.mlp_bias }),
      GluKernel.create(gpu, { activation: 'silu', activated: 'first' }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.mlp_bias, residual: true }),
    ]);
    const w = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape);
    const mw = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape, dt); // read by matmuls / the gather
    const qkvShapes = (suffix: number[]) => [[nH * hd, ...suffix], [nKV * hd, ...suffix], [nKV * hd, ...suffix]];
    const layers: LayerWeights[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `layers.${i}.`;
      const a = `${p}self_attn.`;
      const m = `${p}mlp.`;
      layers.push({
        inputNorm: w(`${p}input_layernorm.weight`, [H]),
        qkvW: concatRows(gpu, weights, [`${a}q_proj.weight`, `${a}k_proj.weight`, `${a}v_proj.weight`], qkvShapes([H]), `${p}qkv.weight`, dt),
        qkvB: qkvBias ? concatRows(gpu, weights, [`${a}q_proj.bias`, `${a}k_proj.bias`, `${a}v_proj.bias`], qkvShapes([]), `${p}qkv.bias`) : undefined,
        qNorm: c.qk_norm ? w(`${a}q_norm.weight`, [hd]) : undefined,
        kNorm: c.qk_norm ? w(`${a}k_norm.weight`, [hd]) : undefined,
        oW: mw(`${a}o_proj.weight`, [H, nH * hd]),
        oB: c.o_bias ? w(`${a}o_proj.bias`, [H]) : undefined,
        postNorm: w(`${p}post_attention_layernorm.weight`, [H]),
        gateUpW: concatRows(gpu, weights, [`${m}gate_proj.weight`, `${m}up_proj.weight`], [I, H], `${p}gate_up.weight`, dt),
        gateUpB: c.mlp_bias ? concatRows(gpu, weights, [`${m}gate_proj.bias`, `${m}up_proj.bias`], [I], `${p}gate_up.bias`) : undefined,
        downW: mw(`${m}down_proj.weight`, [H, I]),
        downB: c.mlp_bias ? w(`${m}down_proj.bias`, [H]) : undefined,
      });
    }
    const embedTokens = mw('embed_tokens.weight', [c.vocab_size, H]);
    const finalNorm = w('norm.weight', [H]);
    return new DecoderModel(gpu, c, { embed, rmsNorm, qkv, rope, attention, oProj, gateUp, glu, downProj }, embedTokens, finalNorm, layers);
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
    const name = c.model_type;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, `${name}.x`);
    const h = gpu.storage(T * H * 4, `${name}.h`);
    const n = gpu.storage(T * H * 4, `${name}.normed`);
    const qkv = gpu.storage(T * qkvWidth * 4, `${name}.qkv`);
    const ctx = gpu.storage(T * nH * hd * 4, `${name}.ctx`);
    const gu = gpu.storage(T * 2 * I * 4, `${name}.gate_up`);
    const act = gpu.storage(T * I * 4, `${name}.act`);

    const steps = new StepList();
    const add = steps.add.bind(steps);
    const dummy = inputs.ids; // bound in place of disabled embedding tables (never read)

    add(
      k.embed.bind({ ids: inputs.ids, word: this.embedTokens, out: x, positions: dummy, tokenTypes: dummy, position: dummy, tokenType: dummy }, `${name}.embed_tokens`),
      (t) => ({ tokens: t, hidden: H, vocab: c.vocab_size, maxPositions: 0, typeVocab: 0 }),
    );
    const rope = c.qk_norm ? ['q_norm+rope', 'k_norm+rope'] : ['q_rope', 'k_rope'];
    this.layers.forEach((L, i) => {
      const p = `${name}.layers.${i}`;
      add(k.rmsNorm.bind({ x, w: L.inputNorm, y: n }, `${p}.input_layernorm`), (t) => ({ rows: t, n: H, eps }));
      add(k.qkv.bind({ x: n, w: L.qkvW, bias: L.qkvB, y: qkv }, `${p}.qkv_proj`), (t) => ({ M: t, N: qkvWidth, K: H }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions, normWeight: L.qNorm }, `${p}.${rope[0]}`), (t) => ({ tokens: t, numHeads: nH, stride: qkvWidth, offset: 0, theta: c.rope_theta, eps }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions, normWeight: L.kNorm }, `${p}.${rope[1]}`), (t) => ({ tokens: t, numHeads: nKV, stride: qkvWidth, offset: nH * hd, theta: c.rope_theta, eps }));
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attention`),
        (t) => ({ tokens: t, numHeads: nH, numKvHeads: nKV, qStride: qkvWidth, kStride: qkvWidth, vStride: qkvWidth, qOffset: 0, kOffset: nH * hd, vOffset: (nH + nKV) * hd, scale: 1 / Math.sqrt(hd), window: c.sliding_window ?? 0 }),
      );
      add(k.oProj.bind({ x: ctx, w: L.oW, bias: L.oB, residual: x, y: h }, `${p}.o_proj`), (t) => ({ M: t, N: H, K: nH * hd }));
      add(k.rmsNorm.bind({ x: h, w: L.postNorm, y: n }, `${p}.post_attention_layernorm`), (t) => ({ rows: t, n: H, eps }));
      add(k.gateUp.bind({ x: n, w: L.gateUpW, bias: L.gateUpB, y: gu }, `${p}.gate_up_proj`), (t) => ({ M: t, N: 2 * I, K: H }));
      add(k.glu.bind({ gateUp: gu, out: act }, `${p}.act_fn`), (t) => ({ tokens: t, inter: I }));
      add(k.downProj.bind({ x: act, w: L.downW, bias: L.downB, residual: h, y: x }, `${p}.down_proj`), (t) => ({ M: t, N: H, K: I }));
    });
    add(k.rmsNorm.bind({ x, w: this.finalNorm, y: n }, `${name}.norm`), (t) => ({ rows: t, n: H, eps }));
    return { inputs, acts: [x, h, n, qkv, ctx, gu, act], hidden: n, steps };
  }

  dispose(): void {
    this.disposePlan();
    [this.embedTokens, this.finalNorm, ...this.layers.flatMap((l) => Object.values(l).filter((b): b is GPUBuffer => !!b))].forEach((b) => b.destroy());
  }
}
