// BertConfig / RobertaConfig / XLMRobertaConfig (transformers' configuration_bert.py and
// configuration_roberta.py): absolute positions only, RoBERTa's position offset from the architecture.

import { ModelLoadError } from '../../gpu/errors';
import type { Architecture } from '../config';
import { parseSizes, type CommonConfig, type TransformerSizes } from './common';
import { positiveInt, positiveNumber, type Fields } from './fields';

export type BertActivation = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';
const BERT_ACTIVATIONS: readonly BertActivation[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'];

export interface BertConfig extends CommonConfig, TransformerSizes {
  family: 'bert';
  model_type: 'bert' | 'roberta' | 'xlm-roberta';
  architecture: Extract<Architecture, `Bert${string}` | `Roberta${string}` | `XLMRoberta${string}`>;
  hidden_act: BertActivation;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  pad_token_id: number;
  position_embedding_type: 'absolute';
  /**
   * (XLM-)RoBERTa position ids: cumsum(ids != pad) * (ids != pad) + pad_token_id, so real tokens
   * start at pad_token_id + 1. Follows the architecture (the modeling class), else model_type.
   */
  roberta_position_ids: boolean;
}

export function parseBert(f: Fields, common: CommonConfig): BertConfig {
  const positionType = f.optional('position_embedding_type', 'absolute', (v) => (typeof v === 'string' ? v : undefined), 'a string');
  if (positionType !== 'absolute') {
    throw new ModelLoadError(`${f.where}: position_embedding_type "${positionType}" is not supported (only "absolute")`);
  }
  if (f.raw.is_decoder === true) throw new ModelLoadError(`${f.where}: is_decoder true (causal BERT) is not supported`);
  const sizes = parseSizes(f);
  const { hidden_size, num_attention_heads, vocab_size } = sizes;
  f.checkHeads(hidden_size, num_attention_heads, false);
  // The architecture defaults to the model_type's base model, so this follows model_type when architectures is absent.
  const isRoberta = common.architecture.includes('Roberta');
  const hidden_act = f.optional('hidden_act', 'gelu' as BertActivation, (v) => (BERT_ACTIVATIONS.includes(v as BertActivation) ? (v as BertActivation) : undefined),
    `one of ${BERT_ACTIVATIONS.join(', ')}`);
  const pad_token_id = f.index('pad_token_id', isRoberta ? 1 : 0, vocab_size);
  const max_position_embeddings = f.optional('max_position_embeddings', 512, positiveInt, 'a positive integer');
  if (isRoberta && max_position_embeddings <= pad_token_id + 1) {
    throw new ModelLoadError(`${f.where}: max_position_embeddings ${max_position_embeddings} leaves no positions after the RoBERTa offset pad_token_id + 1 = ${pad_token_id + 1}`);
  }
  const cfg: BertConfig = {
    ...common,
    family: 'bert',
    model_type: common.model_type as BertConfig['model_type'],
    architecture: common.architecture as BertConfig['architecture'],
    ...sizes,
    hidden_act,
    max_position_embeddings,
    type_vocab_size: f.optional('type_vocab_size', 2, positiveInt, 'a positive integer'),
    layer_norm_eps: f.optional('layer_norm_eps', 1e-12, positiveNumber, 'a positive number'),
    pad_token_id,
    position_embedding_type: 'absolute',
    roberta_position_ids: isRoberta,
  };
  f.checkMatryoshka(cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}
