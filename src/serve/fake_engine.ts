// A deterministic stand-in for an engine: every output is a pure function of the input text, with no
// GPU and no model files, so the HTTP layer (and any client written against it) can be tested in
// milliseconds. Validation that belongs to the engine (matryoshka dimensions, task parameters,
// too-long inputs, truncate_prompt_tokens) uses the same rules and wording as the real engine, so
// error paths through the server look the same. Failures, delays and metadata are configurable.

import type { AdapterReport } from '../gpu/device';
import { BadRequestError, EngineDisposedError, abortError } from '../gpu/errors';
import { inputList, isTokenIds, prepareTokenIds } from '../router/inputs';
import { checkTaskParams, resolveDimensions } from '../router/params';
import { renderChat } from '../tokenizer/chat_template';
import type {
  ChatMessage,
  ChatOptions,
  ClassifyOptions,
  ClassifyResult,
  CommonOptions,
  EmbedOptions,
  EmbedResult,
  EmbeddingFor,
  EncodingFormat,
  EngineApi,
  EngineInfo,
  Input,
  RequestMetadata,
  RerankOptions,
  RerankResult,
  ScoreOptions,
  ScoreResult,
  Task,
  TokenOptions,
  TokenResult,
  TokenizeResult,
} from '../router/types';

export interface FakeEngineOptions {
  model?: string;
  tasks?: Task[];
  hiddenSize?: number;
  /** Longest input in tokens, special tokens included. */
  maxLength?: number;
  labels?: string[];
  isMatryoshka?: boolean;
  matryoshkaDimensions?: number[] | null;
  /** Each task call waits this long (honouring its AbortSignal) before answering. */
  delayMs?: number;
  /** Thrown by the next task calls (tokenize included) while set. */
  fail?: Error | null;
  /** Attached to every task result. */
  metadata?: RequestMetadata;
  /** Pack binary / ubinary embeddings itself (as the GPU engine does) or hand back floats. */
  packBinary?: boolean;
  /** The model's chat template (Jinja); null: the model has none. Default: a small role: content template. */
  chatTemplate?: string | null;
  /** Reported as info.scoreType (the fake scores every pair the same way whatever it says). */
  scoreType?: EngineInfo['scoreType'];
}

/** The fake's default chat template: "[CLS] role: content [SEP]" per message, plus a generation prompt. */
export const FAKE_CHAT_TEMPLATE =
  "{% for m in messages %}{{ bos_token }} {{ m.role }}: {{ m.content }} {{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

/** Ids the fake's "vocabulary" has: word ids are 3..999, [CLS] 1, [SEP] 2. */
export const FAKE_VOCAB_SIZE = 1000;

const CLS = 1;
const SEP = 2;

export const FAKE_ADAPTER: AdapterReport = {
  vendor: 'fake',
  architecture: 'none',
  device: 'fake-device',
  description: 'deterministic test engine',
  isSoftware: true,
  features: [],
  limits: {},
  source: 'injected',
};

export class FakeEngine implements EngineApi {
  readonly info: EngineInfo;
  /** Every call, in order: method name and the options it got. */
  readonly calls: { method: string; opts: unknown }[] = [];
  delayMs: number;
  fail: Error | null;
  metadata?: RequestMetadata;
  private readonly packBinary: boolean;
  private readonly chatTemplateSource: string | null;
  /** Task calls waiting on delayMs, as a scheduler's queue depth. */
  private waiting = 0;
  disposed = false;

