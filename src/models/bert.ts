// BERT and (XLM-)RoBERTa encoders over a packed batch, mirroring transformers'
// models/bert/modeling_bert.py and models/roberta/modeling_roberta.py (weight names are the
// safetensors keys, with or without the `bert.` / `roberta.` prefix).
//
//   BertEmbeddings    x = LayerNorm(word[ids] + position[pos] + token_type[types])
//   BertLayer × L     qkv = x·Wqkvᵀ + b                  (query/key/value fused at load)  [T, 3H]
//                     ctx = softmax(q·kᵀ/√d) · v         (within each sequence)          [T, H]
//                     h   = LayerNorm(ctx·Woᵀ + b + x)   (BertSelfOutput)                [T, H]
//                     u   = gelu(h·W1ᵀ + b)              (BertIntermediate)              [T, I]
//                     x   = LayerNorm(u·W2ᵀ + b + h)     (BertOutput)                    [T, H]
//
// The pooler and classifiers live in heads/; pooling in pooling/.

import type { Gpu } from '../gpu/context';
import { ModelLoadError } from '../gpu/errors';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { LayerNormKernel } from '../kernels/layer_norm';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import type { StorageDtype } from '../gpu/storage_dtype';
import type { WeightStore } from '../loading/safetensors';
import type { BertConfig } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import type { PackedBatch } from './packing';
import { uploadWeight, concatRows } from './weights';

interface LayerWeights {
  qkvW: GPUBuffer; // [3H, H]: query, key, value stacked
  qkvB: GPUBuffer; // [3H]
  attnOutW: GPUBuffer;
  attnOutB: GPUBuffer;
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


export interface BertOptions {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

export class BertModel extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;
  /** RoBERTa counts positions from padding_idx + 1; BERT from 0. */
  private readonly positionOffset: number;

  private constructor(
    gpu: Gpu,
    readonly config: BertConfig,
    private readonly k: Kernels,
    private readonly emb: { word: GPUBuffer; position: GPUBuffer; tokenType: GPUBuffer; lnG: GPUBuffer; lnB: GPUBuffer },
    private readonly layers: LayerWeights[],
  ) {
    super(gpu);
    this.hiddenSize = config.hidden_size;
    this.positionOffset = config.roberta_position_ids ? config.pad_token_id + 1 : 0;
    this.maxPositions = config.max_position_embeddings - this.positionOffset;
  }

