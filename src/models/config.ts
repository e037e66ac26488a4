// config.json → a typed, validated model config. Field names stay those of config.json (and of the
// HF modeling code the model files mirror). Everything the runtime reads is checked once, so a bad or
// unsupported model fails at load with a message naming the field, never as a wrong number later.
// This file decides which architecture a config.json names; configs/<family>.ts parses that family's
// fields with the defaults of its HF config class (configs/fields.ts: the shared checks).

import { ModelLoadError } from '../gpu/errors';
import type { ModelSource } from '../loading/source';
import { parseBert, type BertConfig } from './configs/bert';
import { parseCommon } from './configs/common';
import { parseDecoder, type DecoderConfig } from './configs/decoder';
import { parseDistilBert, type DistilBertConfig } from './configs/distilbert';
import { Fields } from './configs/fields';
import { parseGemma3, type Gemma3Config } from './configs/gemma3';
import { parseGte, type GteConfig } from './configs/gte';
import { parseModernBert, type ModernBertConfig } from './configs/modernbert';
import { parseMPNet, type MPNetConfig } from './configs/mpnet';
import { parseNomicBert, type NomicBertConfig } from './configs/nomic_bert';

export type { CommonConfig, ProblemType } from './configs/common';
export type { BertActivation, BertConfig } from './configs/bert';
export type { DecoderConfig, Qwen3Config } from './configs/decoder';
export type { DistilBertConfig } from './configs/distilbert';
export type { Gemma3Config } from './configs/gemma3';
export type { GteConfig } from './configs/gte';
export type { ModernBertConfig } from './configs/modernbert';
export type { MPNetConfig } from './configs/mpnet';
export type { NomicBertConfig } from './configs/nomic_bert';

/** Architectures (config.json `architectures`) this runtime can build, with their family and head. */
const ARCHITECTURES = {
  BertModel: { family: 'bert', head: 'base' },
  BertForSequenceClassification: { family: 'bert', head: 'sequence-classification' },
  BertForTokenClassification: { family: 'bert', head: 'token-classification' },
  RobertaModel: { family: 'bert', head: 'base' },
  XLMRobertaModel: { family: 'bert', head: 'base' },
  RobertaForSequenceClassification: { family: 'bert', head: 'sequence-classification' },
  XLMRobertaForSequenceClassification: { family: 'bert', head: 'sequence-classification' },
  Qwen3Model: { family: 'qwen3', head: 'base' },
  Qwen3ForSequenceClassification: { family: 'qwen3', head: 'sequence-classification' },
  // Qwen3-Embedding checkpoints name the causal LM; as a pooling model only its base model runs.
  Qwen3ForCausalLM: { family: 'qwen3', head: 'causal-lm' },
  DistilBertModel: { family: 'distilbert', head: 'base' },
  DistilBertForSequenceClassification: { family: 'distilbert', head: 'sequence-classification' },
  Qwen2Model: { family: 'qwen2', head: 'base' },
  Qwen2ForSequenceClassification: { family: 'qwen2', head: 'sequence-classification' },
  // gte-Qwen2 ships "Qwen2ForCausalLM" with `model.`-prefixed keys; its lm_head is unused.
  Qwen2ForCausalLM: { family: 'qwen2', head: 'causal-lm' },
  LlamaModel: { family: 'llama', head: 'base' },
  LlamaForSequenceClassification: { family: 'llama', head: 'sequence-classification' },
  // trust_remote_code (nomic-embed-text): registered by its config alone, no repository code runs.
  NomicBertModel: { family: 'nomic_bert', head: 'base' },
  ModernBertModel: { family: 'modernbert', head: 'base' },
  ModernBertForSequenceClassification: { family: 'modernbert', head: 'sequence-classification' },
  MistralModel: { family: 'mistral', head: 'base' },
  // e5-mistral's config names the causal LM; as a pooling model only its base model runs.
  MistralForCausalLM: { family: 'mistral', head: 'causal-lm' },
  Gemma3TextModel: { family: 'gemma3', head: 'base' },
  MPNetModel: { family: 'mpnet', head: 'base' },
  // all-mpnet-base-v2's config names the masked LM; sentence-transformers runs its inner encoder (lm_head unused).
  MPNetForMaskedLM: { family: 'mpnet', head: 'base' },
  // GTE v1.5's trust_remote_code model, built from its config alone (no repository code runs).
  NewModel: { family: 'gte', head: 'base' },
} as const satisfies Record<string, { family: ModelFamily; head: ModelHead }>;

export type Architecture = keyof typeof ARCHITECTURES;
export const SUPPORTED_ARCHITECTURES = Object.keys(ARCHITECTURES) as Architecture[];

