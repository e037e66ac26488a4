// vLLM's `--pooler-config` (vllm/config/pooler.py PoolerConfig): server-side pooling settings in
// vLLM's field names, parsed and checked once at startup, then applied in two places:
// - at load, as engine options: `pooling_type` → the pooling mode, `task` → how `score` compares
//   pairs (vLLM's SCORE_TYPE_MAP: embed → bi-encoder, classify → cross-encoder, token_embed →
//   late-interaction) and which task /pooling runs by default;
// - per request, as defaults: `use_activation` and `dimensions` fill what a request leaves unset,
//   for the tasks that take them (vLLM PoolingParams._merge_default_parameters).
// Fields vLLM has that wgpool cannot honour are refused here, at startup, rather than ignored.
// - at load, `enable_chunked_processing` / `max_embed_len` as the engine's chunked long-input options
//   (chunkingOptions(); src/router/chunking.ts).

import { BadRequestError } from '../gpu/errors';
import type { PoolMode } from '../kernels/pool';
import { resolveDimensions } from './params';
import type {
  ChatMessage,
  ChatOptions,
  ClassifyOptions,
  ClassifyResult,
  EmbedOptions,
  EmbedResult,
  EmbeddingFor,
  EncodingFormat,
  EngineApi,
  EngineInfo,
  Input,
  RerankOptions,
  RerankResult,
  ScoreOptions,
  ScoreResult,
  ScoreType,
  Task,
  TokenizeResult,
  TokenOptions,
  TokenResult,
} from './types';

export type PoolerTask = 'embed' | 'classify' | 'token_embed' | 'token_classify';

export interface PoolerConfig {
  task?: PoolerTask;
  /** Sequence pooling mode from pooling_type / seq_pooling_type (ALL and the token types leave it alone). */
  pooling?: PoolMode;
  useActivation?: boolean;
  dimensions?: number;
  /** Chunked processing of inputs longer than the model (vLLM enable_chunked_processing + max_embed_len). */
  chunking: { enabled: boolean; maxEmbedLen?: number };
}

/** vLLM's pooling type names → wgpool's modes. MAX and MEAN_SQRT_LEN are wgpool's extension. */
const SEQ_POOLING: Record<string, PoolMode> = { CLS: 'cls', LAST: 'last', MEAN: 'mean', MAX: 'max', MEAN_SQRT_LEN: 'mean_sqrt_len' };
const TOK_POOLING = new Set(['ALL', 'STEP']);
const TASKS: readonly PoolerTask[] = ['embed', 'classify', 'token_embed', 'token_classify'];

const KNOWN = new Set([
  'task',
  'pooling_type',
  'seq_pooling_type',
  'tok_pooling_type',
  'use_activation',
  'dimensions',
  'enable_chunked_processing',
  'max_embed_len',
  'logit_mean',
  'logit_sigma',
  'logit_bias',
  'logit_scale',
  'step_tag_id',
  'returned_token_ids',
]);

const REMOVED: Record<string, string> = { normalize: 'use_activation', softmax: 'use_activation', activation: 'use_activation' };

