// ModernBertConfig (transformers' configuration_modernbert.py): pre-norm, alternating global and
// local attention with a RoPE base each, biases and norm biases switchable.

import { ModelLoadError } from '../../gpu/errors';
import type { Architecture } from '../config';
import { parseSizes, type CommonConfig, type TransformerSizes } from './common';
import { nullable, positiveInt, positiveNumber, type Fields } from './fields';

export interface ModernBertConfig extends CommonConfig, TransformerSizes {
  family: 'modernbert';
  model_type: 'modernbert';
  architecture: Extract<Architecture, `ModernBert${string}`>;
  /** The MLP's and the classifier head's activation ("gelu" is exact erf GELU). */
  hidden_activation: 'gelu' | 'gelu_pytorch_tanh';
  classifier_activation: 'gelu' | 'gelu_pytorch_tanh';
  norm_eps: number;
  norm_bias: boolean;
  attention_bias: boolean;
  mlp_bias: boolean;
  classifier_bias: boolean;
  classifier_pooling: 'cls' | 'mean';
  /** Layer i attends globally iff i % global_attn_every_n_layers == 0, else within local_attention. */
  global_attn_every_n_layers: number;
  /** Local layers see keys with |i − j| ≤ local_attention / 2 (floor), both ends inclusive. */
  local_attention: number;
  global_rope_theta: number;
  local_rope_theta: number;
  max_position_embeddings: number;
  pad_token_id: number | null;
}

export function parseModernBert(f: Fields, common: CommonConfig): ModernBertConfig {
  const sizes = parseSizes(f);
  const { hidden_size, num_attention_heads, num_hidden_layers } = sizes;
  f.checkHeads(hidden_size, num_attention_heads, true);
  const acts = ['gelu', 'gelu_pytorch_tanh'] as const;
  const act = (key: string) => f.optional(key, 'gelu' as (typeof acts)[number], (v) => (acts.includes(v as never) ? (v as (typeof acts)[number]) : undefined), `one of ${acts.join(', ')}`);
  // transformers ≥ 5 writes the two thetas inside rope_parameters, keyed by layer type.
  let global_rope_theta = f.optional('global_rope_theta', 160000, positiveNumber, 'a positive number');
  let local_rope_theta = f.optional('local_rope_theta', null as number | null, nullable(positiveNumber), 'a positive number') ?? global_rope_theta;
  const rp = f.raw.rope_parameters;
  if (rp && typeof rp === 'object' && 'full_attention' in rp) {
    const thetas = f.ropeThetasByLayerType(['full_attention', 'sliding_attention']);
    global_rope_theta = thetas.full_attention;
    local_rope_theta = thetas.sliding_attention;
  } else if (f.raw.rope_scaling !== undefined && f.raw.rope_scaling !== null) {
    throw new ModelLoadError(`${f.where}: rope_scaling ${JSON.stringify(f.raw.rope_scaling)} is not supported (only null)`);
  }
  const every = f.optional('global_attn_every_n_layers', 3, positiveInt, 'a positive integer');
  const types = f.raw.layer_types;
  if (Array.isArray(types) && (types.length !== num_hidden_layers || types.some((t, i) => (t === 'sliding_attention') !== (i % every !== 0)))) {
    throw new ModelLoadError(`${f.where}: layer_types ${JSON.stringify(types)} disagree with global_attn_every_n_layers ${every}`);
  }
  const cfg: ModernBertConfig = {
    ...common,
    family: 'modernbert',
    model_type: 'modernbert',
    architecture: common.architecture as ModernBertConfig['architecture'],
    ...sizes,
    hidden_activation: act('hidden_activation'),
    classifier_activation: act('classifier_activation'),
    norm_eps: f.optional('norm_eps', 1e-5, positiveNumber, 'a positive number'),
    norm_bias: f.bool('norm_bias', false),
    attention_bias: f.bool('attention_bias', false),
    mlp_bias: f.bool('mlp_bias', false),
    classifier_bias: f.bool('classifier_bias', false),
    classifier_pooling: f.optional('classifier_pooling', 'cls' as 'cls' | 'mean', (v) => (v === 'cls' || v === 'mean' ? v : undefined), '"cls" or "mean"'),
    global_attn_every_n_layers: every,
    local_attention: f.optional('local_attention', 128, positiveInt, 'a positive integer'),
    global_rope_theta,
    local_rope_theta,
    max_position_embeddings: f.optional('max_position_embeddings', 8192, positiveInt, 'a positive integer'),
    pad_token_id: f.nullableIndex('pad_token_id', null),
  };
  f.checkMatryoshka(cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}
