// ModernBERT encoder over a packed batch, mirroring transformers' models/modernbert/modeling_modernbert.py
// (weight names are the safetensors keys, with or without the `model.` prefix).
//
//   ModernBertEmbeddings   x = norm(tok_embeddings[ids])               (no position / token-type tables)
//   ModernBertEncoderLayer × L, pre-norm:
//     attn_norm            n   = LayerNorm(x)       (layer 0: Identity — the embedding norm already ran)
//     attn.Wqkv            qkv = n·Wqkvᵀ                                 [T, 3H]: q | k | v, head-major
//     rotary_emb           q, k ← rotate-half RoPE, θ = global_rope_theta or local_rope_theta
//     attention            ctx = softmax(q·kᵀ/√d)·v within each sequence; local layers only keys with
//                                |i − j| ≤ local_attention/2 (window W = local_attention/2 + 1)
//     attn.Wo + residual   h   = ctx·Woᵀ + x
//     mlp_norm             n   = LayerNorm(h)
//     mlp.Wi               gu  = n·Wiᵀ                                   [T, 2I]: input | gate
//     act · gate           a   = gelu(input) · gate                      (GeGLU, exact erf GELU)
//     mlp.Wo + residual    x   = a·Woᵀ + h
//   final_norm             hidden = LayerNorm(x)
//
// Layer i is local iff i % global_attn_every_n_layers != 0. LayerNorms have no bias unless
// norm_bias; the linears none unless attention_bias / mlp_bias. The classification head
// (head.dense → act → head.norm → classifier, pooled by classifier_pooling) lives in heads.ts.

import type { Gpu } from '../gpu/context';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { GluKernel } from '../kernels/glu';
import { LayerNormKernel } from '../kernels/layer_norm';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import { RopeKernel } from '../kernels/rope';
import type { StorageDtype } from '../gpu/storage_dtype';
import type { WeightStore } from '../loading/safetensors';
import type { ModernBertConfig } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { destroyAll, weightUploaders } from './weights';

/** A bias-free LayerNorm is one with beta = 0: the kernel always adds a beta. */
interface Norm {
  w: GPUBuffer;
  b: GPUBuffer;
}

interface LayerWeights {
  /** Absent on layer 0 (nn.Identity). */
  attnNorm?: Norm;
  Wqkv: GPUBuffer;
  WqkvB?: GPUBuffer;
  attnWo: GPUBuffer;
  attnWoB?: GPUBuffer;
  mlpNorm: Norm;
  Wi: GPUBuffer;
  WiB?: GPUBuffer;
  mlpWo: GPUBuffer;
  mlpWoB?: GPUBuffer;
  local: boolean;
  theta: number;
}

interface Kernels {
  embed: EmbeddingKernel;
  norm: LayerNormKernel;
  Wqkv: MatmulKernel;
  rope: RopeKernel;
  attention: AttentionKernel;
  attnWo: MatmulKernel;
  Wi: MatmulKernel;
  glu: GluKernel;
  mlpWo: MatmulKernel;
}

export interface ModernBertOptions {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

/** Layer i's attention: (local?, RoPE theta), as HF's ModernBertAttention picks them. */
export function modernBertLayerPlan(c: ModernBertConfig): { local: boolean; theta: number }[] {
  return Array.from({ length: c.num_hidden_layers }, (_, i) => {
    const local = i % c.global_attn_every_n_layers !== 0;
    return { local, theta: local ? c.local_rope_theta : c.global_rope_theta };
  });
}

export class ModernBertModel extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  private constructor(
    gpu: Gpu,
    readonly config: ModernBertConfig,
    private readonly k: Kernels,
    private readonly emb: { tok: GPUBuffer; norm: Norm },
    private readonly layers: LayerWeights[],
    private readonly finalNorm: Norm,
    private readonly owned: GPUBuffer[],
  ) {
    super(gpu);
    this.hiddenSize = config.hidden_size;
    this.maxPositions = config.max_position_embeddings;
  }

