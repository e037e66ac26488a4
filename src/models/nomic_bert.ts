// NomicBert encoder (nomic-embed-text v1 / v1.5) over a packed batch, mirroring the trust_remote_code
// file modeling_hf_nomic_bert.py of nomic-ai/nomic-bert-2048 (cross-read with vLLM's bert_with_rope.py).
// It is registered by its config alone: no code from a model repository runs. Weight names are the
// checkpoint's keys (no prefix; pre-training checkpoints' `bert.` prefix also resolves).
//
//   embeddings + emb_ln  x = LayerNorm(word[ids] + token_type[types])   (no position table: RoPE)
//   NomicBertBlock × n_layer   (post-norm, prenorm: false)
//     attn.Wqkv          qkv = x·Wqkvᵀ (+ b)   rows block-major [Q heads | K heads | V heads]   [T, 3H]
//     rotary             q, k rotated in place: rotate-half (GPT-NeoX, not interleaved) over the whole
//                        head, inv_freq = rotary_emb_base^(−2i/head_dim) (base 1000 for v1.5)
//     attention          ctx = softmax(q·kᵀ/√head_dim) · v   within each sequence, bidirectional
//     norm1              h   = LayerNorm(ctx·W_outᵀ (+ b) + x)
//     mlp (swiglu)       g   = [fc12; fc11] h (fused) → a = silu(fc12 h) · fc11 h   (the activation
//                        is on fc12: vLLM maps fc12 → gate_proj, fc11 → up_proj)
//     norm2              x   = LayerNorm(a·W2ᵀ (+ b) + h)
//   no final norm, no pooler
//
// Positions: the hub file rotates by arange(seqlen); packed positions are exactly that per sequence.
// rotary_scaling_factor (dynamic NTK past max_trained_positions) never applies, because the model
// length is capped at max_trained_positions, as vLLM does. The forward pass is the post-norm encoder
// of encoder.ts (gated MLP, RoPE); this file names NomicBert's modules and its bias switches.

import type { Gpu } from '../gpu/context';
import type { WeightStore } from '../loading/safetensors';
import type { NomicBertConfig } from './config';
import { EncoderBody, loadEncoder, type EncoderNames, type EncoderOptions, type EncoderParts, type EncoderSpec } from './encoder';

/** NomicBertModel's modules by checkpoint name. */
const NAMES: EncoderNames = {
  word: 'embeddings.word_embeddings',
  tokenType: 'embeddings.token_type_embeddings',
  embeddingNorm: 'emb_ln',
  layers: 'encoder.layers',
  qkv: 'attn.Wqkv',
  attention: 'attn',
  o: 'attn.out_proj',
  attnNorm: 'norm1',
  // [fc12; fc11] stacked: the gate (fc12) first, as glu (activated: 'first') reads it.
  up: ['mlp.fc12', 'mlp.fc11'],
  down: 'mlp.fc2',
  mlpNorm: 'norm2',
};

export type NomicBertOptions = EncoderOptions;

export class NomicBertModel extends EncoderBody {
  readonly maxPositions: number;

  private constructor(gpu: Gpu, readonly config: NomicBertConfig, parts: EncoderParts) {
    super(gpu, NomicBertModel.spec(config), parts);
    this.maxPositions = Math.min(config.n_positions, config.max_trained_positions);
  }

  private static spec(c: NomicBertConfig): EncoderSpec {
    return {
      name: 'nomic_bert', names: NAMES, layers: c.n_layer, hidden: c.n_embd, heads: c.n_head,
      intermediate: c.n_inner, vocab: c.vocab_size, eps: c.layer_norm_epsilon,
      positionRows: 0, typeRows: c.type_vocab_size,
      rope: { theta: c.rotary_emb_base },
      mlp: { kind: 'gated', glu: { activation: 'silu', activated: 'first' } },
      // out_proj takes the qkv_proj_bias flag and fc12/fc11 the mlp_fc1_bias flag (the hub file reuses them).
      bias: { qkv: c.qkv_proj_bias, o: c.qkv_proj_bias, up: c.mlp_fc1_bias, down: c.mlp_fc2_bias },
    };
  }

  static async load(gpu: Gpu, c: NomicBertConfig, weights: WeightStore, opts: NomicBertOptions = {}): Promise<NomicBertModel> {
    return new NomicBertModel(gpu, c, await loadEncoder(gpu, NomicBertModel.spec(c), weights, opts));
  }
}
