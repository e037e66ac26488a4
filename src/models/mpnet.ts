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
// distance (HF calls compute_position_bias without position ids), see shaders/attention.wgsl. The
// forward pass is the post-norm encoder of encoder.ts; this file names MPNet's modules.

import type { Gpu } from '../gpu/context';
import type { WeightStore } from '../loading/safetensors';
import type { MPNetConfig } from './config';
import { EncoderBody, loadEncoder, type EncoderNames, type EncoderOptions, type EncoderParts, type EncoderSpec } from './encoder';
import type { PackedBatch } from './packing';

/** MPNetEmbeddings.padding_idx is 1 whatever config.pad_token_id says; real tokens start at 2. */
const POSITION_OFFSET = 2;

/** MPNetModel's modules by checkpoint name. */
const NAMES: EncoderNames = {
  word: 'embeddings.word_embeddings',
  position: 'embeddings.position_embeddings',
  embeddingNorm: 'embeddings.LayerNorm',
  layers: 'encoder.layer',
  qkv: ['attention.attn.q', 'attention.attn.k', 'attention.attn.v'],
  attention: 'attention.attn',
  o: 'attention.attn.o',
  attnNorm: 'attention.LayerNorm',
  up: 'intermediate.dense',
  down: 'output.dense',
  mlpNorm: 'output.LayerNorm',
};

export type MPNetOptions = EncoderOptions;

export class MPNetModel extends EncoderBody {
  readonly maxPositions: number;

  private constructor(gpu: Gpu, readonly config: MPNetConfig, parts: EncoderParts) {
    super(gpu, MPNetModel.spec(config), parts);
    this.maxPositions = config.max_position_embeddings - POSITION_OFFSET;
  }

  private static spec(c: MPNetConfig): EncoderSpec {
    return {
      name: 'mpnet', names: NAMES, layers: c.num_hidden_layers, hidden: c.hidden_size, heads: c.num_attention_heads,
      intermediate: c.intermediate_size, vocab: c.vocab_size, eps: c.layer_norm_eps,
      positionRows: c.max_position_embeddings, typeRows: 0,
      relativeBias: { name: 'encoder.relative_attention_bias', buckets: c.relative_attention_num_buckets },
      mlp: { kind: 'dense', activation: 'gelu' },
      bias: { qkv: true, o: true, up: true, down: true },
    };
  }

  static async load(gpu: Gpu, c: MPNetConfig, weights: WeightStore, opts: MPNetOptions = {}): Promise<MPNetModel> {
    return new MPNetModel(gpu, c, await loadEncoder(gpu, MPNetModel.spec(c), weights, opts));
  }

  /** cumsum(ids != 1) · (ids != 1) + 1: in-sequence position + 2 (tokenizers never emit the pad id inside a text). */
  protected override positions(batch: PackedBatch): Uint32Array {
    return batch.positions.map((p) => p + POSITION_OFFSET);
  }
}
