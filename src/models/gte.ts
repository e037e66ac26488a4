// GTE v1.5 ("NewModel", Alibaba-NLP/new-impl, trust_remote_code) over a packed batch, built from
// config.json alone and mirroring the hub's modeling.py as cross-read with vLLM's GteNewModel (weight
// names are the safetensors keys, with or without the `new.` prefix of the NewFor* heads).
//
//   NewEmbeddings   x = LayerNorm(word[ids] (+ token_type[types] when type_vocab_size > 0))
//   NewLayer × L, post-norm:
//     qkv_proj      qkv = x·Wqkvᵀ + b                                  [T, 3H]: q | k | v, head-major
//     rope          q, k ← rotate-half RoPE, rope_theta with the FIXED NTK rescaling of rope_scaling
//     attention     ctx = softmax(q·kᵀ/√d)·v within each sequence
//     o_proj        h   = attn_ln(ctx·Woᵀ + b + x)
//     up_gate_proj  ug  = h·Wugᵀ (no bias)                              [T, 2I]: up | gate
//     act · up      a   = gelu(gate) · up                               (exact erf GELU on the SECOND half)
//     down_proj     x   = mlp_ln(a·Wdᵀ + b + h)
//   no final norm, no pooler.
//
// The forward pass is the post-norm encoder of encoder.ts (gated MLP, RoPE); this file names
// GTE's modules.

import type { Gpu } from '../gpu/context';
import type { WeightStore } from '../loading/safetensors';
import type { GteConfig } from './config';
import { EncoderBody, loadEncoder, type EncoderOptions, type EncoderParts, type EncoderSpec } from './encoder';

export type GteOptions = EncoderOptions;

export class GteNewModel extends EncoderBody {
  readonly maxPositions: number;

  private constructor(gpu: Gpu, readonly config: GteConfig, parts: EncoderParts) {
    super(gpu, GteNewModel.spec(config), parts);
    this.maxPositions = config.max_position_embeddings;
  }

  private static spec(c: GteConfig): EncoderSpec {
    const rs = c.rope_scaling;
    return {
      name: 'gte',
      // NewModel's modules by checkpoint name.
      names: {
        word: 'embeddings.word_embeddings',
        tokenType: 'embeddings.token_type_embeddings',
        embeddingNorm: 'embeddings.LayerNorm',
        layers: 'encoder.layer',
        qkv: c.pack_qkv ? 'attention.qkv_proj' : ['attention.q_proj', 'attention.k_proj', 'attention.v_proj'],
        attention: 'attention',
        o: 'attention.o_proj',
        attnNorm: 'attn_ln',
        up: 'mlp.up_gate_proj',
        down: 'mlp.down_proj',
        mlpNorm: 'mlp_ln',
      },
      layers: c.num_hidden_layers, hidden: c.hidden_size, heads: c.num_attention_heads,
      intermediate: c.intermediate_size, vocab: c.vocab_size, eps: c.layer_norm_eps,
      positionRows: 0, typeRows: c.type_vocab_size,
      rope: { theta: c.rope_theta, ntk: rs ? { factor: rs.factor, mixedB: rs.mixed_b } : undefined },
      // up_gate_proj is [up; gate]: GELU on the second half.
      mlp: { kind: 'gated', glu: { activation: 'gelu', activated: 'second' } },
      bias: { qkv: true, o: true, up: false, down: true },
    };
  }

  static async load(gpu: Gpu, c: GteConfig, weights: WeightStore, opts: GteOptions = {}): Promise<GteNewModel> {
    return new GteNewModel(gpu, c, await loadEncoder(gpu, GteNewModel.spec(c), weights, opts));
  }
}
