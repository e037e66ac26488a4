// Mistral decoder body over a packed batch, mirroring transformers' models/mistral/modeling_mistral.py
// (weight names are the safetensors keys, with or without the `model.` prefix; e5-mistral's
// MistralForCausalLM checkpoints load the same, their lm_head unused).
//
//   embed_tokens      x = embed[ids]
//   MistralDecoderLayer × L
//     input_layernorm           n   = RMSNorm(x)                      (w · x̂, not 1 + w)
//     q/k/v_proj (fused)        qkv = n·Wqkvᵀ                          [T, (nH + 2·nKV)·hd], no biases
//     rotary_emb                q, k ← rotate-half RoPE (rope_theta), in place
//     attention                 ctx = causal GQA attention within each sequence; with sliding_window W
//                                     each query sees its last W keys, itself included    [T, nH·hd]
//     o_proj + residual         h   = ctx·Woᵀ + x
//     post_attention_layernorm  n   = RMSNorm(h)
//     gate/up_proj (fused)      gu  = n·[Wg; Wu]ᵀ                       [T, 2I]
//     SwiGLU                    a   = silu(gate) · up                   [T, I]
//     down_proj + residual      x   = a·Wdᵀ + h
//   norm              hidden = RMSNorm(x)
//
// Every layer is a sliding-window layer when config.sliding_window is set (HF MistralModel).

import type { Gpu } from '../gpu/context';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import { RmsNormKernel } from '../kernels/rms_norm';
import { RopeKernel } from '../kernels/rope';
import { SiluMulKernel } from '../kernels/silu_mul';
import type { WeightStore } from '../loading/safetensors';
import type { MistralConfig } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { concatRows, uploadWeight } from './weights';

interface LayerWeights {
  inputNorm: GPUBuffer;
  qkvW: GPUBuffer;
  oW: GPUBuffer;
  postNorm: GPUBuffer;
  gateUpW: GPUBuffer;
  downW: GPUBuffer;
}

interface Kernels {
  embed: EmbeddingKernel;
  rmsNorm: RmsNormKernel;
  qkv: MatmulKernel;
  rope: RopeKernel;
  attention: AttentionKernel;
  projResidual: MatmulKernel;
  gateUp: MatmulKernel;
  siluMul: SiluMulKernel;
}

export interface MistralOptions {
  matmulVariant?: MatmulVariant;
}