  constructor(o: FakeEngineOptions = {}) {
    const labels = o.labels ?? ['negative', 'neutral', 'positive'];
    this.info = {
      model: o.model ?? 'fake/model',
      architecture: 'FakeModel',
      modelType: 'fake',
      hiddenSize: o.hiddenSize ?? 8,
      embeddingSize: o.hiddenSize ?? 8,
      maxLength: o.maxLength ?? 32,
      tasks: o.tasks ?? ['embed', 'classify', 'score', 'token_embed', 'token_classify'],
      pooling: 'mean',
      normalize: true,
      poolingOrigin: 'architecture-default',
      isMatryoshka: o.isMatryoshka ?? false,
      matryoshkaDimensions: o.matryoshkaDimensions ?? null,
      prompts: {},
      defaultPromptName: null,
      numLabels: labels.length,
      labels,
      adapter: FAKE_ADAPTER,
      ...(o.scoreType ? { scoreType: o.scoreType } : {}),
      backend: { name: 'webgpu', requested: 'webgpu', reason: 'requested', threads: null, simd: null, decideMs: 0 },
      matmul: { variant: 'regblock', source: 'option', key: 'fake', costMs: 0, trials: [] },
      dtype: { name: 'f32', requested: 'f32', reason: 'requested' },
    };
    this.delayMs = o.delayMs ?? 0;
    this.fail = o.fail ?? null;
    this.metadata = o.metadata;
    this.packBinary = o.packBinary ?? true;
    this.chatTemplateSource = o.chatTemplate === undefined ? FAKE_CHAT_TEMPLATE : o.chatTemplate;
  }

  // -----------------------------------------------------------------------------------------------
  // Deterministic "model"

  /** Word ids: a string hash of each whitespace-separated word, in 3..999. */
  static wordId(word: string): number {
    let h = 7;
    for (let i = 0; i < word.length; i++) h = (h * 31 + word.charCodeAt(i)) % 997;
    return h + 3;
  }

  /**
   * Token ids of one input: text as [CLS] … [SEP] (no specials with addSpecialTokens: false), token
   * ids as given; truncated or rejected like the real engine.
   */
  ids(input: Input, opts: CommonOptions = {}, index = 0): number[] {
    const max = this.info.maxLength;
    const t = opts.truncatePromptTokens;
    if (isTokenIds(input)) {
      if (t !== undefined && t > max) throw new BadRequestError(`truncate_prompt_tokens value (${t}) is greater than max_model_len (${max}). Please, select a smaller truncation size.`);
      const limit = t === undefined ? undefined : t === -1 ? max : t;
      return prepareTokenIds(input, { vocabSize: FAKE_VOCAB_SIZE, maxLength: max, index }, limit, opts.truncationSide ?? 'right');
    }
    const words = input.split(/\s+/).filter(Boolean).map(FakeEngine.wordId);
    const ids = opts.addSpecialTokens === false ? words : [CLS, ...words, SEP];
    if (t !== undefined) {
      if (t > max) throw new BadRequestError(`truncate_prompt_tokens value (${t}) is greater than max_model_len (${max}). Please, select a smaller truncation size.`);
      const keep = t === -1 ? max : t;
      if (ids.length > keep) return opts.truncationSide === 'left' ? ids.slice(ids.length - keep) : ids.slice(0, keep);
      return ids;
    }
    if (ids.length > max) {
      throw new BadRequestError(
        `This model's maximum context length is ${max} tokens. However, you requested ${ids.length} tokens in the input. Please reduce the length of the input, or set truncate_prompt_tokens.`,
      );
    }
    return ids;
  }

  /** One vector per token id: sin/cos features of the id. */
  static tokenVector(id: number, width: number): Float32Array {
    const v = new Float32Array(width);
    for (let j = 0; j < width; j++) v[j] = Math.sin(id * (j + 1) * 0.37) + 0.1 * Math.cos(id + j);
    return v;
  }

  /** Mean of the token vectors, then slice, then (optionally) L2-normalize. */
  vector(ids: number[], dims: number, normalize: boolean): Float32Array {
    const v = new Float32Array(dims);
    for (const id of ids) {
      const t = FakeEngine.tokenVector(id, this.info.hiddenSize);
      for (let j = 0; j < dims; j++) v[j] += t[j] / ids.length;
    }
    return normalize ? l2(v) : v;
  }

  logits(ids: number[]): number[] {
    const v = this.vector(ids, this.info.hiddenSize, false);
    return this.info.labels.map((_, c) => 3 * v[c % v.length] + 0.1 * c);
  }

  // -----------------------------------------------------------------------------------------------
  // EngineApi

