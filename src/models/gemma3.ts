// Gemma 3 text body over a packed batch, mirroring transformers' models/gemma3/modeling_gemma3.py
// (Gemma3TextModel; weight names are the safetensors keys, with or without the `model.` prefix).
// EmbeddingGemma is this model with use_bidirectional_attention: true.
//
//   embed_tokens × √hidden   x = embed[ids] · √H     (the scale folded into the table at load, in f32)
//   Gemma3DecoderLayer × L, every RMSNorm scaling by (1 + w):
//     input_layernorm           n   = RMSNorm(x)
//     q/k/v_proj (fused)        qkv = n·Wqkvᵀ                     [T, (nH + 2·nKV)·hd], no biases
//     q_norm / k_norm + RoPE    per head, RMSNorm over hd BEFORE rotate-half RoPE; θ = rope_theta on
//                               full_attention layers, rope_local_base_freq on sliding_attention ones
//     attention                 GQA, scores · query_pre_attn_scalar^-0.5. Bidirectional: full layers
//                               see the whole sequence, sliding layers |q − k| ≤ sliding_window / 2
//                               (window W = sliding_window / 2 + 1, the value HF's config rewrites it
//                               to); causal: the last sliding_window keys on sliding layers.
//     o_proj                    o   = ctx·Woᵀ
//     post_attention_layernorm  h   = RMSNorm(o) + x
//     pre_feedforward_layernorm n   = RMSNorm(h)
//     gate/up_proj (fused)      gu  = n·[Wg; Wu]ᵀ                  [T, 2I]
//     act · up                  a   = gelu_tanh(gate) · up
//     down_proj                 m   = a·Wdᵀ
//     post_feedforward_layernorm x  = RMSNorm(m) + h
//   norm                      hidden = RMSNorm(x)
//
// Pooling → Dense → Dense → Normalize (EmbeddingGemma's sentence-transformers pipeline) runs in the
// embed head. The layer is the decoder layer of decoder.ts with Gemma's switches (DecoderSpec):
// (1 + w) norms, the sandwich norms, the embedding scale, GeGLU, and the per-layer RoPE base and
// window set here.

import type { Gpu } from '../gpu/context';
import type { WeightStore } from '../loading/safetensors';
import type { Gemma3Config } from './config';
import { DecoderBody, loadDecoder, type DecoderOptions, type DecoderParts, type DecoderSpec } from './decoder';

export type Gemma3Options = DecoderOptions;

export class Gemma3Model extends DecoderBody {
  private constructor(gpu: Gpu, readonly config: Gemma3Config, spec: DecoderSpec, parts: DecoderParts) {
    super(gpu, spec, parts);
  }

  static async load(gpu: Gpu, c: Gemma3Config, weights: WeightStore, opts: Gemma3Options = {}): Promise<Gemma3Model> {
    // Bidirectional (EmbeddingGemma): HF's config rewrites sliding_window to sliding_window / 2 + 1,
    // the window W of |q − k| < W; causal: the last sliding_window keys.
    const slidingWindow = c.use_bidirectional_attention ? Math.floor(c.sliding_window / 2) + 1 : c.sliding_window;
    const spec: DecoderSpec = {
      name: 'gemma3',
      hidden: c.hidden_size, heads: c.num_attention_heads, kvHeads: c.num_key_value_heads, headDim: c.head_dim,
      intermediate: c.intermediate_size, vocab: c.vocab_size, eps: c.rms_norm_eps, maxPositions: c.max_position_embeddings,
      causal: !c.use_bidirectional_attention,
      scale: 1 / Math.sqrt(c.query_pre_attn_scalar),
      layers: c.layer_types.map((t) =>
        t === 'sliding_attention' ? { theta: c.rope_local_base_freq, window: slidingWindow } : { theta: c.rope_theta, window: 0 },
      ),
      qkNorm: true,
      bias: { qkv: false, o: false, mlp: false },
      unitOffsetNorms: true,
      sandwichNorms: true,
      activation: 'gelu_tanh',
      embedScale: Math.sqrt(c.hidden_size),
    };
    return new Gemma3Model(gpu, c, spec, await loadDecoder(gpu, spec, weights, opts));
  }
}
