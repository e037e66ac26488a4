// Qwen3Config, Qwen2Config, LlamaConfig and MistralConfig (transformers' configuration_*.py): one
// pre-norm decoder config, the families differing in biases, q/k norms, the mask and the window.

import { ModelLoadError } from '../../gpu/errors';
import type { Architecture } from '../config';
import { parseSizes, type CommonConfig, type TransformerSizes } from './common';
import { nullable, positiveInt, positiveNumber, type Fields } from './fields';

/** Qwen3, Qwen2 and Llama: one pre-norm decoder, differing in biases, q/k norms and the mask. */
export interface DecoderConfig extends CommonConfig, TransformerSizes {
  family: 'qwen3' | 'qwen2' | 'llama' | 'mistral';
  model_type: 'qwen3' | 'qwen2' | 'llama' | 'mistral';
  architecture: Extract<Architecture, `Qwen3${string}` | `Qwen2${string}` | `Llama${string}` | `Mistral${string}`>;
  num_key_value_heads: number;
  /** Per-head width; may differ from hidden_size / num_attention_heads (Qwen3 q_proj is heads × head_dim wide). */
  head_dim: number;
  hidden_act: 'silu';
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: null;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  pad_token_id: number | null;
  /** q/k/v_proj biases: Qwen2 always, Llama with attention_bias (Qwen3: when the checkpoint has them). */
  qkv_bias: boolean;
  /** o_proj bias: Llama with attention_bias. */
  o_bias: boolean;
  /** gate/up/down_proj biases: Llama's mlp_bias. */
  mlp_bias: boolean;
  /** Per-head RMSNorm of q and k before RoPE (Qwen3's q_norm / k_norm). */
  qk_norm: boolean;
  /** config.is_causal; false gives the padding-only bidirectional mask (gte-Qwen2's current config). */
  is_causal: boolean;
  /** Mistral's causal window: each query sees its last sliding_window keys, itself included; null = none. */
  sliding_window: number | null;
}

export type Qwen3Config = DecoderConfig;

export function parseDecoder(f: Fields, common: CommonConfig): DecoderConfig {
  const modelType = common.model_type as DecoderConfig['model_type'];
  const sizes = parseSizes(f);
  const { hidden_size, num_attention_heads, num_hidden_layers, vocab_size } = sizes;
  const num_key_value_heads = f.optional('num_key_value_heads', num_attention_heads, positiveInt, 'a positive integer');
  f.checkKvHeads(num_attention_heads, num_key_value_heads);
  const defaultHeadDim = Math.floor(hidden_size / num_attention_heads);
  const head_dim = f.optional('head_dim', defaultHeadDim, (v) => (v === null ? defaultHeadDim : positiveInt(v)), 'a positive integer');
  f.checkEvenHeadDim(head_dim);
  const hidden_act = f.raw.hidden_act ?? 'silu';
  if (hidden_act !== 'silu') throw f.invalid('hidden_act', hidden_act, '"silu"');
  f.refuseRopeScaling();
  // transformers ≥ 5 writes rope_theta inside rope_parameters.
  let rope_theta = f.optional('rope_theta', 10000, positiveNumber, 'a positive number');
  const ropeParams = f.raw.rope_parameters;
  if (ropeParams !== undefined && ropeParams !== null) {
    const p = ropeParams as { rope_type?: unknown; rope_theta?: unknown };
    if (typeof p !== 'object' || (p.rope_type !== undefined && p.rope_type !== 'default')) {
      throw new ModelLoadError(`${f.where}: rope_parameters ${JSON.stringify(ropeParams)} is not supported (only rope_type "default")`);
    }
    if (p.rope_theta !== undefined) {
      const t = positiveNumber(p.rope_theta);
      if (t === undefined) throw f.invalid('rope_parameters.rope_theta', p.rope_theta, 'a positive number');
      rope_theta = t;
    }
  }
  if (modelType === 'qwen2') {
    // Qwen2Config: layers i ≥ max_window_layers slide, and only with use_sliding_window (explicit layer_types win).
    const types = f.raw.layer_types;
    const mwl = f.index('max_window_layers', 28);
    const slides = Array.isArray(types) ? types.includes('sliding_attention') : f.raw.use_sliding_window === true && mwl < num_hidden_layers;
    if (slides) throw new ModelLoadError(`${f.where}: sliding-window layers (use_sliding_window / layer_types) are not supported for qwen2`);
  } else if (f.raw.use_sliding_window === true) {
    throw new ModelLoadError(`${f.where}: use_sliding_window true is not supported (sliding-window attention)`);
  }
  if (modelType === 'qwen3' && f.raw.attention_bias === true) {
    throw new ModelLoadError(`${f.where}: attention_bias true is not supported (Qwen3 projections have no biases)`);
  }
  const llamaBias = modelType === 'llama' && f.bool('attention_bias', false);
  const cfg: DecoderConfig = {
    ...common,
    family: modelType,
    model_type: modelType,
    architecture: common.architecture as DecoderConfig['architecture'],
    ...sizes,
    num_key_value_heads,
    head_dim,
    hidden_act: 'silu',
    rms_norm_eps: f.optional('rms_norm_eps', 1e-6, positiveNumber, 'a positive number'),
    rope_theta,
    rope_scaling: null,
    max_position_embeddings: f.optional('max_position_embeddings', 32768, positiveInt, 'a positive integer'),
    tie_word_embeddings: f.bool('tie_word_embeddings', false),
    pad_token_id: f.nullableIndex('pad_token_id', null, vocab_size),
    sliding_window: modelType === 'mistral' ? f.optional('sliding_window', null as number | null, nullable(positiveInt), 'null or a positive integer') : null,
    qkv_bias: modelType === 'qwen2' || llamaBias,
    o_bias: llamaBias,
    mlp_bias: modelType === 'llama' && f.bool('mlp_bias', false),
    qk_norm: modelType === 'qwen3',
    is_causal: f.bool('is_causal', true),
  };
  f.checkMatryoshka(cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}
