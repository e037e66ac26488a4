// DistilBERT encoder over a packed batch, mirroring transformers' models/distilbert/modeling_distilbert.py
// (weight names are the safetensors keys, with or without the `distilbert.` prefix).
//
//   Embeddings        x = LayerNorm(word[ids] + position[pos])      (no token types)         [T, dim]
//   TransformerBlock × n_layers
//     attention       qkv = x·[Wq; Wk; Wv]ᵀ + b   (q_lin/k_lin/v_lin fused at load)          [T, 3·dim]
//                     ctx = softmax(q·kᵀ/√(dim/n_heads)) · v   (within each sequence)       [T, dim]
//     sa_layer_norm   h   = LayerNorm(ctx·W_outᵀ + b + x)                                    [T, dim]
//     ffn             u   = act(h·W1ᵀ + b)      (lin1; exact-erf "gelu" or "relu")           [T, hidden_dim]
//     output_layer_norm x = LayerNorm(u·W2ᵀ + b + h)  (lin2)                                 [T, dim]
//
// Every LayerNorm eps is hard-coded 1e-12 in the HF code (config.json has no layer_norm_eps).
// No final norm and no pooler; DistilBertForSequenceClassification's head is in heads.ts.

import type { Gpu } from '../gpu/context';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { LayerNormKernel } from '../kernels/layer_norm';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import type { StorageDtype } from '../gpu/storage_dtype';
import type { WeightStore } from '../loading/safetensors';
import type { DistilBertConfig } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { concatRows, uploadWeight } from './weights';

/** DistilBERT's Embeddings and TransformerBlock build nn.LayerNorm(dim, eps=1e-12). */
const LAYER_NORM_EPS = 1e-12;

interface LayerWeights {
  qkvW: GPUBuffer;
  qkvB: GPUBuffer;
  outW: GPUBuffer;
  outB: GPUBuffer;
  saLnG: GPUBuffer;
  saLnB: GPUBuffer;
  lin1W: GPUBuffer;
  lin1B: GPUBuffer;
  lin2W: GPUBuffer;
  lin2B: GPUBuffer;
  outLnG: GPUBuffer;
  outLnB: GPUBuffer;
}

interface Kernels {
  embed: EmbeddingKernel;
  layerNorm: LayerNormKernel;
  qkv: MatmulKernel;
  attention: AttentionKernel;
  denseResidual: MatmulKernel;
  lin1: MatmulKernel;
}

export interface DistilBertOptions {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

export class DistilBertModel extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  private constructor(
    gpu: Gpu,
    readonly config: DistilBertConfig,
    private readonly k: Kernels,
    private readonly emb: { word: GPUBuffer; position: GPUBuffer; lnG: GPUBuffer; lnB: GPUBuffer },
    private readonly layers: LayerWeights[],
  ) {
    super(gpu);
    this.hiddenSize = config.dim;
    this.maxPositions = config.max_position_embeddings;
  }

