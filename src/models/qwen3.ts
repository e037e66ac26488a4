// Qwen3 decoder body over a packed batch, mirroring transformers' models/qwen3/modeling_qwen3.py
// (weight names are the safetensors keys, with or without the `model.` prefix).
//
//   embed_tokens      x = embed[ids]
//   Qwen3DecoderLayer × L
//     input_layernorm           n   = RMSNorm(x)
//     q/k/v_proj (fused)        qkv = n·Wqkvᵀ                        [T, (nH + 2·nKV)·hd]
//     q_norm / k_norm + RoPE    per head, RMSNorm over hd BEFORE rotate-half RoPE (in place)
//     attention                 ctx = causal GQA attention within each sequence [T, nH·hd]
//     o_proj + residual         h   = ctx·Woᵀ + x
//     post_attention_layernorm  n   = RMSNorm(h)
//     gate/up_proj (fused)      gu  = n·[Wg; Wu]ᵀ                     [T, 2I]
//     SwiGLU                    a   = silu(gate) · up                 [T, I]
//     down_proj + residual      x   = a·Wdᵀ + h
//   norm              hidden = RMSNorm(x)
//
// head_dim comes from config and need not equal hidden / heads (q_proj is heads × head_dim wide).

import type { Gpu } from '../gpu/context';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import { RmsNormKernel } from '../kernels/rms_norm';
import { RopeKernel } from '../kernels/rope';
import { SiluMulKernel } from '../kernels/silu_mul';
import type { WeightStore } from '../loading/safetensors';
import type { Qwen3Config } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { concatRows, uploadWeight } from './weights';

interface LayerWeights {
  inputNorm: GPUBuffer;
  qkvW: GPUBuffer;
  qkvB?: GPUBuffer;
  qNorm: GPUBuffer;
  kNorm: GPUBuffer;
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


export interface Qwen3Options {
  matmulVariant?: MatmulVariant;
}

export class Qwen3Model extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  private constructor(
    gpu: Gpu,
    readonly config: Qwen3Config,
    private readonly k: Kernels,
    private readonly embedTokens: GPUBuffer,
    private readonly finalNorm: GPUBuffer,
    private readonly layers: LayerWeights[],
  ) {
    super(gpu);
    this.hiddenSize = config.hidden_size;
    this.maxPositions = config.max_position_embeddings;
  }