/** Parse and check a --pooler-config value (a JSON string or an already parsed object). */
export function parsePoolerConfig(value: unknown): PoolerConfig {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch (e) {
      throw new BadRequestError(`pooler_config is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRequestError('pooler_config must be a JSON object.');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (REMOVED[k]) throw new BadRequestError(`pooler_config: \`${k}\` was removed; use \`${REMOVED[k]}\` instead.`);
    if (!KNOWN.has(k)) throw new BadRequestError(`pooler_config: unknown field '${k}'; PoolerConfig has ${[...KNOWN].map((x) => `'${x}'`).join(', ')}.`);
  }
  const present = (k: string) => o[k] !== undefined && o[k] !== null;
  for (const k of ['logit_mean', 'logit_sigma', 'logit_bias', 'logit_scale']) {
    if (present(k)) throw new BadRequestError(`pooler_config: \`${k}\` (affine score calibration) is not supported by wgpool; calibrate the scores on the client.`);
  }
  for (const k of ['step_tag_id', 'returned_token_ids']) {
    if (present(k)) throw new BadRequestError(`pooler_config: \`${k}\` belongs to STEP pooling (process reward models), which wgpool does not support.`);
  }
  const cfg: PoolerConfig = { chunking: { enabled: false } };
  if (present('task')) {
    if (!TASKS.includes(o.task as PoolerTask)) {
      const removed = o.task === 'score' ? ' (`score` was removed; use `classify`)' : o.task === 'encode' ? ' (`encode` was removed; use `token_embed` or `token_classify`)' : '';
      throw new BadRequestError(`pooler_config: task must be one of ${TASKS.map((t) => `'${t}'`).join(', ')}, got ${JSON.stringify(o.task)}${removed}.`);
    }
    cfg.task = o.task as PoolerTask;
  }
  if (present('pooling_type') && (present('seq_pooling_type') || present('tok_pooling_type'))) {
    throw new BadRequestError(`pooler_config: cannot set both \`pooling_type\` and \`${present('seq_pooling_type') ? 'seq_pooling_type' : 'tok_pooling_type'}\`.`);
  }
  const seq = present('pooling_type') ? o.pooling_type : o.seq_pooling_type;
  const tok = present('pooling_type') ? undefined : o.tok_pooling_type;
  if (seq !== undefined && seq !== null) {
    if (typeof seq !== 'string' || (!SEQ_POOLING[seq] && !TOK_POOLING.has(seq))) {
      throw new BadRequestError(`pooler_config: pooling type must be one of ${[...Object.keys(SEQ_POOLING), ...TOK_POOLING].map((x) => `'${x}'`).join(', ')}, got ${JSON.stringify(seq)}.`);
    }
    if (present('seq_pooling_type') && TOK_POOLING.has(seq)) throw new BadRequestError(`pooler_config: '${seq}' is a token pooling type; set it as tok_pooling_type.`);
    if (seq === 'STEP') throw new BadRequestError('pooler_config: STEP pooling (process reward models) is not supported by wgpool.');
    // ALL is what token_embed / token_classify always do here: nothing to set.
    if (SEQ_POOLING[seq]) cfg.pooling = SEQ_POOLING[seq];
  }
  if (tok !== undefined && tok !== null) {
    if (tok === 'STEP') throw new BadRequestError('pooler_config: STEP pooling (process reward models) is not supported by wgpool.');
    if (tok !== 'ALL') throw new BadRequestError(`pooler_config: tok_pooling_type must be 'ALL' or 'STEP', got ${JSON.stringify(tok)}.`);
  }
  if (present('use_activation')) {
    if (typeof o.use_activation !== 'boolean') throw new BadRequestError(`pooler_config: use_activation must be a boolean, got ${JSON.stringify(o.use_activation)}.`);
    cfg.useActivation = o.use_activation;
  }
  if (present('dimensions')) {
    if (!Number.isSafeInteger(o.dimensions) || (o.dimensions as number) < 1) throw new BadRequestError(`pooler_config: dimensions must be a positive integer, got ${JSON.stringify(o.dimensions)}.`);
    cfg.dimensions = o.dimensions as number;
  }
  if (present('enable_chunked_processing')) {
    if (typeof o.enable_chunked_processing !== 'boolean') throw new BadRequestError('pooler_config: enable_chunked_processing must be a boolean.');
    cfg.chunking.enabled = o.enable_chunked_processing;
  }
  if (present('max_embed_len')) {
    if (!Number.isSafeInteger(o.max_embed_len) || (o.max_embed_len as number) < 1) throw new BadRequestError(`pooler_config: max_embed_len must be a positive integer, got ${JSON.stringify(o.max_embed_len)}.`);
    cfg.chunking.maxEmbedLen = o.max_embed_len as number;
  }
  return cfg;
}

/** Engine options a pooler config sets at load (pooling mode; MaxSim scoring for token_embed). */
export function poolerEngineOptions(cfg: PoolerConfig): { pooling?: PoolMode; lateInteraction?: boolean } {
  return { ...(cfg.pooling ? { pooling: cfg.pooling } : {}), ...(cfg.task === 'token_embed' ? { lateInteraction: true } : {}) };
}

/**
 * Engine options for `enable_chunked_processing` / `max_embed_len` (the engine's chunked long-input
 * option, src/router/chunking.ts): none while neither is set, so the engine keeps its plain limit.
 */
export function chunkingOptions(cfg: PoolerConfig): { enableChunkedProcessing?: boolean; maxEmbedLen?: number } {
  const { enabled, maxEmbedLen } = cfg.chunking;
  return { ...(enabled ? { enableChunkedProcessing: true } : {}), ...(maxEmbedLen !== undefined ? { maxEmbedLen } : {}) };
}

