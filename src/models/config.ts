// config.json → a typed, validated model config. Field names stay those of config.json (and of the
// HF modeling code the model files mirror). Everything the runtime reads is checked here once, so a
// bad or unsupported model fails at load with a message naming the field, never as a wrong number
// later. Defaults are those of the HF config classes (BertConfig, RobertaConfig, Qwen3Config, Qwen2Config,
// LlamaConfig, DistilBertConfig; NomicBertConfig from its hub configuration file).

import { ModelLoadError } from '../gpu/errors';
import type { ModelSource } from '../loading/source';

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
export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';
export type BertActivation = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';
const BERT_ACTIVATIONS: readonly BertActivation[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'];

/** What every family has: identity, labels, and the sentence-transformers keys of config.json. */
export interface CommonConfig {
  model_type: ModelType;
  /** `architectures` as written in the file ([] when absent). */
  architectures: string[];
  /** The architecture that will be built: the first supported entry of `architectures`, else the family's base model. */
  architecture: Architecture;
  head: ModelHead;
  /** Label names by class index (HF's id2label, whose keys are "0", "1", …). */
  id2label: string[];
  label2id: Record<string, number>;
  num_labels: number;
  problem_type: ProblemType | null;
  /** sentence-transformers matryoshka: any output size 1..hidden may be asked for. */
  is_matryoshka: boolean;
  /** The only output sizes allowed, when the model lists them. */
  matryoshka_dimensions: number[] | null;
  /**
   * Cross-encoder activation class from sentence-transformers, e.g. "torch.nn.modules.activation.Sigmoid"
   * (`sentence_transformers.activation_fn`, or the older top-level `sbert_ce_default_activation_function`).
   */
  sentence_transformers: { activation_fn: string | null };
  torch_dtype: string | null;
  /** The parsed file, for keys this type does not model. */
  raw: Readonly<Record<string, unknown>>;
}

export interface BertConfig extends CommonConfig {
  family: 'bert';
  model_type: 'bert' | 'roberta' | 'xlm-roberta';
  architecture: Extract<Architecture, `Bert${string}` | `Roberta${string}` | `XLMRoberta${string}`>;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
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

/** Qwen3, Qwen2 and Llama: one pre-norm decoder, differing in biases, q/k norms and the mask. */
export interface DecoderConfig extends CommonConfig {
  family: 'qwen3' | 'qwen2' | 'llama' | 'mistral';
  model_type: 'qwen3' | 'qwen2' | 'llama' | 'mistral';
  architecture: Extract<Architecture, `Qwen3${string}` | `Qwen2${string}` | `Llama${string}` | `Mistral${string}`>;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
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


export interface ModernBertConfig extends CommonConfig {
  family: 'modernbert';
  model_type: 'modernbert';
  architecture: Extract<Architecture, `ModernBert${string}`>;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
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

export interface Gemma3Config extends CommonConfig {
  family: 'gemma3';
  model_type: 'gemma3_text';
  architecture: 'Gemma3TextModel';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
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

export interface MPNetConfig extends CommonConfig {
  family: 'mpnet';
  model_type: 'mpnet';
  architecture: Extract<Architecture, `MPNet${string}`>;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: 'gelu';
  /** Rows of the position table; positions start at padding_idx + 1 = 2 (padding_idx hard-coded 1). */
  max_position_embeddings: number;
  layer_norm_eps: number;
  /** Only sizes the bias table: HF always indexes 32 buckets. */
  relative_attention_num_buckets: number;
  pad_token_id: number;
}

export interface GteConfig extends CommonConfig {
  family: 'gte';
  model_type: 'new';
  architecture: 'NewModel';
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
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

  const common = parseCommon(f, modelType as ModelType, architectures, architecture);
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

function parseCommon(f: Fields, model_type: ModelType, architectures: string[], architecture: Architecture): CommonConfig {
  const labels = parseLabels(f);
  const st = f.optional('sentence_transformers', {} as Record<string, unknown>, (v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined, 'an object');
  const activation = st.activation_fn ?? f.raw.sbert_ce_default_activation_function ?? null;
  if (activation !== null && typeof activation !== 'string') {
    throw f.invalid('sentence_transformers.activation_fn', activation, 'a class name string');
  }
  const matryoshka_dimensions = f.optional('matryoshka_dimensions', null as number[] | null, (v) =>
    v === null ? null : Array.isArray(v) && v.length > 0 && v.every((d) => Number.isSafeInteger(d) && d > 0) ? (v as number[]) : undefined,
    'a non-empty list of positive integers');
  return {
    model_type,
    architectures,
    architecture,
    head: ARCHITECTURES[architecture].head,
    ...labels,
    is_matryoshka: f.optional('is_matryoshka', false, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false'),
    matryoshka_dimensions,
    sentence_transformers: { activation_fn: activation },
    torch_dtype: f.optional('torch_dtype', null as string | null, (v) => (typeof v === 'string' || v === null ? v : undefined), 'a string'),
    raw: f.raw,
  };
}

function parseLabels(f: Fields): Pick<CommonConfig, 'id2label' | 'label2id' | 'num_labels' | 'problem_type'> {
  let id2label: string[] | null = null;
  const raw = f.raw.id2label;
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) throw f.invalid('id2label', raw, 'an object like {"0": "negative", …}');
    const entries = Object.entries(raw as Record<string, unknown>);
    id2label = new Array<string>(entries.length);
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!/^\d+$/.test(k) || i >= entries.length || typeof v !== 'string') {
        throw f.invalid('id2label', raw, `keys "0".."${entries.length - 1}" with string labels`);
      }
      id2label[i] = v;
    }
  }
  const numLabels = f.optional('num_labels', null as number | null, (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined), 'a positive integer');
  if (id2label && numLabels !== null && numLabels !== id2label.length) {
    throw new ModelLoadError(`${f.where}: num_labels ${numLabels} does not match the ${id2label.length} labels of id2label`);
  }
  // HF's PretrainedConfig default is two labels, LABEL_0 and LABEL_1.
  const labels = id2label ?? Array.from({ length: numLabels ?? 2 }, (_, i) => `LABEL_${i}`);
  const label2id = f.optional('label2id', Object.fromEntries(labels.map((l, i) => [l, i])) as Record<string, number>, (v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((i) => Number.isSafeInteger(i) && i >= 0 && i < labels.length)
      ? (v as Record<string, number>)
      : undefined, `an object of label → index below ${labels.length}`);
  const problem_type = f.optional('problem_type', null as ProblemType | null, (v) =>
    v === null || v === 'regression' || v === 'single_label_classification' || v === 'multi_label_classification' ? (v as ProblemType | null) : undefined,
    'null, "regression", "single_label_classification" or "multi_label_classification"');
  return { id2label: labels, label2id, num_labels: labels.length, problem_type };
}

function parseBert(f: Fields, common: CommonConfig): BertConfig {
  const positionType = f.optional('position_embedding_type', 'absolute', (v) => (typeof v === 'string' ? v : undefined), 'a string');
  if (positionType !== 'absolute') {
    throw new ModelLoadError(`${f.where}: position_embedding_type "${positionType}" is not supported (only "absolute")`);
  }
  if (f.raw.is_decoder === true) throw new ModelLoadError(`${f.where}: is_decoder true (causal BERT) is not supported`);
  const hidden_size = f.positiveInt('hidden_size');
  const num_attention_heads = f.positiveInt('num_attention_heads');
  if (hidden_size % num_attention_heads !== 0) {
    throw new ModelLoadError(`${f.where}: hidden_size ${hidden_size} is not a multiple of num_attention_heads ${num_attention_heads}`);
  }
  const vocab_size = f.positiveInt('vocab_size');
  // The architecture defaults to the model_type's base model, so this follows model_type when architectures is absent.
  const isRoberta = common.architecture.includes('Roberta');
  const hidden_act = f.optional('hidden_act', 'gelu' as BertActivation, (v) => (BERT_ACTIVATIONS.includes(v as BertActivation) ? (v as BertActivation) : undefined),
    `one of ${BERT_ACTIVATIONS.join(', ')}`);
  const pad_token_id = f.optional('pad_token_id', isRoberta ? 1 : 0, (v) =>
    Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < vocab_size ? (v as number) : undefined, `an integer in [0, ${vocab_size})`);
  const max_position_embeddings = f.optional('max_position_embeddings', 512, positiveInt, 'a positive integer');
  if (isRoberta && max_position_embeddings <= pad_token_id + 1) {
    throw new ModelLoadError(`${f.where}: max_position_embeddings ${max_position_embeddings} leaves no positions after the RoBERTa offset pad_token_id + 1 = ${pad_token_id + 1}`);
  }
  const cfg: BertConfig = {
    ...common,
    family: 'bert',
    model_type: common.model_type as BertConfig['model_type'],
    architecture: common.architecture as BertConfig['architecture'],
    vocab_size,
    hidden_size,
    num_hidden_layers: f.positiveInt('num_hidden_layers'),
    num_attention_heads,
    intermediate_size: f.positiveInt('intermediate_size'),
    hidden_act,
    max_position_embeddings,
    type_vocab_size: f.optional('type_vocab_size', 2, positiveInt, 'a positive integer'),
    layer_norm_eps: f.optional('layer_norm_eps', 1e-12, positiveNumber, 'a positive number'),
    pad_token_id,
    position_embedding_type: 'absolute',
    roberta_position_ids: isRoberta,
  };
  checkMatryoshka(f, cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}

function parseDecoder(f: Fields, common: CommonConfig): DecoderConfig {
  const modelType = common.model_type as DecoderConfig['model_type'];
  const hidden_size = f.positiveInt('hidden_size');
  const num_attention_heads = f.positiveInt('num_attention_heads');
  const num_key_value_heads = f.optional('num_key_value_heads', num_attention_heads, positiveInt, 'a positive integer');
  if (num_attention_heads % num_key_value_heads !== 0) {
    throw new ModelLoadError(`${f.where}: num_attention_heads ${num_attention_heads} is not a multiple of num_key_value_heads ${num_key_value_heads}`);
  }
  const defaultHeadDim = Math.floor(hidden_size / num_attention_heads);
  const head_dim = f.optional('head_dim', defaultHeadDim, (v) => (v === null ? defaultHeadDim : positiveInt(v)), 'a positive integer');
  if (head_dim % 2 !== 0) throw new ModelLoadError(`${f.where}: head_dim ${head_dim} must be even for rotary embeddings`);
  const hidden_act = f.raw.hidden_act ?? 'silu';
  if (hidden_act !== 'silu') throw f.invalid('hidden_act', hidden_act, '"silu"');
  if (f.raw.rope_scaling !== undefined && f.raw.rope_scaling !== null) {
    throw new ModelLoadError(`${f.where}: rope_scaling ${JSON.stringify(f.raw.rope_scaling)} is not supported (only null)`);
  }
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
  const num_hidden_layers = f.positiveInt('num_hidden_layers');
  if (modelType === 'qwen2') {
    // Qwen2Config: layers i ≥ max_window_layers slide, and only with use_sliding_window (explicit layer_types win).
    const types = f.raw.layer_types;
    const mwl = f.optional('max_window_layers', 28, (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined), 'a non-negative integer');
    const slides = Array.isArray(types) ? types.includes('sliding_attention') : f.raw.use_sliding_window === true && mwl < num_hidden_layers;
    if (slides) throw new ModelLoadError(`${f.where}: sliding-window layers (use_sliding_window / layer_types) are not supported for qwen2`);
  } else if (f.raw.use_sliding_window === true) {
    throw new ModelLoadError(`${f.where}: use_sliding_window true is not supported (sliding-window attention)`);
  }
  if (modelType === 'qwen3' && f.raw.attention_bias === true) {
    throw new ModelLoadError(`${f.where}: attention_bias true is not supported (Qwen3 projections have no biases)`);
  }
  const bool = (key: string, fallback: boolean) => f.optional(key, fallback, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false');
  const llamaBias = modelType === 'llama' && bool('attention_bias', false);
  const vocab_size = f.positiveInt('vocab_size');
  const cfg: DecoderConfig = {
    ...common,
    family: modelType,
    model_type: modelType,
    architecture: common.architecture as DecoderConfig['architecture'],
    vocab_size,
    hidden_size,
    intermediate_size: f.positiveInt('intermediate_size'),
    num_hidden_layers,
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    hidden_act: 'silu',
    rms_norm_eps: f.optional('rms_norm_eps', 1e-6, positiveNumber, 'a positive number'),
    rope_theta,
    rope_scaling: null,
    max_position_embeddings: f.optional('max_position_embeddings', 32768, positiveInt, 'a positive integer'),
    tie_word_embeddings: f.optional('tie_word_embeddings', false, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false'),
    pad_token_id: f.optional('pad_token_id', null as number | null, (v) =>
      v === null ? null : Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < vocab_size ? (v as number) : undefined,
      `null or an integer in [0, ${vocab_size})`),
    sliding_window: modelType === 'mistral' ? f.optional('sliding_window', null as number | null, (v) => (v === null ? null : positiveInt(v)), 'null or a positive integer') : null,
    qkv_bias: modelType === 'qwen2' || llamaBias,
    o_bias: llamaBias,
    mlp_bias: modelType === 'llama' && bool('mlp_bias', false),
    qk_norm: modelType === 'qwen3',
    is_causal: bool('is_causal', true),
  };
  checkMatryoshka(f, cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}

function parseDistilBert(f: Fields, common: CommonConfig): DistilBertConfig {
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
    pad_token_id: f.optional('pad_token_id', 0, (v) => (Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < vocab_size ? (v as number) : undefined), `an integer in [0, ${vocab_size})`),
    sinusoidal_pos_embds: f.optional('sinusoidal_pos_embds', false, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false'),
  };
  checkMatryoshka(f, cfg.matryoshka_dimensions, dim);
  return cfg;
}

function parseNomicBert(f: Fields, common: CommonConfig): NomicBertConfig {
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
  const innerRaw = f.optional(pick('n_inner', 'intermediate_size'), null as number | null, (v) => (v === null ? null : positiveInt(v)), 'a positive integer');
  const multiple = f.optional('pad_vocab_size_multiple', 1, positiveInt, 'a positive integer');
  const vocab = f.positiveInt('vocab_size');
  const bool = (key: string, fallback: boolean) => f.optional(key, fallback, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false');
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
    type_vocab_size: f.optional('type_vocab_size', 2, (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined), 'a non-negative integer'),
    rotary_emb_base: f.optional('rotary_emb_base', 10000, positiveNumber, 'a positive number'),
    n_positions: f.optional(pick('n_positions', 'max_position_embeddings'), 1024, positiveInt, 'a positive integer'),
    max_trained_positions: f.optional('max_trained_positions', 2048, positiveInt, 'a positive integer'),
    qkv_proj_bias: bool('qkv_proj_bias', true),
    mlp_fc1_bias: bool('mlp_fc1_bias', true),
    mlp_fc2_bias: bool('mlp_fc2_bias', true),
  };
  checkMatryoshka(f, cfg.matryoshka_dimensions, n_embd);
  return cfg;
}

function parseModernBert(f: Fields, common: CommonConfig): ModernBertConfig {
  const hidden_size = f.positiveInt('hidden_size');
  const num_attention_heads = f.positiveInt('num_attention_heads');
  if (hidden_size % num_attention_heads !== 0 || (hidden_size / num_attention_heads) % 2 !== 0) {
    throw new ModelLoadError(`${f.where}: hidden_size ${hidden_size} must split into num_attention_heads ${num_attention_heads} heads of even width (rotary embeddings)`);
  }
  const acts = ['gelu', 'gelu_pytorch_tanh'] as const;
  const act = (key: string) => f.optional(key, 'gelu' as (typeof acts)[number], (v) => (acts.includes(v as never) ? (v as (typeof acts)[number]) : undefined), `one of ${acts.join(', ')}`);
  const bool = (key: string, fallback: boolean) => f.optional(key, fallback, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false');
  // transformers ≥ 5 writes the two thetas inside rope_parameters, keyed by layer type.
  let global_rope_theta = f.optional('global_rope_theta', 160000, positiveNumber, 'a positive number');
  let local_rope_theta = f.optional('local_rope_theta', null as number | null, (v) => (v === null ? null : positiveNumber(v)), 'a positive number') ?? global_rope_theta;
  const rp = f.raw.rope_parameters as Record<string, { rope_type?: unknown; rope_theta?: unknown }> | undefined | null;
  if (rp && typeof rp === 'object' && 'full_attention' in rp) {
    for (const t of ['full_attention', 'sliding_attention']) {
      const p = rp[t];
      if (!p || (p.rope_type !== undefined && p.rope_type !== 'default') || positiveNumber(p.rope_theta) === undefined) {
        throw new ModelLoadError(`${f.where}: rope_parameters ${JSON.stringify(rp)} is not supported (rope_type "default" with a rope_theta per layer type)`);
      }
    }
    global_rope_theta = rp.full_attention.rope_theta as number;
    local_rope_theta = rp.sliding_attention.rope_theta as number;
  } else if (f.raw.rope_scaling !== undefined && f.raw.rope_scaling !== null) {
    throw new ModelLoadError(`${f.where}: rope_scaling ${JSON.stringify(f.raw.rope_scaling)} is not supported (only null)`);
  }
  const every = f.optional('global_attn_every_n_layers', 3, positiveInt, 'a positive integer');
  const num_hidden_layers = f.positiveInt('num_hidden_layers');
  const types = f.raw.layer_types;
  if (Array.isArray(types) && (types.length !== num_hidden_layers || types.some((t, i) => (t === 'sliding_attention') !== (i % every !== 0)))) {
    throw new ModelLoadError(`${f.where}: layer_types ${JSON.stringify(types)} disagree with global_attn_every_n_layers ${every}`);
  }
  const vocab_size = f.positiveInt('vocab_size');
  const cfg: ModernBertConfig = {
    ...common,
    family: 'modernbert',
    model_type: 'modernbert',
    architecture: common.architecture as ModernBertConfig['architecture'],
    vocab_size,
    hidden_size,
    intermediate_size: f.positiveInt('intermediate_size'),
    num_hidden_layers,
    num_attention_heads,
    hidden_activation: act('hidden_activation'),
    classifier_activation: act('classifier_activation'),
    norm_eps: f.optional('norm_eps', 1e-5, positiveNumber, 'a positive number'),
    norm_bias: bool('norm_bias', false),
    attention_bias: bool('attention_bias', false),
    mlp_bias: bool('mlp_bias', false),
    classifier_bias: bool('classifier_bias', false),
    classifier_pooling: f.optional('classifier_pooling', 'cls' as 'cls' | 'mean', (v) => (v === 'cls' || v === 'mean' ? v : undefined), '"cls" or "mean"'),
    global_attn_every_n_layers: every,
    local_attention: f.optional('local_attention', 128, positiveInt, 'a positive integer'),
    global_rope_theta,
    local_rope_theta,
    max_position_embeddings: f.optional('max_position_embeddings', 8192, positiveInt, 'a positive integer'),
    pad_token_id: f.optional('pad_token_id', null as number | null, (v) => (v === null ? null : Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined), 'null or a non-negative integer'),
  };
  checkMatryoshka(f, cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}

function parseGemma3(f: Fields, common: CommonConfig): Gemma3Config {
  const hidden_size = f.positiveInt('hidden_size');
  const num_attention_heads = f.positiveInt('num_attention_heads');
  const num_key_value_heads = f.optional('num_key_value_heads', 4, positiveInt, 'a positive integer');
  if (num_attention_heads % num_key_value_heads !== 0) {
    throw new ModelLoadError(`${f.where}: num_attention_heads ${num_attention_heads} is not a multiple of num_key_value_heads ${num_key_value_heads}`);
  }
  const head_dim = f.optional('head_dim', 256, positiveInt, 'a positive integer');
  if (head_dim % 2 !== 0) throw new ModelLoadError(`${f.where}: head_dim ${head_dim} must be even for rotary embeddings`);
  const act = f.raw.hidden_activation ?? f.raw.hidden_act ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh') throw f.invalid('hidden_activation', act, '"gelu_pytorch_tanh"');
  if (f.raw.attention_bias === true) throw new ModelLoadError(`${f.where}: attention_bias true is not supported (Gemma 3 projections have no biases)`);
  if (f.raw.attn_logit_softcapping !== undefined && f.raw.attn_logit_softcapping !== null) {
    // HF's Gemma3 attention never applies it either; refuse rather than guess which one a checkpoint expects.
    throw new ModelLoadError(`${f.where}: attn_logit_softcapping ${JSON.stringify(f.raw.attn_logit_softcapping)} is not supported (only null)`);
  }
  const num_hidden_layers = f.positiveInt('num_hidden_layers');
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
  const rp = f.raw.rope_parameters as Record<string, { rope_type?: unknown; rope_theta?: unknown }> | undefined | null;
  if (rp && typeof rp === 'object' && ('full_attention' in rp || 'sliding_attention' in rp)) {
    for (const [t, p] of Object.entries(rp)) {
      if (!p || (p.rope_type !== undefined && p.rope_type !== 'default') || positiveNumber(p.rope_theta) === undefined) {
        throw new ModelLoadError(`${f.where}: rope_parameters ${JSON.stringify(rp)} is not supported (rope_type "default" with a rope_theta per layer type)`);
      }
      if (t === 'full_attention') rope_theta = p.rope_theta as number;
      if (t === 'sliding_attention') rope_local_base_freq = p.rope_theta as number;
    }
  }
  const vocab_size = f.positiveInt('vocab_size');
  const cfg: Gemma3Config = {
    ...common,
    family: 'gemma3',
    model_type: 'gemma3_text',
    architecture: 'Gemma3TextModel',
    vocab_size,
    hidden_size,
    intermediate_size: f.positiveInt('intermediate_size'),
    num_hidden_layers,
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    query_pre_attn_scalar: f.optional('query_pre_attn_scalar', 256, positiveNumber, 'a positive number'),
    hidden_activation: 'gelu_pytorch_tanh',
    rms_norm_eps: f.optional('rms_norm_eps', 1e-6, positiveNumber, 'a positive number'),
    layer_types,
    rope_theta,
    rope_local_base_freq,
    sliding_window: f.optional('sliding_window', 4096, positiveInt, 'a positive integer'),
    use_bidirectional_attention: f.optional('use_bidirectional_attention', false, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false'),
    max_position_embeddings: f.optional('max_position_embeddings', 131072, positiveInt, 'a positive integer'),
    pad_token_id: f.optional('pad_token_id', null as number | null, (v) => (v === null ? null : Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined), 'null or a non-negative integer'),
  };
  checkMatryoshka(f, cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}

function parseMPNet(f: Fields, common: CommonConfig): MPNetConfig {
  const hidden_size = f.positiveInt('hidden_size');
  const num_attention_heads = f.positiveInt('num_attention_heads');
  if (hidden_size % num_attention_heads !== 0) {
    throw new ModelLoadError(`${f.where}: hidden_size ${hidden_size} is not a multiple of num_attention_heads ${num_attention_heads}`);
  }
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
    vocab_size: f.positiveInt('vocab_size'),
    hidden_size,
    num_hidden_layers: f.positiveInt('num_hidden_layers'),
    num_attention_heads,
    intermediate_size: f.positiveInt('intermediate_size'),
    hidden_act: 'gelu',
    max_position_embeddings,
    layer_norm_eps: f.optional('layer_norm_eps', 1e-12, positiveNumber, 'a positive number'),
    relative_attention_num_buckets: buckets,
    pad_token_id: f.optional('pad_token_id', 1, (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined), 'a non-negative integer'),
  };
  checkMatryoshka(f, cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}

function parseGte(f: Fields, common: CommonConfig): GteConfig {
  const hidden_size = f.positiveInt('hidden_size');
  const num_attention_heads = f.positiveInt('num_attention_heads');
  if (hidden_size % num_attention_heads !== 0 || (hidden_size / num_attention_heads) % 2 !== 0) {
    throw new ModelLoadError(`${f.where}: hidden_size ${hidden_size} must split into num_attention_heads ${num_attention_heads} heads of even width (rotary embeddings)`);
  }
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
    vocab_size: f.positiveInt('vocab_size'),
    hidden_size,
    num_hidden_layers: f.positiveInt('num_hidden_layers'),
    num_attention_heads,
    intermediate_size: f.positiveInt('intermediate_size'),
    hidden_act: 'gelu',
    layer_norm_eps: f.optional('layer_norm_eps', 1e-12, positiveNumber, 'a positive number'),
    type_vocab_size: f.optional('type_vocab_size', 1, (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined), 'a non-negative integer'),
    rope_theta: f.optional('rope_theta', 10000, positiveNumber, 'a positive number'),
    rope_scaling,
    pack_qkv: f.optional('pack_qkv', true, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false'),
    max_position_embeddings: f.optional('max_position_embeddings', 2048, positiveInt, 'a positive integer'),
  };
  checkMatryoshka(f, cfg.matryoshka_dimensions, hidden_size);
  return cfg;
}

function checkMatryoshka(f: Fields, dims: number[] | null, hidden: number): void {
  const bad = dims?.find((d) => d > hidden);
  if (bad !== undefined) throw new ModelLoadError(`${f.where}: matryoshka_dimensions entry ${bad} exceeds hidden_size ${hidden}`);
}

function positiveInt(v: unknown): number | undefined {
  return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined;
}

function positiveNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Field access with messages that name the field, the bad value and what was expected. */
class Fields {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly where: string,
  ) {}

  invalid(key: string, value: unknown, expected: string): ModelLoadError {
    return new ModelLoadError(`${this.where}: "${key}" must be ${expected}, got ${JSON.stringify(value)}`);
  }

  positiveInt(key: string): number {
    const v = this.raw[key];
    if (v === undefined || v === null) throw new ModelLoadError(`${this.where}: required field "${key}" is missing`);
    const n = positiveInt(v);
    if (n === undefined) throw this.invalid(key, v, 'a positive integer');
    return n;
  }

  /** The field through `check` (undefined = invalid), or `fallback` when absent. */
  optional<T>(key: string, fallback: T, check: (v: unknown) => T | undefined, expected: string): T {
    const v = this.raw[key];
    if (v === undefined) return fallback;
    const out = check(v);
    if (out === undefined) throw this.invalid(key, v, expected);
    return out;
  }
}