  async embed<F extends EncodingFormat = 'float'>(
    input: Input | Input[],
    opts: EmbedOptions & { encodingFormat?: F } = {},
  ): Promise<EmbedResult<EmbeddingFor<F>>> {
    const texts = await this.begin('embed', input, opts);
    checkTaskParams('embed', { dimensions: opts.dimensions, use_activation: opts.useActivation ?? opts.normalize });
    const dims = resolveDimensions(opts.dimensions, { modelName: this.info.model, ...this.info });
    const normalize = opts.useActivation ?? opts.normalize ?? true;
    const seqs = texts.map((t, i) => this.ids(t, opts, i));
    const vectors = seqs.map((ids) => this.vector(ids, dims, normalize));
    const format: EncodingFormat = opts.encodingFormat ?? 'float';
    let embeddings: (Float32Array | Uint8Array | Int8Array | string)[] = vectors;
    if (format === 'base64') {
      // Little-endian float32 bytes; every platform this runs on is little-endian.
      embeddings = vectors.map((v) => btoa(String.fromCharCode(...new Uint8Array(v.buffer, v.byteOffset, v.byteLength))));
    } else if (this.packBinary && (format === 'ubinary' || format === 'binary')) {
      const packed = vectors.map((v) => {
        const out = new Uint8Array(Math.ceil(v.length / 8));
        v.forEach((x, i) => {
          if (x > 0) out[i >> 3] |= 0x80 >> (i & 7);
        });
        return out;
      });
      embeddings = format === 'ubinary' ? packed : packed.map((p) => Int8Array.from(p, (b) => b - 128));
    }
    return this.end({ embeddings: embeddings as EmbeddingFor<F>[], usage: usage(seqs) });
  }

  async classify(input: Input | Input[], opts: ClassifyOptions = {}): Promise<ClassifyResult> {
    const texts = await this.begin('classify', input, opts);
    const seqs = texts.map((t, i) => this.ids(t, opts, i));
    const data = seqs.map((ids, index) => {
      const logits = this.logits(ids);
      const probs = opts.useActivation === false ? logits : softmax(logits);
      const best = probs.indexOf(Math.max(...probs));
      return { index, label: this.info.labels[best], probs, numClasses: probs.length };
    });
    return this.end({ data, usage: usage(seqs) });
  }

  /** Score of a pair: sigmoid of the dot product of the two mean vectors, scaled. */
  pairScore(a: string, b: string, opts: ScoreOptions = {}): { score: number; tokens: number } {
    const ia = this.ids(a, opts);
    const ib = this.ids(b, opts);
    const h = this.info.hiddenSize;
    const va = this.vector(ia, h, true);
    const vb = this.vector(ib, h, true);
    let dot = 0;
    for (let j = 0; j < h; j++) dot += va[j] * vb[j];
    const logit = 4 * dot;
    return { score: opts.useActivation === false ? logit : 1 / (1 + Math.exp(-logit)), tokens: ia.length + ib.length - 1 };
  }

  async score(a: string | string[], b: string | string[], opts: ScoreOptions = {}): Promise<ScoreResult> {
    const as = typeof a === 'string' ? [a] : a;
    const bs = await this.begin('score', b, opts);
    if (as.length === 0) throw new BadRequestError('At least one text element must be given');
    if (as.length > 1 && as.length !== bs.length) throw new BadRequestError('Input lengths must be either 1:1, 1:N or N:N');
    const pairs = bs.map((d, i) => this.pairScore(as.length === 1 ? as[0] : as[i], d, opts));
    const tokens = pairs.reduce((s, p) => s + p.tokens, 0);
    return this.end({ scores: pairs.map((p) => p.score), usage: { promptTokens: tokens, totalTokens: tokens } });
  }