  static async load(gpu: Gpu, c: DistilBertConfig, weights: WeightStore, opts: DistilBertOptions = {}): Promise<DistilBertModel> {
    const D = c.dim;
    const F = c.hidden_dim;
    const variant = opts.matmulVariant;
    const dt = opts.weightDtype ?? 'f32';
    const [embed, layerNorm, qkv, attention, denseResidual, lin1] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: true, tokenTypes: false, tableDtype: dt }),
      LayerNormKernel.create(gpu, { workgroupSize: D >= 256 ? 128 : 64 }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true }),
      AttentionKernel.create(gpu, { causal: false, headDim: D / c.n_heads }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true, residual: true }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true, activation: c.activation }),
    ]);
    const w = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape);
    const mw = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape, dt); // read by matmuls / the gather
    const emb = {
      word: mw('embeddings.word_embeddings.weight', [c.vocab_size, D]),
      position: mw('embeddings.position_embeddings.weight', [c.max_position_embeddings, D]),
      lnG: w('embeddings.LayerNorm.weight', [D]),
      lnB: w('embeddings.LayerNorm.bias', [D]),
    };
    const layers: LayerWeights[] = [];
    for (let i = 0; i < c.n_layers; i++) {
      const p = `transformer.layer.${i}.`;
      const a = `${p}attention.`;
      layers.push({
        qkvW: concatRows(gpu, weights, [`${a}q_lin.weight`, `${a}k_lin.weight`, `${a}v_lin.weight`], [D, D], `${p}qkv.weight`, dt),
        qkvB: concatRows(gpu, weights, [`${a}q_lin.bias`, `${a}k_lin.bias`, `${a}v_lin.bias`], [D], `${p}qkv.bias`),
        outW: mw(`${a}out_lin.weight`, [D, D]),
        outB: w(`${a}out_lin.bias`, [D]),
        saLnG: w(`${p}sa_layer_norm.weight`, [D]),
        saLnB: w(`${p}sa_layer_norm.bias`, [D]),
        lin1W: mw(`${p}ffn.lin1.weight`, [F, D]),
        lin1B: w(`${p}ffn.lin1.bias`, [F]),
        lin2W: mw(`${p}ffn.lin2.weight`, [D, F]),
        lin2B: w(`${p}ffn.lin2.bias`, [D]),
        outLnG: w(`${p}output_layer_norm.weight`, [D]),
        outLnB: w(`${p}output_layer_norm.bias`, [D]),
      });
    }
    return new DistilBertModel(gpu, c, { embed, layerNorm, qkv, attention, denseResidual, lin1 }, emb, layers);
  }

  protected build(T: number, B: number): BodyPlan {
    const { gpu, config: c, k } = this;
    const D = c.dim;
    const F = c.hidden_dim;
    const heads = c.n_heads;
    const eps = LAYER_NORM_EPS;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * D * 4, 'distilbert.x');
    const qkv = gpu.storage(T * 3 * D * 4, 'distilbert.qkv');
    const ctx = gpu.storage(T * D * 4, 'distilbert.ctx');
    const tmp = gpu.storage(T * D * 4, 'distilbert.tmp');
    const h = gpu.storage(T * D * 4, 'distilbert.h');
    const u = gpu.storage(T * F * 4, 'distilbert.ffn');

    const steps = new StepList();
    const add = steps.add.bind(steps);
    const dummy = inputs.ids; // bound in place of the token-type table DistilBERT does not have (never read)

    add(
      k.embed.bind({ ids: inputs.ids, positions: inputs.positions, tokenTypes: dummy, word: this.emb.word, position: this.emb.position, tokenType: dummy, out: tmp }, 'distilbert.embeddings'),
      (t) => ({ tokens: t, hidden: D, vocab: c.vocab_size, maxPositions: c.max_position_embeddings, typeVocab: 0 }),
    );
    add(k.layerNorm.bind({ x: tmp, gamma: this.emb.lnG, beta: this.emb.lnB, y: x }, 'distilbert.embeddings.LayerNorm'), (t) => ({ rows: t, n: D, eps }));

    this.layers.forEach((L, i) => {
      const p = `distilbert.transformer.layer.${i}`;
      add(k.qkv.bind({ x, w: L.qkvW, bias: L.qkvB, y: qkv }, `${p}.attention.qkv_lin`), (t) => ({ M: t, N: 3 * D, K: D }));
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attention`),
        (t) => ({ tokens: t, numHeads: heads, numKvHeads: heads, qStride: 3 * D, kStride: 3 * D, vStride: 3 * D, qOffset: 0, kOffset: D, vOffset: 2 * D, scale: 1 / Math.sqrt(D / heads) }),
      );
      add(k.denseResidual.bind({ x: ctx, w: L.outW, bias: L.outB, residual: x, y: tmp }, `${p}.attention.out_lin`), (t) => ({ M: t, N: D, K: D }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.saLnG, beta: L.saLnB, y: h }, `${p}.sa_layer_norm`), (t) => ({ rows: t, n: D, eps }));
      add(k.lin1.bind({ x: h, w: L.lin1W, bias: L.lin1B, y: u }, `${p}.ffn.lin1`), (t) => ({ M: t, N: F, K: D }));
      add(k.denseResidual.bind({ x: u, w: L.lin2W, bias: L.lin2B, residual: h, y: tmp }, `${p}.ffn.lin2`), (t) => ({ M: t, N: D, K: F }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.outLnG, beta: L.outLnB, y: x }, `${p}.output_layer_norm`), (t) => ({ rows: t, n: D, eps }));
    });

    return { inputs, acts: [x, qkv, ctx, tmp, h, u], hidden: x, steps };
  }

  dispose(): void {
    this.disposePlan();
    [...Object.values(this.emb), ...this.layers.flatMap((l) => Object.values(l))].forEach((b) => b.destroy());
  }
}
