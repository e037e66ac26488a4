// MPNet encoder over a packed batch, mirroring transformers' models/mpnet/modeling_mpnet.py (weight
// names are the safetensors keys, with or without the `mpnet.` prefix of MPNetForMaskedLM).
//
//   MPNetEmbeddings   x = LayerNorm(word[ids] + position[pos + 2])   (RoBERTa-style ids, padding_idx
//                                                                     hard-coded 1; no token types)
//   MPNetEncoder      relBias = encoder.relative_attention_bias [32, heads], shared by all layers
//   MPNetLayer × L    qkv = x·[Wq; Wk; Wv]ᵀ + b                           (fused at load)   [T, 3H]
//                     ctx = softmax(q·kᵀ/√d + relBias[bucket(j − i)]) · v  (within each sequence)
//                     a   = LayerNorm(ctx·Woᵀ + b + x)                    (attention.LayerNorm)
//                     u   = gelu(a·W1ᵀ + b)                                (intermediate.dense)
//                     x   = LayerNorm(u·W2ᵀ + b + a)                       (output.dense, output.LayerNorm)
//
// The bias is added after the 1/√d scaling and is not scaled itself; buckets use the plain in-sequence
// distance (HF calls compute_position_bias without position ids), see shaders/attention.wgsl.

import type { Gpu } from '../gpu/context';
import { AttentionKernel, REL_BIAS_BUCKETS } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { LayerNormKernel } from '../kernels/layer_norm';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import type { StorageDtype } from '../gpu/storage_dtype';
import type { WeightStore } from '../loading/safetensors';
import type { MPNetConfig } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import type { PackedBatch } from './packing';
import { concatRows, uploadWeight } from './weights';

/** MPNetEmbeddings.padding_idx is 1 whatever config.pad_token_id says; real tokens start at 2. */
const POSITION_OFFSET = 2;

interface LayerWeights {
  qkvW: GPUBuffer;
  qkvB: GPUBuffer;
  oW: GPUBuffer;
  oB: GPUBuffer;
  attnLnG: GPUBuffer;
  attnLnB: GPUBuffer;
  interW: GPUBuffer;
  interB: GPUBuffer;
  outW: GPUBuffer;
  outB: GPUBuffer;
  outLnG: GPUBuffer;
  outLnB: GPUBuffer;
}

interface Kernels {
  embed: EmbeddingKernel;
  layerNorm: LayerNormKernel;
  qkv: MatmulKernel;
  attention: AttentionKernel;
  denseResidual: MatmulKernel;
  intermediate: MatmulKernel;
}

export interface MPNetOptions {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

export class MPNetModel extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  private constructor(
    gpu: Gpu,
    readonly config: MPNetConfig,
    private readonly k: Kernels,
    private readonly emb: { word: GPUBuffer; position: GPUBuffer; lnG: GPUBuffer; lnB: GPUBuffer },
    private readonly relBias: GPUBuffer,
    private readonly layers: LayerWeights[],
  ) {
    super(gpu);
    this.hiddenSize = config.hidden_size;
    this.maxPositions = config.max_position_embeddings - POSITION_OFFSET;
  }

