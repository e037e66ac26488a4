// The task surface of an engine, as the HTTP layer, the Web Worker client and pages see it.
// Semantics follow vLLM's pooling tasks (DESIGN.md §4); names are camelCase in JS and snake_case on
// the wire.

import type { BackendInfo } from '../backend';
import type { DtypeInfo } from '../gpu/weight_dtype';
import type { MatmulChoice } from '../gpu/autotune';
import type { AdapterReport } from '../gpu/device';
import type { PoolMode } from '../kernels/pool';
import type { TruncationSide } from '../tokenizer/tokenizer';

export type Task = 'embed' | 'classify' | 'score' | 'token_embed' | 'token_classify';

export interface Usage {
  promptTokens: number;
  totalTokens: number;
}

/** Per-request timing and batching, as TEI reports it. */
export interface RequestMetadata {
  queueMs: number;
  tokenizeMs: number;
  inferenceMs: number;
  /** Batches this request's inputs ran in. */
  batches: number;
  /** Sequences in the largest of those batches. */
  batchSize: number;
}

/**
 * A pre-tokenized input (vLLM's `input: list[int]`): the ids are the model input as they are — no
 * special tokens added, no prompt prepended, no lower-casing — only checked against the model's
 * tables and truncated by `truncatePromptTokens`.
 */
export interface TokenIds {
  ids: number[];
}

/** One input: text, or token ids. */
export type Input = string | TokenIds;

/** Options every task takes. */
export interface CommonOptions {
  /** Add the tokenizer's special tokens to text inputs ([CLS] … [SEP], <|endoftext|>). Default true. */
  addSpecialTokens?: boolean;
  /** -1: truncate to the model's max length; k > 0: keep k tokens. Unset: too-long inputs are an error. */
  truncatePromptTokens?: number;
  truncationSide?: TruncationSide;
  /** Lower runs first (vLLM); default 0. */
  priority?: number;
  signal?: AbortSignal;
}

export type EncodingFormat = 'float' | 'base64' | 'binary' | 'ubinary';

export interface EmbedOptions extends CommonOptions {
  /** Matryoshka output size (only for models that declare support). */
  dimensions?: number;
  /** L2-normalize (default true, vLLM). `normalize` is the familiar alias. */
  useActivation?: boolean;
  normalize?: boolean;
  /** Pooling mode for this request only. */
  pooling?: PoolMode;
  /** Name of a prompt in config_sentence_transformers.json (e.g. "query"). */
  promptName?: string;
  /** A literal prompt prepended to every input. */
  prompt?: string;
  /**
   * 'float' (default): Float32Array. 'base64': little-endian float32 bytes, base64 (OpenAI / vLLM).
   * 'ubinary' / 'binary': sign bits packed 8 per byte, MSB first (sentence-transformers quantize);
   * ubinary as Uint8Array, binary as Int8Array (ubinary − 128). Packed on the GPU.
   */
  encodingFormat?: EncodingFormat;
}

/** The type of one embedding for each encoding format. */
export type EmbeddingFor<F extends EncodingFormat> = F extends 'base64' ? string : F extends 'ubinary' ? Uint8Array : F extends 'binary' ? Int8Array : Float32Array;

export interface EmbedResult<E = Float32Array> {
  embeddings: E[];
  usage: Usage;
  metadata?: RequestMetadata;
}

export interface ClassifyOptions extends CommonOptions {
  /** Apply softmax / sigmoid (default true); false returns raw logits. */
  useActivation?: boolean;
}

export interface ClassifyItem {
  index: number;
  /** id2label of the argmax. */
  label: string;
  /** Probabilities (or logits with useActivation: false), one per class. */
  probs: number[];
  numClasses: number;
}

export interface ClassifyResult {
  data: ClassifyItem[];
  usage: Usage;
  metadata?: RequestMetadata;
}

export interface ScoreOptions extends CommonOptions {
  useActivation?: boolean;
  /** Score every a against every b (N×M) instead of 1→N / N→N zipped pairing. */
  matrix?: boolean;
  /** Keep at most this many text tokens of each query (special tokens not counted) — vLLM max_tokens_per_query. */
  maxTokensPerQuery?: number;
  /** Keep at most this many text tokens of each document — vLLM max_tokens_per_doc. */
  maxTokensPerDoc?: number;
}

export interface ScoreResult {
  /** Pairing 1→N and N→N: one score per pair, in order. */
  scores: number[];
  /** With `matrix: true`: scores[i][j] for a[i], b[j]. */
  matrix?: number[][];
  usage: Usage;
  metadata?: RequestMetadata;
}