export class MistralModel extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  private constructor(
    gpu: Gpu,
    readonly config: MistralConfig,
    private readonly k: Kernels,
    private readonly embedTokens: GPUBuffer,
    private readonly finalNorm: GPUBuffer,
    private readonly layers: LayerWeights[],
  ) {
    super(gpu);
    this.hiddenSize = config.hidden_size;
    this.maxPositions = config.max_position_embeddings;
  }

  static async load(gpu: Gpu, c: MistralConfig, weights: WeightStore, opts: MistralOptions = {}): Promise<MistralModel> {
    const H = c.hidden_size;
    const hd = c.head_dim;
    const nH = c.num_attention_heads;
    const nKV = c.num_key_value_heads;
    const I = c.intermediate_size;
    const variant = opts.matmulVariant;
    const [embed, rmsNorm, qkv, rope, attention, projResidual, gateUp, siluMul] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: false, tokenTypes: false }),
      RmsNormKernel.create(gpu, { workgroupSize: H >= 256 ? 128 : 64 }),
      MatmulKernel.create(gpu, { variant }),
      RopeKernel.create(gpu, { norm: false, headDim: hd }),
      AttentionKernel.create(gpu, { causal: true, headDim: hd }),
      MatmulKernel.create(gpu, { variant, residual: true }),
      MatmulKernel.create(gpu, { variant }),
      SiluMulKernel.create(gpu),
    ]);
    const w = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape);
    const layers: LayerWeights[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `layers.${i}.`;
      const a = `${p}self_attn.`;
      layers.push({
        inputNorm: w(`${p}input_layernorm.weight`, [H]),
        qkvW: concatRows(gpu, weights, [`${a}q_proj.weight`, `${a}k_proj.weight`, `${a}v_proj.weight`], [[nH * hd, H], [nKV * hd, H], [nKV * hd, H]], `${p}qkv.weight`),
        oW: w(`${a}o_proj.weight`, [H, nH * hd]),
        postNorm: w(`${p}post_attention_layernorm.weight`, [H]),
        gateUpW: concatRows(gpu, weights, [`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`], [I, H], `${p}gate_up.weight`),
        downW: w(`${p}mlp.down_proj.weight`, [H, I]),
      });
    }
    const embedTokens = w('embed_tokens.weight', [c.vocab_size, H]);
    const finalNorm = w('norm.weight', [H]);
    return new MistralModel(gpu, c, { embed, rmsNorm, qkv, rope, attention, projResidual, gateUp, siluMul }, embedTokens, finalNorm, layers);
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
    const window = c.sliding_window ?? 0;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, 'mistral.x');
    const h = gpu.storage(T * H * 4, 'mistral.h');
    const n = gpu.storage(T * H * 4, 'mistral.normed');
    const qkv = gpu.storage(T * qkvWidth * 4, 'mistral.qkv');
    const ctx = gpu.storage(T * nH * hd * 4, 'mistral.ctx');
    const gu = gpu.storage(T * 2 * I * 4, 'mistral.gate_up');
    const act = gpu.storage(T * I * 4, 'mistral.act');

    const steps = new StepList();
    const add = steps.add.bind(steps);
    const dummy = inputs.ids; // bound in place of disabled embedding tables (never read)

    add(
      k.embed.bind({ ids: inputs.ids, word: this.embedTokens, out: x, positions: dummy, tokenTypes: dummy, position: dummy, tokenType: dummy }, 'mistral.embed_tokens'),
      (t) => ({ tokens: t, hidden: H, vocab: c.vocab_size, maxPositions: 0, typeVocab: 0 }),
    );
    this.layers.forEach((L, i) => {
      const p = `mistral.layers.${i}`;
      add(k.rmsNorm.bind({ x, w: L.inputNorm, y: n }, `${p}.input_layernorm`), (t) => ({ rows: t, n: H, eps }));
      add(k.qkv.bind({ x: n, w: L.qkvW, y: qkv }, `${p}.qkv_proj`), (t) => ({ M: t, N: qkvWidth, K: H }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions }, `${p}.rotary_emb.q`), (t) => ({ tokens: t, numHeads: nH, stride: qkvWidth, offset: 0, theta: c.rope_theta, eps: 0 }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions }, `${p}.rotary_emb.k`), (t) => ({ tokens: t, numHeads: nKV, stride: qkvWidth, offset: nH * hd, theta: c.rope_theta, eps: 0 }));
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attention`),
        (t) => ({ tokens: t, numHeads: nH, numKvHeads: nKV, qStride: qkvWidth, kStride: qkvWidth, vStride: qkvWidth, qOffset: 0, kOffset: nH * hd, vOffset: (nH + nKV) * hd, scale: 1 / Math.sqrt(hd), window }),
      );
      add(k.projResidual.bind({ x: ctx, w: L.oW, residual: x, y: h }, `${p}.o_proj`), (t) => ({ M: t, N: H, K: nH * hd }));
      add(k.rmsNorm.bind({ x: h, w: L.postNorm, y: n }, `${p}.post_attention_layernorm`), (t) => ({ rows: t, n: H, eps }));
      add(k.gateUp.bind({ x: n, w: L.gateUpW, y: gu }, `${p}.gate_up_proj`), (t) => ({ M: t, N: 2 * I, K: H }));
      add(k.siluMul.bind({ gateUp: gu, out: act }, `${p}.act_fn`), (t) => ({ tokens: t, inter: I }));
      add(k.projResidual.bind({ x: act, w: L.downW, residual: h, y: x }, `${p}.down_proj`), (t) => ({ M: t, N: H, K: I }));
    });
    add(k.rmsNorm.bind({ x, w: this.finalNorm, y: n }, 'mistral.norm'), (t) => ({ rows: t, n: H, eps }));
    return { inputs, acts: [x, h, n, qkv, ctx, gu, act], hidden: n, steps };
  }

  dispose(): void {
    this.disposePlan();
    [this.embedTokens, this.finalNorm, ...this.layers.flatMap((l) => Object.values(l))].forEach((b) => b.destroy());
  }
}