  static async load(gpu: Gpu, c: MPNetConfig, weights: WeightStore, opts: MPNetOptions = {}): Promise<MPNetModel> {
    const H = c.hidden_size;
    const I = c.intermediate_size;
    const heads = c.num_attention_heads;
    const variant = opts.matmulVariant;
    const dt = opts.weightDtype ?? 'f32';
    const [embed, layerNorm, qkv, attention, denseResidual, intermediate] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: true, tokenTypes: false, tableDtype: dt }),
      LayerNormKernel.create(gpu, { workgroupSize: H >= 256 ? 128 : 64 }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true }),
      AttentionKernel.create(gpu, { causal: false, headDim: H / heads, relativeBias: true }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true, residual: true }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true, activation: 'gelu' }),
    ]);
    const w = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape);
    const mw = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape, dt); // read by matmuls / the gather
    const emb = {
      word: mw('embeddings.word_embeddings.weight', [c.vocab_size, H]),
      position: mw('embeddings.position_embeddings.weight', [c.max_position_embeddings, H]),
      lnG: w('embeddings.LayerNorm.weight', [H]),
      lnB: w('embeddings.LayerNorm.bias', [H]),
    };
    // Only the first 32 rows are ever indexed (a larger configured table is cut to them).
    const table = weights.getShaped('encoder.relative_attention_bias.weight', [c.relative_attention_num_buckets, heads]);
    const relBias = gpu.upload(table.subarray(0, REL_BIAS_BUCKETS * heads), 'encoder.relative_attention_bias.weight');
    const layers: LayerWeights[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `encoder.layer.${i}.`;
      const a = `${p}attention.attn.`;
      layers.push({
        qkvW: concatRows(gpu, weights, [`${a}q.weight`, `${a}k.weight`, `${a}v.weight`], [H, H], `${p}qkv.weight`, dt),
        qkvB: concatRows(gpu, weights, [`${a}q.bias`, `${a}k.bias`, `${a}v.bias`], [H], `${p}qkv.bias`),
        oW: mw(`${a}o.weight`, [H, H]),
        oB: w(`${a}o.bias`, [H]),
        attnLnG: w(`${p}attention.LayerNorm.weight`, [H]),
        attnLnB: w(`${p}attention.LayerNorm.bias`, [H]),
        interW: mw(`${p}intermediate.dense.weight`, [I, H]),
        interB: w(`${p}intermediate.dense.bias`, [I]),
        outW: mw(`${p}output.dense.weight`, [H, I]),
        outB: w(`${p}output.dense.bias`, [H]),
        outLnG: w(`${p}output.LayerNorm.weight`, [H]),
        outLnB: w(`${p}output.LayerNorm.bias`, [H]),
      });
    }
    return new MPNetModel(gpu, c, { embed, layerNorm, qkv, attention, denseResidual, intermediate }, emb, relBias, layers);
  }

  protected build(T: number, B: number): BodyPlan {
    const { gpu, config: c, k } = this;
    const H = c.hidden_size;
    const I = c.intermediate_size;
    const heads = c.num_attention_heads;
    const hd = H / heads;
    const eps = c.layer_norm_eps;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, 'mpnet.x');
    const qkv = gpu.storage(T * 3 * H * 4, 'mpnet.qkv');
    const ctx = gpu.storage(T * H * 4, 'mpnet.ctx');
    const tmp = gpu.storage(T * H * 4, 'mpnet.tmp');
    const a = gpu.storage(T * H * 4, 'mpnet.attention_out');
    const u = gpu.storage(T * I * 4, 'mpnet.intermediate');
    const dummy = inputs.ids; // bound in place of the absent token-type table (never read)

    const steps = new StepList();
    const add = steps.add.bind(steps);
    add(
      k.embed.bind({ ids: inputs.ids, positions: inputs.positions, tokenTypes: dummy, word: this.emb.word, position: this.emb.position, tokenType: dummy, out: tmp }, 'mpnet.embeddings'),
      (t) => ({ tokens: t, hidden: H, vocab: c.vocab_size, maxPositions: c.max_position_embeddings, typeVocab: 0 }),
    );
    add(k.layerNorm.bind({ x: tmp, gamma: this.emb.lnG, beta: this.emb.lnB, y: x }, 'mpnet.embeddings.LayerNorm'), (t) => ({ rows: t, n: H, eps }));
    this.layers.forEach((L, i) => {
      const p = `mpnet.encoder.layer.${i}`;
      add(k.qkv.bind({ x, w: L.qkvW, bias: L.qkvB, y: qkv }, `${p}.attention.attn.qkv`), (t) => ({ M: t, N: 3 * H, K: H }));
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx, relBias: this.relBias }, `${p}.attention`),
        (t) => ({ tokens: t, numHeads: heads, numKvHeads: heads, qStride: 3 * H, kStride: 3 * H, vStride: 3 * H, qOffset: 0, kOffset: H, vOffset: 2 * H, scale: 1 / Math.sqrt(hd) }),
      );
      add(k.denseResidual.bind({ x: ctx, w: L.oW, bias: L.oB, residual: x, y: tmp }, `${p}.attention.attn.o`), (t) => ({ M: t, N: H, K: H }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.attnLnG, beta: L.attnLnB, y: a }, `${p}.attention.LayerNorm`), (t) => ({ rows: t, n: H, eps }));
      add(k.intermediate.bind({ x: a, w: L.interW, bias: L.interB, y: u }, `${p}.intermediate.dense`), (t) => ({ M: t, N: I, K: H }));
      add(k.denseResidual.bind({ x: u, w: L.outW, bias: L.outB, residual: a, y: tmp }, `${p}.output.dense`), (t) => ({ M: t, N: H, K: I }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.outLnG, beta: L.outLnB, y: x }, `${p}.output.LayerNorm`), (t) => ({ rows: t, n: H, eps }));
    });
    return { inputs, acts: [x, qkv, ctx, tmp, a, u], hidden: x, steps };
  }

  /** cumsum(ids != 1) · (ids != 1) + 1: in-sequence position + 2 (tokenizers never emit the pad id inside a text). */
  protected override positions(batch: PackedBatch): Uint32Array {
    return batch.positions.map((p) => p + POSITION_OFFSET);
  }

  dispose(): void {
    this.disposePlan();
    [...Object.values(this.emb), this.relBias, ...this.layers.flatMap((l) => Object.values(l))].forEach((b) => b.destroy());
  }
}
