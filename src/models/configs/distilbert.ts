// DistilBertConfig (transformers' configuration_distilbert.py), with its own names (dim, n_layers,
// n_heads, hidden_dim); hidden_size is added as an alias for the heads and pooling.

import { ModelLoadError } from '../../gpu/errors';
import type { Architecture } from '../config';
import type { CommonConfig } from './common';
import { positiveInt, type Fields } from './fields';

/** DistilBERT, with its own config names (dim, n_layers, n_heads, hidden_dim). */
export interface DistilBertConfig extends CommonConfig {
  family: 'distilbert';
  model_type: 'distilbert';
  architecture: Extract<Architecture, `DistilBert${string}`>;
  vocab_size: number;
  dim: number;
  /** = dim: the width heads and pooling read under the common name. */
  hidden_size: number;
  n_layers: number;
  n_heads: number;
  hidden_dim: number;
  activation: 'gelu' | 'relu';
  max_position_embeddings: number;
  pad_token_id: number;
  /** Sinusoidal tables are stored in the checkpoint like learned ones, so both load the same. */
  sinusoidal_pos_embds: boolean;
}

export function parseDistilBert(f: Fields, common: CommonConfig): DistilBertConfig {
  const dim = f.positiveInt('dim');
  const n_heads = f.positiveInt('n_heads');
  if (dim % n_heads !== 0) throw new ModelLoadError(`${f.where}: dim ${dim} is not a multiple of n_heads ${n_heads}`);
  const vocab_size = f.positiveInt('vocab_size');
  const cfg: DistilBertConfig = {
    ...common,
    family: 'distilbert',
    model_type: 'distilbert',
    architecture: common.architecture as DistilBertConfig['architecture'],
    vocab_size,
    dim,
    hidden_size: dim,
    n_layers: f.positiveInt('n_layers'),
    n_heads,
    hidden_dim: f.optional('hidden_dim', 4 * dim, positiveInt, 'a positive integer'),
    activation: f.optional('activation', 'gelu' as 'gelu' | 'relu', (v) => (v === 'gelu' || v === 'relu' ? v : undefined), '"gelu" or "relu"'),
    max_position_embeddings: f.optional('max_position_embeddings', 512, positiveInt, 'a positive integer'),
    pad_token_id: f.index('pad_token_id', 0, vocab_size),
    sinusoidal_pos_embds: f.bool('sinusoidal_pos_embds', false),
  };
  f.checkMatryoshka(cfg.matryoshka_dimensions, dim);
  return cfg;
}