const SCORE_TYPES: Partial<Record<PoolerTask, ScoreType>> = { embed: 'bi-encoder', classify: 'cross-encoder', token_embed: 'late-interaction' };

/**
 * An engine with the config's request defaults and task applied. Checked against the model now:
 * the task must be one the model serves, `dimensions` one its matryoshka support allows.
 */
export function withPoolerConfig(engine: EngineApi, cfg: PoolerConfig): EngineApi {
  if (cfg.task === undefined && cfg.useActivation === undefined && cfg.dimensions === undefined) return engine;
  const info = engine.info;
  if (cfg.task && !info.tasks.includes(cfg.task)) {
    throw new BadRequestError(`pooler_config: model "${info.model}" does not serve task '${cfg.task}'; it serves ${info.tasks.map((t) => `'${t}'`).join(', ')}.`);
  }
  if (cfg.task === 'token_embed' && info.scoreType !== 'late-interaction') {
    throw new BadRequestError(`pooler_config: task 'token_embed' scores by late interaction; load the engine with poolerEngineOptions() so it does.`);
  }
  if (cfg.dimensions !== undefined) {
    resolveDimensions(cfg.dimensions, { modelName: info.model, hiddenSize: info.embeddingSize, isMatryoshka: info.isMatryoshka, matryoshkaDimensions: info.matryoshkaDimensions });
  }
  return new PoolerConfigured(engine, cfg);
}

class PoolerConfigured implements EngineApi {
  readonly info: EngineInfo;

  constructor(
    private readonly inner: EngineApi,
    private readonly cfg: PoolerConfig,
  ) {
    const scoreType = cfg.task ? (SCORE_TYPES[cfg.task] ?? inner.info.scoreType) : inner.info.scoreType;
    this.info = { ...inner.info, ...(cfg.task ? { defaultTask: cfg.task as Task } : {}), ...(scoreType ? { scoreType } : {}) };
  }

  private act<T extends { useActivation?: boolean }>(opts: T): T {
    return opts.useActivation === undefined && this.cfg.useActivation !== undefined ? { ...opts, useActivation: this.cfg.useActivation } : opts;
  }

  private dims<T extends { dimensions?: number }>(opts: T): T {
    return opts.dimensions === undefined && this.cfg.dimensions !== undefined ? { ...opts, dimensions: this.cfg.dimensions } : opts;
  }

  embed<F extends EncodingFormat = 'float'>(input: Input | Input[], opts: EmbedOptions & { encodingFormat?: F } = {}): Promise<EmbedResult<EmbeddingFor<F>>> {
    return this.inner.embed(input, this.dims(this.act(opts)));
  }
  classify(input: Input | Input[], opts: ClassifyOptions = {}): Promise<ClassifyResult> {
    return this.inner.classify(input, this.act(opts));
  }
  score(a: string | string[], b: string | string[], opts: ScoreOptions = {}): Promise<ScoreResult> {
    // Score takes classify's parameters (use_activation) for cross-encoders only.
    return this.inner.score(a, b, this.info.scoreType === 'cross-encoder' ? this.act(opts) : opts);
  }
  rerank(query: string, documents: string[], opts: RerankOptions = {}): Promise<RerankResult> {
    return this.inner.rerank(query, documents, this.info.scoreType === 'cross-encoder' ? this.act(opts) : opts);
  }
  encode(input: Input | Input[], opts: TokenOptions): Promise<TokenResult> {
    return this.inner.encode(input, opts.task === 'token_embed' ? this.dims(this.act(opts)) : this.act(opts));
  }
  tokenize(text: string, opts?: { addSpecialTokens?: boolean; returnTokenStrs?: boolean }): TokenizeResult {
    return this.inner.tokenize(text, opts);
  }
  detokenize(ids: number[]): string {
    return this.inner.detokenize(ids);
  }
  get renderChat(): ((messages: ChatMessage[], opts?: ChatOptions) => string) | undefined {
    const f = this.inner.renderChat;
    return f ? (messages, opts) => f.call(this.inner, messages, opts) : undefined;
  }
  /** Scheduler statistics of the engine underneath, for /metrics. */
  stats(): unknown {
    const f = (this.inner as { stats?: () => unknown }).stats;
    return f?.call(this.inner);
  }
  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
