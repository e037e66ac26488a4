// GTE v1.5's NewConfig (Alibaba-NLP/new-impl's configuration.py, trust_remote_code, read from
// config.json alone): RoPE with the fixed NTK rescaling, a packed or split q/k/v projection.

import { ModelLoadError } from '../../gpu/errors';
import type { Architecture } from '../config';
import { parseSizes, type CommonConfig, type TransformerSizes } from './common';
import { positiveInt, positiveNumber, type Fields } from './fields';

export interface GteConfig extends CommonConfig, TransformerSizes {
  family: 'gte';
  model_type: 'new';
  architecture: 'NewModel';
  hidden_act: 'gelu';
  layer_norm_eps: number;
  /** 0 (gte-base-en-v1.5): no token-type table at all. */
  type_vocab_size: number;
  rope_theta: number;
  /** rope_scaling {type: "ntk", factor, mixed_b?}: a fixed rescaling of every frequency. */
  rope_scaling: { type: 'ntk'; factor: number; mixed_b: number | null } | null;
  /** q, k, v packed in one qkv_proj (true in the real checkpoints) or three projections. */
  pack_qkv: boolean;
  max_position_embeddings: number;
}

export function parseGte(f: Fields, common: CommonConfig): GteConfig {
  const sizes = parseSizes(f);
  const { hidden_size, num_attention_heads } = sizes;
  f.checkHeads(hidden_size, num_attention_heads, true);
  const refuse = (key: string, ok: unknown[], what: string) => {
    const v = f.raw[key];
    if (v !== undefined && !ok.includes(v)) throw new ModelLoadError(`${f.where}: ${key} ${JSON.stringify(v)} is not supported (${what})`);
  };
  refuse('position_embedding_type', ['rope'], 'only "rope"');
  refuse('layer_norm_type', ['layer_norm'], 'only "layer_norm"');
  refuse('logn_attention_scale', [false, null], 'only false');
  const hidden_act = f.raw.hidden_act ?? 'gelu';
  if (hidden_act !== 'gelu') throw f.invalid('hidden_act', hidden_act, '"gelu"');
  let rope_scaling: GteConfig['rope_scaling'] = null;
  const rs = f.raw.rope_scaling as { type?: unknown; factor?: unknown; mixed_b?: unknown } | null | undefined;
  if (rs !== undefined && rs !== null) {
    const factor = positiveNumber(rs.factor);
    const mixed = rs.mixed_b ?? null;
    if (typeof rs !== 'object' || rs.type !== 'ntk' || factor === undefined || (mixed !== null && positiveNumber(mixed) === undefined)) {
      throw new ModelLoadError(`${f.where}: rope_scaling ${JSON.stringify(rs)} is not supported (only {"type": "ntk", "factor": f, "mixed_b"?: b})`);
    }
    rope_scaling = { type: 'ntk', factor, mixed_b: mixed as number | null };
  }
  const cfg: GteConfig = {
    ...common,
    family: 'gte',
    model_type: 'new',
    architecture: 'NewModel',
    ...sizes,
    hidden_act: 'gelu',
    layer_norm_eps: f.optional('layer_norm_eps', 1e-12, positiveNumber, 'a positive number'),
    type_vocab_size: f.index('type_vocab_size', 1),
    rope_theta: f.optional('rope_theta', 10000, positiveNumber, 'a positive number'),
    rope_scaling,
    pack_qkv: f.bool('pack_qkv', true),
    max_position_embeddings: f.optional('max_position_embeddings', 2048, positiveInt, 'a positive integer'),
  };
  f.checkMatryoshka(cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}
