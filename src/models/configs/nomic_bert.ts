// NomicBertConfig (nomic-ai/nomic-bert-2048's configuration file, trust_remote_code, read from
// config.json alone): GPT-2 field names with BERT aliases; only what nomic-embed-text uses is accepted.

import { ModelLoadError } from '../../gpu/errors';
import type { Architecture } from '../config';
import type { CommonConfig } from './common';
import { positiveInt, positiveNumber, nullable, type Fields } from './fields';

/**
 * NomicBertConfig (GPT-2 spelling, nomic-ai/nomic-bert-2048's configuration file): a post-norm BERT
 * with RoPE and a SwiGLU MLP. Only what nomic-embed-text v1 / v1.5 use is accepted.
 */
export interface NomicBertConfig extends CommonConfig {
  family: 'nomic_bert';
  model_type: 'nomic_bert';
  architecture: 'NomicBertModel';
  /** Rounded up to pad_vocab_size_multiple, as NomicBertModel sizes its word embeddings. */
  vocab_size: number;
  n_embd: number;
  /** = n_embd. */
  hidden_size: number;
  n_head: number;
  n_layer: number;
  /** Gated MLP width: n_inner (or 8·n_embd/3) rounded up to a multiple of 256, as NomciBertGatedMLP does. */
  n_inner: number;
  /** The hub file also has glu / geglu / non-gated gelu MLPs; nomic-embed-text uses swiglu only. */
  activation_function: 'swiglu';
  layer_norm_epsilon: number;
  type_vocab_size: number;
  rotary_emb_base: number;
  n_positions: number;
  /** vLLM caps the model length here (and ignores rotary_scaling_factor), as sentence-transformers agrees below it. */
  max_trained_positions: number;
  qkv_proj_bias: boolean;
  mlp_fc1_bias: boolean;
  mlp_fc2_bias: boolean;
}

export function parseNomicBert(f: Fields, common: CommonConfig): NomicBertConfig {
  // GPT2Config's attribute_map: the BERT names are aliases of the GPT-2 ones.
  const pick = (gpt2: string, bert: string) => (f.raw[gpt2] ?? null) !== null ? gpt2 : bert;
  const n_embd = f.optional(pick('n_embd', 'hidden_size'), 768, positiveInt, 'a positive integer');
  const n_head = f.optional(pick('n_head', 'num_attention_heads'), 12, positiveInt, 'a positive integer');
  if (n_embd % n_head !== 0) throw new ModelLoadError(`${f.where}: n_embd ${n_embd} is not a multiple of n_head ${n_head}`);
  const refuse = (what: string) => new ModelLoadError(`${f.where}: ${what} is not supported (nomic-embed-text v1/v1.5 use none of it)`);
  for (const key of ['prenorm', 'parallel_block', 'use_rms_norm', 'rotary_emb_interleaved', 'norm_mlp', 'rotary_head_dim']) {
    if (f.raw[key] === true) throw refuse(`${key} true`);
  }
  if ((f.raw.moe_every_n_layers ?? 0) !== 0) throw refuse('moe_every_n_layers (NomicBert MoE)');
  if ((f.raw.rotary_emb_scale_base ?? null) !== null) throw refuse('rotary_emb_scale_base (xPos)');
  if ((f.raw.num_heads_kv ?? null) !== null && f.raw.num_heads_kv !== n_head) throw refuse('num_heads_kv != n_head');
  const fraction = f.raw.rotary_emb_fraction ?? 0;
  if (fraction !== 1) throw refuse(`rotary_emb_fraction ${JSON.stringify(fraction)} (only 1.0: RoPE over the whole head)`);
  const act = f.raw.activation_function ?? 'gelu_new';
  if (act !== 'swiglu') throw f.invalid('activation_function', act, '"swiglu" (the MLP of nomic-embed-text v1 / v1.5)');
  const innerRaw = f.optional(pick('n_inner', 'intermediate_size'), null as number | null, nullable(positiveInt), 'a positive integer');
  const multiple = f.optional('pad_vocab_size_multiple', 1, positiveInt, 'a positive integer');
  const vocab = f.positiveInt('vocab_size');
  const cfg: NomicBertConfig = {
    ...common,
    family: 'nomic_bert',
    model_type: 'nomic_bert',
    architecture: 'NomicBertModel',
    vocab_size: Math.ceil(vocab / multiple) * multiple,
    n_embd,
    hidden_size: n_embd,
    n_head,
    n_layer: f.optional(pick('n_layer', 'num_hidden_layers'), 12, positiveInt, 'a positive integer'),
    n_inner: Math.ceil((innerRaw ?? Math.floor((8 * n_embd) / 3)) / 256) * 256,
    activation_function: 'swiglu',
    layer_norm_epsilon: f.optional('layer_norm_epsilon', 1e-5, positiveNumber, 'a positive number'),
    type_vocab_size: f.index('type_vocab_size', 2),
    rotary_emb_base: f.optional('rotary_emb_base', 10000, positiveNumber, 'a positive number'),
    n_positions: f.optional(pick('n_positions', 'max_position_embeddings'), 1024, positiveInt, 'a positive integer'),
    max_trained_positions: f.optional('max_trained_positions', 2048, positiveInt, 'a positive integer'),
    qkv_proj_bias: f.bool('qkv_proj_bias', true),
    mlp_fc1_bias: f.bool('mlp_fc1_bias', true),
    mlp_fc2_bias: f.bool('mlp_fc2_bias', true),
  };
  f.checkMatryoshka(cfg.matryoshka_dimensions, n_embd);
  return cfg;
}