  static async load(gpu: Gpu, c: ModernBertConfig, weights: WeightStore, opts: ModernBertOptions = {}): Promise<ModernBertModel> {
    const H = c.hidden_size;
    const I = c.intermediate_size;
    const hd = H / c.num_attention_heads;
    const variant = opts.matmulVariant;
    const dt = opts.weightDtype ?? 'f32';
    const act = c.hidden_activation === 'gelu' ? 'gelu' : 'gelu_tanh';
    const [embed, norm, Wqkv, rope, attention, attnWo, Wi, glu, mlpWo] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: false, tokenTypes: false, tableDtype: dt }),
      LayerNormKernel.create(gpu, { workgroupSize: H >= 256 ? 128 : 64 }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.attention_bias }),
      RopeKernel.create(gpu, { norm: false, headDim: hd }),
      AttentionKernel.create(gpu, { causal: false, headDim: hd }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.attention_bias, residual: true }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.mlp_bias }),
      GluKernel.create(gpu, { activation: act, activated: 'first' }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.mlp_bias, residual: true }),
    ]);
    const { w, mw } = weightUploaders(gpu, weights, dt);
    const zeros = gpu.upload(new Float32Array(H), 'modernbert.zero_bias');
    const ln = (p: string): Norm => ({ w: w(`${p}.weight`, [H]), b: c.norm_bias ? w(`${p}.bias`, [H]) : zeros });
    const bias = (on: boolean, name: string, n: number) => (on ? w(name, [n]) : undefined);
    const layers = modernBertLayerPlan(c).map(({ local, theta }, i): LayerWeights => {
      const p = `layers.${i}.`;
      return {
        attnNorm: i === 0 ? undefined : ln(`${p}attn_norm`),
        Wqkv: mw(`${p}attn.Wqkv.weight`, [3 * H, H]),
        WqkvB: bias(c.attention_bias, `${p}attn.Wqkv.bias`, 3 * H),
        attnWo: mw(`${p}attn.Wo.weight`, [H, H]),
        attnWoB: bias(c.attention_bias, `${p}attn.Wo.bias`, H),
        mlpNorm: ln(`${p}mlp_norm`),
        Wi: mw(`${p}mlp.Wi.weight`, [2 * I, H]),
        WiB: bias(c.mlp_bias, `${p}mlp.Wi.bias`, 2 * I),
        mlpWo: mw(`${p}mlp.Wo.weight`, [H, I]),
        mlpWoB: bias(c.mlp_bias, `${p}mlp.Wo.bias`, H),
        local,
        theta,
      };
    });
    const emb = { tok: mw('embeddings.tok_embeddings.weight', [c.vocab_size, H]), norm: ln('embeddings.norm') };
    const kernels = { embed, norm, Wqkv, rope, attention, attnWo, Wi, glu, mlpWo };
    return new ModernBertModel(gpu, c, kernels, emb, layers, ln('final_norm'), [zeros]);
  }

  protected build(T: number, B: number): BodyPlan {
    const { gpu, config: c, k } = this;
    const H = c.hidden_size;
    const I = c.intermediate_size;
    const heads = c.num_attention_heads;
    const hd = H / heads;
    const eps = c.norm_eps;
    const window = Math.floor(c.local_attention / 2) + 1;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, 'modernbert.x');
    const h = gpu.storage(T * H * 4, 'modernbert.h');
    const n = gpu.storage(T * H * 4, 'modernbert.normed');
    const qkv = gpu.storage(T * 3 * H * 4, 'modernbert.qkv');
    const ctx = gpu.storage(T * H * 4, 'modernbert.ctx');
    const gu = gpu.storage(T * 2 * I * 4, 'modernbert.Wi');
    const act = gpu.storage(T * I * 4, 'modernbert.act');

    const steps = new StepList();
    const add = steps.add.bind(steps);
    const norm = (from: GPUBuffer, w: Norm, to: GPUBuffer, label: string) =>
      add(k.norm.bind({ x: from, gamma: w.w, beta: w.b, y: to }, label), (t) => ({ rows: t, n: H, eps }));

    add(
      k.embed.bind({ ids: inputs.ids, word: this.emb.tok, out: n }, 'modernbert.embeddings.tok_embeddings'),
      (t) => ({ tokens: t, hidden: H, vocab: c.vocab_size, maxPositions: 0, typeVocab: 0 }),
    );
    norm(n, this.emb.norm, x, 'modernbert.embeddings.norm');
    this.layers.forEach((L, i) => {
      const p = `modernbert.layers.${i}`;
      if (L.attnNorm) norm(x, L.attnNorm, n, `${p}.attn_norm`);
      add(k.Wqkv.bind({ x: L.attnNorm ? n : x, w: L.Wqkv, bias: L.WqkvB, y: qkv }, `${p}.attn.Wqkv`), (t) => ({ M: t, N: 3 * H, K: H }));
      for (const [which, offset] of [['q', 0], ['k', H]] as const) {
        add(k.rope.bind({ x: qkv, positions: inputs.positions }, `${p}.rotary_emb.${which}`), (t) => ({ tokens: t, numHeads: heads, stride: 3 * H, offset, theta: L.theta, eps: 0 }));
      }
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attn${L.local ? '.local' : ''}`),
        (t) => ({ tokens: t, numHeads: heads, numKvHeads: heads, qStride: 3 * H, kStride: 3 * H, vStride: 3 * H, qOffset: 0, kOffset: H, vOffset: 2 * H, scale: 1 / Math.sqrt(hd), window: L.local ? window : 0 }),
      );
      add(k.attnWo.bind({ x: ctx, w: L.attnWo, bias: L.attnWoB, residual: x, y: h }, `${p}.attn.Wo`), (t) => ({ M: t, N: H, K: H }));
      norm(h, L.mlpNorm, n, `${p}.mlp_norm`);
      add(k.Wi.bind({ x: n, w: L.Wi, bias: L.WiB, y: gu }, `${p}.mlp.Wi`), (t) => ({ M: t, N: 2 * I, K: H }));
      add(k.glu.bind({ gateUp: gu, out: act }, `${p}.mlp.act`), (t) => ({ tokens: t, inter: I }));
      add(k.mlpWo.bind({ x: act, w: L.mlpWo, bias: L.mlpWoB, residual: h, y: x }, `${p}.mlp.Wo`), (t) => ({ M: t, N: H, K: I }));
    });
    norm(x, this.finalNorm, n, 'modernbert.final_norm');
    return { inputs, acts: [x, h, n, qkv, ctx, gu, act], hidden: n, steps };
  }

  dispose(): void {
    this.disposePlan();
    destroyAll(this.emb, this.finalNorm, this.layers, this.owned);
  }
}