export interface RerankOptions extends ScoreOptions {
  /** Keep only the best n (default: all). */
  topN?: number;
  returnDocuments?: boolean;
}

export interface RerankItem {
  index: number;
  relevanceScore: number;
  document?: string;
}

export interface RerankResult {
  results: RerankItem[];
  usage: Usage;
  metadata?: RequestMetadata;
}

export interface TokenOptions extends CommonOptions {
  task: 'token_embed' | 'token_classify';
  dimensions?: number;
  useActivation?: boolean;
  promptName?: string;
  prompt?: string;
}

export interface TokenResult {
  /** Per input, one row per real token (special tokens included): vectors or class probabilities. */
  data: Float32Array[][];
  usage: Usage;
  metadata?: RequestMetadata;
}

export interface TokenizeResult {
  tokens: number[];
  count: number;
  maxModelLen: number;
  tokenStrs?: string[];
}

/** One chat message as OpenAI / vLLM send it: content is a string or a list of text parts. */
export interface ChatMessage {
  role: string;
  content?: string | { type: string; text?: string }[] | null;
  [key: string]: unknown;
}

export interface ChatOptions {
  /** Add the template's assistant header (vLLM default for pooling: false). */
  addGenerationPrompt?: boolean;
  /** Leave the last message open (no end-of-turn); excludes addGenerationPrompt. */
  continueFinalMessage?: boolean;
  /** A Jinja template for this request instead of the model's. */
  chatTemplate?: string;
  /** Extra variables the template sees. */
  chatTemplateKwargs?: Record<string, unknown>;
}

/** How `score` compares a pair, as vLLM decides it from the task the model is served for. */
export type ScoreType = 'bi-encoder' | 'cross-encoder' | 'late-interaction';

export interface EngineInfo {
  model: string;
  architecture: string;
  modelType: string;
  hiddenSize: number;
  /** Width of `embed` vectors: the last sentence-transformers Dense module's output, else hiddenSize. */
  embeddingSize: number;
  /** Longest input in tokens (special tokens included). */
  maxLength: number;
  /** Tasks this model serves. */
  tasks: Task[];
  pooling: PoolMode;
  normalize: boolean;
  poolingOrigin: 'sentence-transformers' | 'architecture-default' | 'engine-option';
  isMatryoshka: boolean;
  matryoshkaDimensions: number[] | null;
  prompts: Record<string, string>;
  defaultPromptName: string | null;
  numLabels: number;
  labels: string[];
  adapter: AdapterReport;
  /** How `score` compares pairs (absent: decided by tasks — cross-encoder with a classifier, else bi-encoder). */
  scoreType?: ScoreType;
  /** The task a server runs when a request does not name one (vLLM PoolerConfig.task). */
  defaultTask?: Task;
  /** The backend running the kernels (WebGPU or the WebAssembly CPU backend), and why. */
  backend: BackendInfo;
  /** The matmul variant and how it was chosen (timed trial at load, remembered, or the option). */
  matmul: MatmulChoice;
  /** The weights' storage dtype on the device (f16 or f32), what was asked, and why. */
  dtype: DtypeInfo;
}

/** What the HTTP handler and the worker client need from an engine. */
export interface EngineApi {
  readonly info: EngineInfo;
  embed<F extends EncodingFormat = 'float'>(input: Input | Input[], opts?: EmbedOptions & { encodingFormat?: F }): Promise<EmbedResult<EmbeddingFor<F>>>;
  classify(input: Input | Input[], opts?: ClassifyOptions): Promise<ClassifyResult>;
  score(a: string | string[], b: string | string[], opts?: ScoreOptions): Promise<ScoreResult>;
  rerank(query: string, documents: string[], opts?: RerankOptions): Promise<RerankResult>;
  encode(input: Input | Input[], opts: TokenOptions): Promise<TokenResult>;
  tokenize(text: string, opts?: { addSpecialTokens?: boolean; returnTokenStrs?: boolean }): TokenizeResult;
  detokenize(ids: number[]): string;
  /**
   * The prompt text a chat renders to with the model's chat template (or opts.chatTemplate). A model
   * without a template is a 400 with vLLM's wording. Optional: engines without a tokenizer config
   * at hand (the worker client) leave it out, and the HTTP layer refuses `messages` for them.
   */
  renderChat?(messages: ChatMessage[], opts?: ChatOptions): string;
  dispose(): Promise<void>;
}