  static async load(gpu: Gpu, config: BertConfig, weights: WeightStore, opts: BertOptions = {}): Promise<BertModel> {
    if (config.hidden_act !== 'gelu') {
      throw new ModelLoadError(
        `hidden_act "${config.hidden_act}" is not supported: wgpool's BERT kernels implement exact (erf) "gelu".`,
      );
    }
    const H = config.hidden_size;
    if (H % config.num_attention_heads !== 0) {
      throw new ModelLoadError(`hidden_size ${H} is not a multiple of num_attention_heads ${config.num_attention_heads}`);
    }
    const variant = opts.matmulVariant;
    const dt = opts.weightDtype ?? 'f32';
    const [embed, layerNorm, qkv, attention, denseResidual, intermediate] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: true, tokenTypes: true, tableDtype: dt }),
      LayerNormKernel.create(gpu, { workgroupSize: H >= 256 ? 128 : 64 }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true }),
      AttentionKernel.create(gpu, { causal: false, headDim: H / config.num_attention_heads }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true, residual: true }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true, activation: 'gelu' }),
    ]);

    const w = (name: string, shape?: number[]) => uploadWeight(gpu, weights, name, shape);
    const mw = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape, dt); // read by matmuls / the gather
    const emb = {
      word: mw('embeddings.word_embeddings.weight', [config.vocab_size, H]),
      position: mw('embeddings.position_embeddings.weight', [config.max_position_embeddings, H]),
      tokenType: mw('embeddings.token_type_embeddings.weight', [config.type_vocab_size, H]),
      lnG: w('embeddings.LayerNorm.weight', [H]),
      lnB: w('embeddings.LayerNorm.bias', [H]),
    };
    const I = config.intermediate_size;
    const layers: LayerWeights[] = [];
    for (let i = 0; i < config.num_hidden_layers; i++) {
      const p = `encoder.layer.${i}.`;
      const a = `${p}attention.self.`;
      layers.push({
        qkvW: concatRows(gpu, weights, [`${a}query.weight`, `${a}key.weight`, `${a}value.weight`], [H, H], `${p}qkv.weight`, dt),
        qkvB: concatRows(gpu, weights, [`${a}query.bias`, `${a}key.bias`, `${a}value.bias`], [H], `${p}qkv.bias`),
        attnOutW: mw(`${p}attention.output.dense.weight`, [H, H]),
        attnOutB: w(`${p}attention.output.dense.bias`, [H]),
        attnLnG: w(`${p}attention.output.LayerNorm.weight`, [H]),
        attnLnB: w(`${p}attention.output.LayerNorm.bias`, [H]),
        interW: mw(`${p}intermediate.dense.weight`, [I, H]),
        interB: w(`${p}intermediate.dense.bias`, [I]),
        outW: mw(`${p}output.dense.weight`, [H, I]),
        outB: w(`${p}output.dense.bias`, [H]),
        outLnG: w(`${p}output.LayerNorm.weight`, [H]),
        outLnB: w(`${p}output.LayerNorm.bias`, [H]),
      });
    }
    return new BertModel(gpu, config, { embed, layerNorm, qkv, attention, denseResidual, intermediate }, emb, layers);
  }

  protected build(T: number, B: number): BodyPlan {
    const { gpu, config: c, k } = this;
    const H = c.hidden_size;
    const I = c.intermediate_size;
    const heads = c.num_attention_heads;
    const hd = H / heads;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, 'bert.x');
    const qkv = gpu.storage(T * 3 * H * 4, 'bert.qkv');
    const ctx = gpu.storage(T * H * 4, 'bert.ctx');
    const tmp = gpu.storage(T * Math.max(H, I) * 4, 'bert.tmp');
    const h = gpu.storage(T * H * 4, 'bert.h');
    const u = gpu.storage(T * I * 4, 'bert.intermediate');
    const eps = c.layer_norm_eps;

    const steps = new StepList();
    const add = steps.add.bind(steps);

    add(
      k.embed.bind(
        { ids: inputs.ids, positions: inputs.positions, tokenTypes: inputs.typeIds, word: this.emb.word, position: this.emb.position, tokenType: this.emb.tokenType, out: tmp },
        'bert.embeddings',
      ),
      (t) => ({ tokens: t, hidden: H, vocab: c.vocab_size, maxPositions: c.max_position_embeddings, typeVocab: c.type_vocab_size }),
    );
    add(k.layerNorm.bind({ x: tmp, gamma: this.emb.lnG, beta: this.emb.lnB, y: x }, 'bert.embeddings.LayerNorm'), (t) => ({ rows: t, n: H, eps }));

    this.layers.forEach((L, i) => {
      const p = `bert.layer.${i}`;
      add(k.qkv.bind({ x, w: L.qkvW, bias: L.qkvB, y: qkv }, `${p}.qkv`), (t) => ({ M: t, N: 3 * H, K: H }));
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attention`),
        (t) => ({ tokens: t, numHeads: heads, numKvHeads: heads, qStride: 3 * H, kStride: 3 * H, vStride: 3 * H, qOffset: 0, kOffset: H, vOffset: 2 * H, scale: 1 / Math.sqrt(hd) }),
      );
      add(k.denseResidual.bind({ x: ctx, w: L.attnOutW, bias: L.attnOutB, residual: x, y: tmp }, `${p}.attention.output.dense`), (t) => ({ M: t, N: H, K: H }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.attnLnG, beta: L.attnLnB, y: h }, `${p}.attention.output.LayerNorm`), (t) => ({ rows: t, n: H, eps }));
      add(k.intermediate.bind({ x: h, w: L.interW, bias: L.interB, y: u }, `${p}.intermediate.dense`), (t) => ({ M: t, N: I, K: H }));
      add(k.denseResidual.bind({ x: u, w: L.outW, bias: L.outB, residual: h, y: tmp }, `${p}.output.dense`), (t) => ({ M: t, N: H, K: I }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.outLnG, beta: L.outLnB, y: x }, `${p}.output.LayerNorm`), (t) => ({ rows: t, n: H, eps }));
    });

    return { inputs, acts: [x, qkv, ctx, tmp, h, u], hidden: x, steps };
  }

  protected override positions(batch: PackedBatch): Uint32Array {
    return this.positionOffset ? batch.positions.map((p) => p + this.positionOffset) : batch.positions;
  }

  dispose(): void {
    this.disposePlan();
    const all = [...Object.values(this.emb), ...this.layers.flatMap((l) => Object.values(l))];
    all.forEach((b) => b.destroy());
  }
}
