// Napkin math for "useful" work: the FLOPs an ideal padding-free implementation spends on the real
// tokens, so that a padded system is not credited for computing pads.
//
//   flops = Σ over texts of  2 · P · n  +  4 · L · n² · A
//
//   n  real tokens of the text (special tokens included)
//   P  non-embedding parameters of the encoder layers (every weight does one multiply-add per token;
//      biases and norms are counted too, though negligible); embeddings are lookups, and the pooler
//      or classifier head is ignored (one row per text, not per token)
//   L  layers;  A = heads × head_dim (= hidden_size for BERT)
//   4·n²·A per layer: q·kᵀ and p·v are 2·n²·head_dim each per head (softmax and masking ignored)
//
// MiniLM-L6 (H 384, I 1536, L 6): P = 6 · (4·384² + 2·384·1536 + 9·384 + 1536) = 10.65 M, so
// 21.3 MFLOP per token plus attention.

export const FLOPS_FORMULA =
  'sum over texts of 2*P*n + 4*L*n^2*A; n = real tokens of the text, P = non-embedding parameters of the encoder layers, L = layers, A = heads*head_dim';

export interface FlopsModel {
  /** Non-embedding parameters of the encoder layers (P). */
  params: number;
  layers: number;
  /** heads × head_dim. */
  attnWidth: number;
  /** Hidden width (hidden_size, or DistilBERT's dim, NomicBert's n_embd). */
  hidden: number;
}

type Config = Record<string, unknown>;

const num = (c: Config, k: string): number => {
  const v = c[k];
  if (typeof v !== 'number') throw new Error(`config.json has no numeric ${k}`);
  return v;
};

/** P, L and A from a config.json (BERT / RoBERTa / XLM-R / MPNet, DistilBERT, NomicBert, GTE v1.5,
 * ModernBERT, Qwen3 / Qwen2 / Llama / Mistral, Gemma 3); null for other families. */
export function flopsModel(config: Config): FlopsModel | null {
  const type = String(config.model_type ?? '');
  if (['bert', 'roberta', 'xlm-roberta', 'mpnet', 'distilbert'].includes(type)) {
    const distil = type === 'distilbert';
    const L = num(config, distil ? 'n_layers' : 'num_hidden_layers');
    const H = num(config, distil ? 'dim' : 'hidden_size');
    const I = distil ? (typeof config.hidden_dim === 'number' ? config.hidden_dim : 4 * H) : num(config, 'intermediate_size');
    // q, k, v, o (+ biases); intermediate and output dense (+ biases); two LayerNorms.
    const perLayer = 4 * H * H + 4 * H + 2 * H * I + I + H + 4 * H;
    return { params: L * perLayer, layers: L, attnWidth: H, hidden: H };
  }
  if (type === 'nomic_bert') {
    const L = num(config, 'n_layer');
    const H = num(config, 'n_embd');
    const I = Math.ceil((typeof config.n_inner === 'number' ? config.n_inner : Math.floor((8 * H) / 3)) / 256) * 256;
    // Wqkv and out_proj; fc11, fc12 and fc2 (SwiGLU); two LayerNorms (biases off in v1.5).
    const perLayer = 4 * H * H + 3 * H * I + 4 * H;
    return { params: L * perLayer, layers: L, attnWidth: H, hidden: H };
  }
  if (type === 'new') {
    // GTE v1.5: qkv_proj and o_proj (+ biases); up_gate_proj (no bias, 2·I rows) and down_proj (+ bias); two LayerNorms.
    const L = num(config, 'num_hidden_layers');
    const H = num(config, 'hidden_size');
    const I = num(config, 'intermediate_size');
    const perLayer = 4 * H * H + 4 * H + 3 * H * I + H + 4 * H;
    return { params: L * perLayer, layers: L, attnWidth: H, hidden: H };
  }
  if (type === 'modernbert') {
    // Wqkv and Wo, Wi (2·I rows, GeGLU) and Wo; attn_norm and mlp_norm; biases only where the config turns them on.
    const L = num(config, 'num_hidden_layers');
    const H = num(config, 'hidden_size');
    const I = num(config, 'intermediate_size');
    const attnBias = config.attention_bias === true ? 4 * H : 0;
    const mlpBias = config.mlp_bias === true ? 2 * I + H : 0;
    const normBias = config.norm_bias === true ? 2 * H : 0;
    const perLayer = 4 * H * H + attnBias + 3 * H * I + mlpBias + 2 * H + normBias;
    return { params: L * perLayer + H, layers: L, attnWidth: H, hidden: H };
  }
  if (['qwen3', 'qwen2', 'llama', 'mistral', 'gemma3_text'].includes(type)) {
    const L = num(config, 'num_hidden_layers');
    const H = num(config, 'hidden_size');
    const I = num(config, 'intermediate_size');
    const heads = num(config, 'num_attention_heads');
    const headDim = typeof config.head_dim === 'number' ? config.head_dim : H / heads;
    const kv = typeof config.num_key_value_heads === 'number' ? config.num_key_value_heads : heads;
    const attn = H * heads * headDim + 2 * H * kv * headDim + heads * headDim * H;
    // Gemma 3 has four norms per layer (around attention and MLP, before and after), the others two;
    // the q/k norms (Qwen3, Gemma 3) are headDim each.
    const norms = type === 'gemma3_text' ? 4 * H : 2 * H;
    const perLayer = attn + 3 * H * I + norms + 2 * headDim;
    return { params: L * perLayer + H, layers: L, attnWidth: heads * headDim, hidden: H };
  }
  return null;
}

/** Useful FLOPs of one pass over texts with these real token counts. */
export function usefulFlops(m: FlopsModel, lengths: readonly number[]): number {
  let f = 0;
  for (const n of lengths) f += 2 * m.params * n + 4 * m.layers * n * n * m.attnWidth;
  return f;
}
