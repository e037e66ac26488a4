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
// The forward pass is the post-norm encoder the BERT-like models share (encoder.ts); this file
// names BERT's modules and its position ids. The pooler and classifiers live in heads/; pooling in
// pooling/.

import type { Gpu } from '../gpu/context';
import { ModelLoadError } from '../gpu/errors';
import type { WeightStore } from '../loading/safetensors';
import type { BertConfig } from './config';
import { EncoderBody, loadEncoder, type EncoderNames, type EncoderOptions, type EncoderParts, type EncoderSpec } from './encoder';
import type { PackedBatch } from './packing';

/** BertModel's modules by checkpoint name. */
const NAMES: EncoderNames = {
  word: 'embeddings.word_embeddings',
  position: 'embeddings.position_embeddings',
  tokenType: 'embeddings.token_type_embeddings',
  embeddingNorm: 'embeddings.LayerNorm',
  layers: 'encoder.layer',
  qkv: ['attention.self.query', 'attention.self.key', 'attention.self.value'],
  attention: 'attention.self',
  o: 'attention.output.dense',
  attnNorm: 'attention.output.LayerNorm',
  up: 'intermediate.dense',
  down: 'output.dense',
  mlpNorm: 'output.LayerNorm',
};

export type BertOptions = EncoderOptions;

export class BertModel extends EncoderBody {
  readonly maxPositions: number;
  /** RoBERTa counts positions from padding_idx + 1; BERT from 0. */
  private readonly positionOffset: number;

  private constructor(gpu: Gpu, readonly config: BertConfig, parts: EncoderParts) {
    super(gpu, BertModel.spec(config), parts);
    this.positionOffset = config.roberta_position_ids ? config.pad_token_id + 1 : 0;
    this.maxPositions = config.max_position_embeddings - this.positionOffset;
  }

  private static spec(c: BertConfig): EncoderSpec {
    return {
      name: 'bert', names: NAMES, layers: c.num_hidden_layers, hidden: c.hidden_size, heads: c.num_attention_heads,
      intermediate: c.intermediate_size, vocab: c.vocab_size, eps: c.layer_norm_eps,
      positionRows: c.max_position_embeddings, typeRows: c.type_vocab_size,
      mlp: { kind: 'dense', activation: 'gelu' },
      bias: { qkv: true, o: true, up: true, down: true },
    };
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
    return new BertModel(gpu, config, await loadEncoder(gpu, BertModel.spec(config), weights, opts));
  }

  protected override positions(batch: PackedBatch): Uint32Array {
    return this.positionOffset ? batch.positions.map((p) => p + this.positionOffset) : batch.positions;
  }
}
