// The task surface of an engine, as the HTTP layer, the Web Worker client and pages see it.
// Semantics follow vLLM's pooling tasks (DESIGN.md §4); names are camelCase in JS and snake_case on
// the wire.

import type { BackendInfo } from '../backend';
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

/** Options every task takes. */
export interface CommonOptions {
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
  /** The backend running the kernels (WebGPU or the WebAssembly CPU backend), and why. */
  backend: BackendInfo;
}

/** What the HTTP handler and the worker client need from an engine. */
export interface EngineApi {
  readonly info: EngineInfo;
  embed<F extends EncodingFormat = 'float'>(input: string | string[], opts?: EmbedOptions & { encodingFormat?: F }): Promise<EmbedResult<EmbeddingFor<F>>>;
  classify(input: string | string[], opts?: ClassifyOptions): Promise<ClassifyResult>;
  score(a: string | string[], b: string | string[], opts?: ScoreOptions): Promise<ScoreResult>;
  rerank(query: string, documents: string[], opts?: RerankOptions): Promise<RerankResult>;
  encode(input: string | string[], opts: TokenOptions): Promise<TokenResult>;
  tokenize(text: string, opts?: { addSpecialTokens?: boolean; returnTokenStrs?: boolean }): TokenizeResult;
  detokenize(ids: number[]): string;
  dispose(): Promise<void>;
}
