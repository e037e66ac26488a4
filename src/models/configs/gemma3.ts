// Gemma3TextConfig (transformers' configuration_gemma3.py), EmbeddingGemma included
// (use_bidirectional_attention): per-layer sliding / full attention, a RoPE base for each.

import { ModelLoadError } from '../../gpu/errors';
import { positiveInt, positiveNumber, type Fields } from './fields';
import { parseSizes, type CommonConfig, type TransformerSizes } from './common';

export interface Gemma3Config extends CommonConfig, TransformerSizes {
  family: 'gemma3';
  model_type: 'gemma3_text';
  architecture: 'Gemma3TextModel';
  num_key_value_heads: number;
  head_dim: number;
  /** Scores are scaled by query_pre_attn_scalar^-0.5, not head_dim^-0.5. */
  query_pre_attn_scalar: number;
  hidden_activation: 'gelu_pytorch_tanh';
  rms_norm_eps: number;
  /** Per layer, from layer_types or the older sliding_window_pattern. */
  layer_types: ('sliding_attention' | 'full_attention')[];
  /** RoPE base of full_attention layers (rope_theta) and of sliding_attention layers (rope_local_base_freq). */
  rope_theta: number;
  rope_local_base_freq: number;
  /** As written in config.json (HF's config class rewrites it to sliding_window / 2 + 1 when bidirectional). */
  sliding_window: number;
  /** EmbeddingGemma: full layers see every key, sliding layers |q − k| ≤ sliding_window / 2. */
  use_bidirectional_attention: boolean;
  max_position_embeddings: number;
  pad_token_id: number | null;
}

export function parseGemma3(f: Fields, common: CommonConfig): Gemma3Config {
  const sizes = parseSizes(f);
  const { hidden_size, num_attention_heads, num_hidden_layers } = sizes;
  const num_key_value_heads = f.optional('num_key_value_heads', 4, positiveInt, 'a positive integer');
  f.checkKvHeads(num_attention_heads, num_key_value_heads);
  const head_dim = f.optional('head_dim', 256, positiveInt, 'a positive integer');
  f.checkEvenHeadDim(head_dim);
  const act = f.raw.hidden_activation ?? f.raw.hidden_act ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh') throw f.invalid('hidden_activation', act, '"gelu_pytorch_tanh"');
  if (f.raw.attention_bias === true) throw new ModelLoadError(`${f.where}: attention_bias true is not supported (Gemma 3 projections have no biases)`);
  if (f.raw.attn_logit_softcapping !== undefined && f.raw.attn_logit_softcapping !== null) {
    // HF's Gemma3 attention never applies it either; refuse rather than guess which one a checkpoint expects.
    throw new ModelLoadError(`${f.where}: attn_logit_softcapping ${JSON.stringify(f.raw.attn_logit_softcapping)} is not supported (only null)`);
  }
  let layer_types: Gemma3Config['layer_types'];
  const lt = f.raw.layer_types;
  if (lt !== undefined && lt !== null) {
    if (!Array.isArray(lt) || lt.length !== num_hidden_layers || lt.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
      throw f.invalid('layer_types', lt, `a list of ${num_hidden_layers} "sliding_attention" / "full_attention" entries`);
    }
    layer_types = lt as Gemma3Config['layer_types'];
  } else {
    const pattern = positiveInt(f.raw.sliding_window_pattern ?? f.raw._sliding_window_pattern ?? 6);
    if (pattern === undefined) throw f.invalid('sliding_window_pattern', f.raw.sliding_window_pattern, 'a positive integer');
    layer_types = Array.from({ length: num_hidden_layers }, (_, i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention'));
  }
  let rope_theta = f.optional('rope_theta', 1e6, positiveNumber, 'a positive number');
  let rope_local_base_freq = f.optional('rope_local_base_freq', 1e4, positiveNumber, 'a positive number');
  const rs = f.raw.rope_scaling as { rope_type?: unknown; type?: unknown } | null | undefined;
  if (rs !== undefined && rs !== null && (rs.rope_type ?? rs.type ?? 'default') !== 'default') {
    throw new ModelLoadError(`${f.where}: rope_scaling ${JSON.stringify(rs)} is not supported (only null or "default")`);
  }
  // transformers ≥ 5 writes both bases inside rope_parameters, keyed by layer type.
  const rp = f.raw.rope_parameters;
  if (rp && typeof rp === 'object' && ('full_attention' in rp || 'sliding_attention' in rp)) {
    const thetas = f.ropeThetasByLayerType(Object.keys(rp));
    rope_theta = thetas.full_attention ?? rope_theta;
    rope_local_base_freq = thetas.sliding_attention ?? rope_local_base_freq;
  }
  const cfg: Gemma3Config = {
    ...common,
    family: 'gemma3',
    model_type: 'gemma3_text',
    architecture: 'Gemma3TextModel',
    ...sizes,
    num_key_value_heads,
    head_dim,
    query_pre_attn_scalar: f.optional('query_pre_attn_scalar', 256, positiveNumber, 'a positive number'),
    hidden_activation: 'gelu_pytorch_tanh',
    rms_norm_eps: f.optional('rms_norm_eps', 1e-6, positiveNumber, 'a positive number'),
    layer_types,
    rope_theta,
    rope_local_base_freq,
    sliding_window: f.optional('sliding_window', 4096, positiveInt, 'a positive integer'),
    use_bidirectional_attention: f.bool('use_bidirectional_attention', false),
    max_position_embeddings: f.optional('max_position_embeddings', 131072, positiveInt, 'a positive integer'),
    pad_token_id: f.nullableIndex('pad_token_id', null),
  };
  f.checkMatryoshka(cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}
