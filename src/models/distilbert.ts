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
// No final norm and no pooler; DistilBertForSequenceClassification's head is in heads.ts. The
// forward pass is the post-norm encoder of encoder.ts; this file names DistilBERT's modules.

import type { Gpu } from '../gpu/context';
import type { WeightStore } from '../loading/safetensors';
import type { DistilBertConfig } from './config';
import { EncoderBody, loadEncoder, type EncoderNames, type EncoderOptions, type EncoderParts, type EncoderSpec } from './encoder';

/** DistilBERT's Embeddings and TransformerBlock build nn.LayerNorm(dim, eps=1e-12). */
const LAYER_NORM_EPS = 1e-12;

/** DistilBertModel's modules by checkpoint name. */
const NAMES: EncoderNames = {
  word: 'embeddings.word_embeddings',
  position: 'embeddings.position_embeddings',
  embeddingNorm: 'embeddings.LayerNorm',
  layers: 'transformer.layer',
  qkv: ['attention.q_lin', 'attention.k_lin', 'attention.v_lin'],
  attention: 'attention',
  o: 'attention.out_lin',
  attnNorm: 'sa_layer_norm',
  up: 'ffn.lin1',
  down: 'ffn.lin2',
  mlpNorm: 'output_layer_norm',
};

export type DistilBertOptions = EncoderOptions;

export class DistilBertModel extends EncoderBody {
  readonly maxPositions: number;

  private constructor(gpu: Gpu, readonly config: DistilBertConfig, parts: EncoderParts) {
    super(gpu, DistilBertModel.spec(config), parts);
    this.maxPositions = config.max_position_embeddings;
  }

  private static spec(c: DistilBertConfig): EncoderSpec {
    return {
      name: 'distilbert', names: NAMES, layers: c.n_layers, hidden: c.dim, heads: c.n_heads,
      intermediate: c.hidden_dim, vocab: c.vocab_size, eps: LAYER_NORM_EPS,
      positionRows: c.max_position_embeddings, typeRows: 0,
      mlp: { kind: 'dense', activation: c.activation },
      bias: { qkv: true, o: true, up: true, down: true },
    };
  }

  static async load(gpu: Gpu, c: DistilBertConfig, weights: WeightStore, opts: DistilBertOptions = {}): Promise<DistilBertModel> {
    return new DistilBertModel(gpu, c, await loadEncoder(gpu, DistilBertModel.spec(c), weights, opts));
  }
}