  async rerank(query: string, documents: string[], opts: RerankOptions = {}): Promise<RerankResult> {
    await this.begin('rerank', documents, opts);
    const pairs = documents.map((d) => this.pairScore(query, d, opts));
    const results = pairs
      .map((p, index) => ({ index, relevanceScore: p.score, ...(opts.returnDocuments ? { document: documents[index] } : {}) }))
      .sort((x, y) => y.relevanceScore - x.relevanceScore)
      .slice(0, opts.topN ?? documents.length);
    const tokens = pairs.reduce((s, p) => s + p.tokens, 0);
    return this.end({ results, usage: { promptTokens: tokens, totalTokens: tokens } });
  }

  async encode(input: Input | Input[], opts: TokenOptions): Promise<TokenResult> {
    const texts = await this.begin('encode', input, opts);
    checkTaskParams(opts.task, { dimensions: opts.dimensions, use_activation: opts.useActivation });
    const seqs = texts.map((t, i) => this.ids(t, opts, i));
    const h = this.info.hiddenSize;
    let data: Float32Array[][];
    if (opts.task === 'token_embed') {
      const dims = resolveDimensions(opts.dimensions, { modelName: this.info.model, ...this.info });
      data = seqs.map((ids) => ids.map((id) => {
        const v = FakeEngine.tokenVector(id, h).slice(0, dims);
        return opts.useActivation === false ? v : l2(v);
      }));
    } else {
      data = seqs.map((ids) => ids.map((id) => {
        const logits = this.info.labels.map((_, c) => FakeEngine.tokenVector(id, h)[c % h]);
        return Float32Array.from(opts.useActivation === false ? logits : softmax(logits));
      }));
    }
    return this.end({ data, usage: usage(seqs) });
  }

  tokenize(text: string, opts: { addSpecialTokens?: boolean; returnTokenStrs?: boolean } = {}): TokenizeResult {
    this.calls.push({ method: 'tokenize', opts });
    if (this.fail) throw this.fail;
    const words = text.split(/\s+/).filter(Boolean);
    const special = opts.addSpecialTokens ?? true;
    const tokens = special ? [CLS, ...words.map(FakeEngine.wordId), SEP] : words.map(FakeEngine.wordId);
    const strs = special ? ['[CLS]', ...words, '[SEP]'] : words;
    return { tokens, count: tokens.length, maxModelLen: this.info.maxLength, ...(opts.returnTokenStrs ? { tokenStrs: strs } : {}) };
  }

  renderChat(messages: ChatMessage[], opts: ChatOptions = {}): string {
    this.calls.push({ method: 'renderChat', opts });
    return renderChat(messages, opts, {
      chatTemplate: () => this.chatTemplateSource,
      specialTokensMap: () => ({ bos_token: '[CLS]', eos_token: '[SEP]' }),
    });
  }

  /** Scheduler-like statistics, so /metrics has gauges to read. */
  stats() {
    return { batches: 0, meanBatchFill: 0, meanBatchSize: 0, queuedTokens: 0, queuedRequests: this.waiting, inFlight: 0 };
  }

  detokenize(ids: number[]): string {
    this.calls.push({ method: 'detokenize', opts: ids });
    if (this.fail) throw this.fail;
    return ids.filter((i) => i !== CLS && i !== SEP).map((i) => `<${i}>`).join(' ');
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }

  // -----------------------------------------------------------------------------------------------

  private async begin<T extends Input>(method: string, input: T | T[], opts: CommonOptions): Promise<T[]> {
    this.calls.push({ method, opts });
    if (this.disposed) throw new EngineDisposedError();
    const texts = inputList(input) as T[];
    if (this.delayMs > 0) {
      this.waiting++;
      try {
        await sleep(this.delayMs, opts.signal);
      } finally {
        this.waiting--;
      }
    }
    if (opts.signal?.aborted) throw abortError(opts.signal.reason);
    if (this.fail) throw this.fail;
    return texts;
  }

  private end<T extends object>(result: T): T & { metadata?: RequestMetadata } {
    return this.metadata ? { ...result, metadata: this.metadata } : result;
  }
}

function usage(seqs: number[][]) {
  const n = seqs.reduce((s, q) => s + q.length, 0);
  return { promptTokens: n, totalTokens: n };
}

function l2(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
  return v.map((x) => x * inv);
}

function softmax(x: number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal.reason));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
