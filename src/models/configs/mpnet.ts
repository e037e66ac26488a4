// MPNetConfig (transformers' configuration_mpnet.py): BERT-sized fields plus the relative-position
// bucket table; positions are offset by MPNet's hard-coded padding_idx + 1 = 2.

import { ModelLoadError } from '../../gpu/errors';
import type { Architecture } from '../config';
import { parseSizes, type CommonConfig, type TransformerSizes } from './common';
import { positiveInt, positiveNumber, type Fields } from './fields';

export interface MPNetConfig extends CommonConfig, TransformerSizes {
  family: 'mpnet';
  model_type: 'mpnet';
  architecture: Extract<Architecture, `MPNet${string}`>;
  hidden_act: 'gelu';
  /** Rows of the position table; positions start at padding_idx + 1 = 2 (padding_idx hard-coded 1). */
  max_position_embeddings: number;
  layer_norm_eps: number;
  /** Only sizes the bias table: HF always indexes 32 buckets. */
  relative_attention_num_buckets: number;
  pad_token_id: number;
}

export function parseMPNet(f: Fields, common: CommonConfig): MPNetConfig {
  const sizes = parseSizes(f);
  const { hidden_size, num_attention_heads } = sizes;
  f.checkHeads(hidden_size, num_attention_heads, false);
  const hidden_act = f.raw.hidden_act ?? 'gelu';
  if (hidden_act !== 'gelu') throw f.invalid('hidden_act', hidden_act, '"gelu"');
  const buckets = f.optional('relative_attention_num_buckets', 32, positiveInt, 'a positive integer');
  if (buckets < 32) throw new ModelLoadError(`${f.where}: relative_attention_num_buckets ${buckets} is below the 32 buckets MPNet always indexes`);
  const max_position_embeddings = f.optional('max_position_embeddings', 514, positiveInt, 'a positive integer');
  if (max_position_embeddings <= 2) throw new ModelLoadError(`${f.where}: max_position_embeddings ${max_position_embeddings} leaves no positions after MPNet's offset 2`);
  const cfg: MPNetConfig = {
    ...common,
    family: 'mpnet',
    model_type: 'mpnet',
    architecture: common.architecture as MPNetConfig['architecture'],
    ...sizes,
    hidden_act: 'gelu',
    max_position_embeddings,
    layer_norm_eps: f.optional('layer_norm_eps', 1e-12, positiveNumber, 'a positive number'),
    relative_attention_num_buckets: buckets,
    pad_token_id: f.index('pad_token_id', 1),
  };
  f.checkMatryoshka(cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}