  static async load(gpu: Gpu, c: Qwen3Config, weights: WeightStore, opts: Qwen3Options = {}): Promise<Qwen3Model> {
    const H = c.hidden_size;
    const hd = c.head_dim;
    const nH = c.num_attention_heads;
    const nKV = c.num_key_value_heads;
    const I = c.intermediate_size;
    const variant = opts.matmulVariant;
    // Qwen3 has no attention bias (attention_bias: false), but honour one if a checkpoint carries it.
    const hasBias = weights.has('layers.0.self_attn.q_proj.bias');
    const [embed, rmsNorm, qkv, rope, attention, projResidual, gateUp, siluMul] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: false, tokenTypes: false }),
      RmsNormKernel.create(gpu, { workgroupSize: H >= 256 ? 128 : 64 }),
      MatmulKernel.create(gpu, { variant, bias: hasBias }),
      RopeKernel.create(gpu, { norm: true, headDim: hd }),
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
        qkvB: hasBias ? concatRows(gpu, weights, [`${a}q_proj.bias`, `${a}k_proj.bias`, `${a}v_proj.bias`], [[nH * hd], [nKV * hd], [nKV * hd]], `${p}qkv.bias`) : undefined,
        qNorm: w(`${a}q_norm.weight`, [hd]),
        kNorm: w(`${a}k_norm.weight`, [hd]),
        oW: w(`${a}o_proj.weight`, [H, nH * hd]),
        postNorm: w(`${p}post_attention_layernorm.weight`, [H]),
        gateUpW: concatRows(gpu, weights, [`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`], [I, H], `${p}gate_up.weight`),
        downW: w(`${p}mlp.down_proj.weight`, [H, I]),
      });
    }
    const embedTokens = w('embed_tokens.weight', [c.vocab_size, H]);
    const finalNorm = w('norm.weight', [H]);
    return new Qwen3Model(gpu, c, { embed, rmsNorm, qkv, rope, attention, projResidual, gateUp, siluMul }, embedTokens, finalNorm, layers);
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
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, 'qwen3.x');
    const h = gpu.storage(T * H * 4, 'qwen3.h');
    const n = gpu.storage(T * H * 4, 'qwen3.normed');
    const qkv = gpu.storage(T * qkvWidth * 4, 'qwen3.qkv');
    const ctx = gpu.storage(T * nH * hd * 4, 'qwen3.ctx');
    const gu = gpu.storage(T * 2 * I * 4, 'qwen3.gate_up');
    const act = gpu.storage(T * I * 4, 'qwen3.act');

    const steps = new StepList();
    const add = steps.add.bind(steps);
    const dummy = inputs.ids; // bound in place of disabled embedding tables (never read)

    add(
      k.embed.bind({ ids: inputs.ids, word: this.embedTokens, out: x, positions: dummy, tokenTypes: dummy, position: dummy, tokenType: dummy }, 'qwen3.embed_tokens'),
      (t) => ({ tokens: t, hidden: H, vocab: c.vocab_size, maxPositions: 0, typeVocab: 0 }),
    );
    this.layers.forEach((L, i) => {
      const p = `qwen3.layers.${i}`;
      add(k.rmsNorm.bind({ x, w: L.inputNorm, y: n }, `${p}.input_layernorm`), (t) => ({ rows: t, n: H, eps }));
      add(k.qkv.bind({ x: n, w: L.qkvW, bias: L.qkvB, y: qkv }, `${p}.qkv_proj`), (t) => ({ M: t, N: qkvWidth, K: H }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions, normWeight: L.qNorm }, `${p}.q_norm+rope`), (t) => ({ tokens: t, numHeads: nH, stride: qkvWidth, offset: 0, theta: c.rope_theta, eps }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions, normWeight: L.kNorm }, `${p}.k_norm+rope`), (t) => ({ tokens: t, numHeads: nKV, stride: qkvWidth, offset: nH * hd, theta: c.rope_theta, eps }));
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attention`),
        (t) => ({ tokens: t, numHeads: nH, numKvHeads: nKV, qStride: qkvWidth, kStride: qkvWidth, vStride: qkvWidth, qOffset: 0, kOffset: nH * hd, vOffset: (nH + nKV) * hd, scale: 1 / Math.sqrt(hd) }),
      );
      add(k.projResidual.bind({ x: ctx, w: L.oW, residual: x, y: h }, `${p}.o_proj`), (t) => ({ M: t, N: H, K: nH * hd }));
      add(k.rmsNorm.bind({ x: h, w: L.postNorm, y: n }, `${p}.post_attention_layernorm`), (t) => ({ rows: t, n: H, eps }));
      add(k.gateUp.bind({ x: n, w: L.gateUpW, y: gu }, `${p}.gate_up_proj`), (t) => ({ M: t, N: 2 * I, K: H }));
      add(k.siluMul.bind({ gateUp: gu, out: act }, `${p}.act_fn`), (t) => ({ tokens: t, inter: I }));
      add(k.projResidual.bind({ x: act, w: L.downW, residual: h, y: x }, `${p}.down_proj`), (t) => ({ M: t, N: H, K: I }));
    });
    add(k.rmsNorm.bind({ x, w: this.finalNorm, y: n }, 'qwen3.norm'), (t) => ({ rows: t, n: H, eps }));
    return { inputs, acts: [x, h, n, qkv, ctx, gu, act], hidden: n, steps };
  }

  dispose(): void {
    this.disposePlan();
    [this.embedTokens, this.finalNorm, ...this.layers.flatMap((l) => Object.values(l).filter((b): b is GPUBuffer => !!b))].forEach((b) => b.destroy());
  }
}