const MODEL_TYPES = {
  bert: 'bert', roberta: 'bert', 'xlm-roberta': 'bert', qwen3: 'qwen3',
  distilbert: 'distilbert', qwen2: 'qwen2', llama: 'llama', nomic_bert: 'nomic_bert',
  modernbert: 'modernbert', mistral: 'mistral', gemma3_text: 'gemma3', mpnet: 'mpnet', new: 'gte',
} as const;
export type ModelType = keyof typeof MODEL_TYPES;
export const SUPPORTED_MODEL_TYPES = Object.keys(MODEL_TYPES) as ModelType[];

export type ModelFamily = 'bert' | 'qwen3' | 'distilbert' | 'qwen2' | 'llama' | 'nomic_bert' | 'modernbert' | 'mistral' | 'gemma3' | 'mpnet' | 'gte';

/** The architecture built when config.json lists none: the model type's base model. */
const BASE_ARCHITECTURE: Record<ModelType, Architecture> = {
  bert: 'BertModel', roberta: 'RobertaModel', 'xlm-roberta': 'XLMRobertaModel', qwen3: 'Qwen3Model',
  distilbert: 'DistilBertModel', qwen2: 'Qwen2Model', llama: 'LlamaModel', nomic_bert: 'NomicBertModel',
  modernbert: 'ModernBertModel', mistral: 'MistralModel', gemma3_text: 'Gemma3TextModel', mpnet: 'MPNetModel', new: 'NewModel',
};

/** Decoder families (pre-norm RMSNorm + RoPE + SwiGLU, src/models/decoder.ts; Mistral adds a causal window): last-token pooling by default. */
export const DECODER_FAMILIES: readonly ModelFamily[] = ['qwen3', 'qwen2', 'llama', 'mistral'];
/** What sits on top of the base model: nothing, a sequence/token classifier, or an LM head (unused). */
export type ModelHead = 'base' | 'sequence-classification' | 'token-classification' | 'causal-lm';

export type ModelConfig =
  | BertConfig | DecoderConfig | DistilBertConfig | NomicBertConfig
  | ModernBertConfig | Gemma3Config | MPNetConfig | GteConfig;

/** Rows of the token-type table the tokenizer's type ids index, or 0 when the model takes none. */
export function typeVocabSize(config: ModelConfig): number {
  return config.family === 'bert' || config.family === 'nomic_bert' || config.family === 'gte' ? config.type_vocab_size : 0;
}

/** Read and parse `config.json` of a model. */
export async function loadModelConfig(source: ModelSource, signal?: AbortSignal): Promise<ModelConfig> {
  return parseModelConfig(await source.json('config.json', signal), source.id);
}

/**
 * Validate a parsed config.json. `sourceId` names the model in messages. Refuses unknown model types
 * and architectures by name, listing the supported ones, and unsupported variants (relative position
 * embeddings, RoPE scaling, sliding windows, attention biases) rather than running them wrong.
 */
export function parseModelConfig(json: unknown, sourceId: string): ModelConfig {
  const where = `config.json of model "${sourceId}"`;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelLoadError(`${where} is not a JSON object`);
  }
  const f = new Fields(json as Record<string, unknown>, where);

  const modelType = f.raw.model_type;
  if (typeof modelType !== 'string' || modelType === '') {
    throw new ModelLoadError(`${where} has no "model_type" (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
  if (!Object.hasOwn(MODEL_TYPES, modelType)) {
    throw new ModelLoadError(`Model "${sourceId}": model_type "${modelType}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
  const family = MODEL_TYPES[modelType as ModelType];

  const architectures = f.optional('architectures', [] as string[], (v) =>
    Array.isArray(v) && v.every((a) => typeof a === 'string') ? (v as string[]) : undefined, 'a list of strings');
  const supported = architectures.filter((a): a is Architecture => Object.hasOwn(ARCHITECTURES, a));
  if (architectures.length > 0 && supported.length === 0) {
    throw new ModelLoadError(
      `Model "${sourceId}": architecture ${architectures.map((a) => `"${a}"`).join(', ')} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`,
    );
  }
  const architecture: Architecture = supported[0] ?? BASE_ARCHITECTURE[modelType as ModelType];
  if (ARCHITECTURES[architecture].family !== family) {
    throw new ModelLoadError(`Model "${sourceId}": architecture "${architecture}" does not match model_type "${modelType}"`);
  }

  const common = parseCommon(f, modelType as ModelType, architectures, architecture, ARCHITECTURES[architecture].head);
  switch (family) {
    case 'bert':
      return parseBert(f, common);
    case 'distilbert':
      return parseDistilBert(f, common);
    case 'nomic_bert':
      return parseNomicBert(f, common);
    case 'modernbert':
      return parseModernBert(f, common);
    case 'gemma3':
      return parseGemma3(f, common);
    case 'mpnet':
      return parseMPNet(f, common);
    case 'gte':
      return parseGte(f, common);
    default:
      return parseDecoder(f, common);
  }
}
