// The engine: one model on one GPU device, serving vLLM's pooling tasks.
//
// Loading wires source → config → weights → model body → heads, and builds every pipeline before
// the first request. A request is tokenized at once, then queued as one item per sequence; the
// scheduler merges items of many callers into packed token-budget batches, and each batch runs as
// ONE compute pass (body + head), one submit, and one readback of only the answer.

import type { BackendChoice } from './backend';
import type { SimdLevel } from './cpu/wasm';
import type { TuneStore } from './gpu/autotune';
import type { Gpu } from './gpu/context';
import { BadRequestError, EngineDisposedError, WgpoolError, showValue } from './gpu/errors';
import { checkIds } from './kernels/embedding';
import type { MatmulVariant } from './kernels/matmul';
import type { DtypeChoice } from './gpu/weight_dtype';
import type { PoolMode } from './kernels/pool';
import { binaryFromUbinary } from './kernels/quantize_bits';
import { DeviceKeeper, type OnDevice } from './device_keeper';
import { loadModel, type LoadedModel, type LoadOptions } from './loading/load_model';
import type { ProgressCallback } from './loading/progress';
import type { DirectoryHandleLike, ModelSource, ResolveOptions } from './loading/source';
import { typeVocabSize, type ModelConfig } from './models/config';
import type { ModelBody, PreparedForward } from './models/model';
import { packBatch, type PackedBatch, type Sequence } from './models/packing';
import { ClassifierHead, type ClassifierActivation } from './pooling/classifier_head';
import type { PoolingConfig } from './pooling/config';
import { EmbedHead, type EmbedRow } from './pooling/head';
import { TokenEmbedHead, type TokenRow } from './pooling/token_head';
import { checkChunkingOptions, chunkCount, combineChunks, splitChunks, ubinaryOf, type ChunkingOptions } from './router/chunking';
import { inputList, isTokenIds, prepareTokenIds } from './router/inputs';
import { checkTaskParams, resolveDimensions } from './router/params';
import { cosine, maxSim, pairUp, toBase64 } from './router/scoring';
import { renderChat } from './tokenizer/chat_template';
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
  TokenizeResult,
  TokenOptions,
  TokenResult,
  Usage,
} from './router/types';
import { Scheduler, type BatchEntry, type SchedulerOptions } from './scheduler/queue';
import { TextTokenizer, type Encoding } from './tokenizer/tokenizer';

export type * from './router/types';

export interface EngineOptions extends ResolveOptions {
  /** A folder path (Node), a URL prefix laid out like a hub repo, a hub id ("org/name"), or files (browser). */
  model: string | ModelSource | File[] | FileList | DirectoryHandleLike;
  /** Name reported in info.model and matched by the HTTP `model` field (default: the source id). */
  servedModelName?: string;
  /** Run on this device (e.g. shared with a renderer) instead of requesting one. */
  device?: GPUDevice;
  /**
   * 'webgpu' (default), 'cpu' (WebAssembly SIMD kernels, no GPU needed), or 'auto': WebGPU on a
   * hardware adapter, the CPU when WebGPU is missing or software (src/backend.ts). See info.backend.
   */
  backend?: BackendChoice;
  /** The CPU backend's SIMD level (default: relaxed SIMD where the engine has it). */
  cpuSimd?: SimdLevel;
  /**
   * Threads the CPU backend's kernels split across (default: the cores, at most 4, where shared
   * memory exists — Node, or a cross-origin-isolated page — else 1). See info.backend.threads.
   */
  threads?: number;
  /** Override the pooling mode from sentence-transformers files / architecture default. */
  pooling?: PoolMode;
  /** Force a matmul kernel variant instead of the timed trial at load (src/gpu/autotune.ts). */
  matmulVariant?: MatmulVariant;
  /**
   * How weights are stored on the GPU: 'auto' (default: f16 on a hardware adapter with shader-f16
   * when the weights fit), 'f32', or 'f16' (an error without shader-f16). Compute stays f32. See
   * info.dtype and src/gpu/weight_dtype.ts.
   */
  dtype?: DtypeChoice;
  /**
   * Where the trial's choice persists across runs; always remembered in memory. Default: the model
   * cache while `cache` is on (src/loading/tune_cache.ts); or a jsonTuneStore / your own store.
   */
  tuneStore?: TuneStore;
  /** Time the matmul variants on software adapters too (default: GPUs only; SwiftShader/lavapipe take the rule). */
  matmulTune?: 'always' | 'hardware';
  /** Score embedding models by MaxSim over token embeddings (late interaction) instead of cosine. */
  lateInteraction?: boolean;
  /** A causal LM reranker's [no, yes] tokens (vLLM classifier_from_token), e.g. Qwen3-Reranker. */
  classifierFromToken?: [string, string];
  /** A Jinja chat template used instead of the tokenizer's own (vLLM --chat-template). */
  chatTemplate?: string;
  /** Merged into config.json before the model is built (vLLM --hf-overrides). */
  hfOverrides?: Record<string, unknown>;
  /**
   * `embed` inputs longer than the model's limit are split into model-sized chunks, run as ordinary
   * sequences, and combined by a token-count-weighted mean (vLLM PoolerConfig
   * enable_chunked_processing; src/router/chunking.ts). Off: a too-long input is a 400.
   */
  enableChunkedProcessing?: boolean;
  /** Longest `embed` input accepted, in tokens (vLLM PoolerConfig max_embed_len). */
  maxEmbedLen?: number;
  /** wgpool extension: L2-normalize the combined chunk vector when use_activation is on (vLLM returns the weighted mean as is). */
  renormalizeChunks?: boolean;
  /** Batching and backpressure bounds. */
  scheduler?: Partial<SchedulerOptions>;
  signal?: AbortSignal;
  /** Progress of the load: phases download, parse, upload, compile, then ready with progress exactly 1. */
  onProgress?: ProgressCallback;
  /** Refuse to load when the estimated GPU memory (weights + one full batch) exceeds this many bytes. */
  gpuMemoryBudget?: number;
}

/** One queued sequence and what its head must do with it. */
interface Item {
  seq: Sequence;
  embed?: EmbedRow;
  token?: TokenRow;
  activation?: ClassifierActivation;
  /** 'embed|gpu' batches: copy this row's vector here on the GPU instead of reading it back. */
  target?: { buffer: GPUBuffer; offset: number };
}

type Output = Float32Array | Uint8Array | Float32Array[];

/** What a head contributes to a batch: its dispatches and the rows of output to read back. */
interface HeadRun {
  encode(pass: GPUComputePassEncoder): void;
  output: GPUBuffer;
  bytes: number;
  split(data: ArrayBuffer): Output[];
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export class Engine implements EngineApi {
  private scheduler: Scheduler<Item, Output>;
  /** GPU submits happen one batch at a time; readbacks of one batch overlap the next batch. */
  private submitting: Promise<unknown> = Promise.resolve();
  private disposed = false;
  /** --chat-template: replaces the tokenizer's template. */
  private chatTemplate: string | undefined;
  /** Wall time of each load phase in ms (download, parse, upload, compile) and the whole load. */
  loadTimeline: LoadedModel['timeline'] | undefined;
  /** What the load estimated the model needs on the GPU (weights + one full batch of activations). */
  memory: LoadedModel['memory'] | undefined;
  /** The model on its device, and its recovery when the device is lost (device_keeper.ts). */
  private readonly keeper: DeviceKeeper;

  private constructor(
    m: LoadedModel,
    readonly source: ModelSource,
    readonly config: ModelConfig,
    readonly tokenizer: TextTokenizer,
    readonly poolingConfig: PoolingConfig,
    readonly info: EngineInfo,
    private readonly lateInteraction: boolean,
    private readonly schedulerOptions: Partial<SchedulerOptions> | undefined,
    private readonly chunking: ChunkingOptions | undefined,
    reloadOptions: LoadOptions | null,
  ) {
    this.scheduler = this.newScheduler();
    this.keeper = new DeviceKeeper(m, reloadOptions, {
      // Requests made from now on go to a fresh queue that waits for the reload; the old queue's
      // waiting jobs reject now, its running batches when their readback fails on the dead device.
      lost: (error) => {
        const old = this.scheduler;
        this.scheduler = this.newScheduler();
        this.submitting = Promise.resolve();
        old.close(error);
      },
      reloaded: (r) => {
        Object.assign(this.info, { adapter: r.info.adapter, backend: r.info.backend, matmul: r.info.matmul });
        this.memory = r.memory;
      },
    });
  }

  static async load(opts: EngineOptions): Promise<Engine> {
    const chunking = checkChunkingOptions(opts);
    const loadOptions: LoadOptions = { ...opts, maxBatchTokens: opts.scheduler?.maxBatchTokens };
    const m = await loadModel(loadOptions);
    // A reload reads the same resolved source again (File lists included; HTTP through its cache).
    const reload = opts.device ? null : { ...loadOptions, model: m.source, signal: undefined, onProgress: undefined };
    const engine = new Engine(m, m.source, m.config, m.tokenizer, m.poolingConfig, m.info, !!opts.lateInteraction, opts.scheduler, chunking, reload);
    engine.loadTimeline = m.timeline;
    engine.memory = m.memory;
    engine.chatTemplate = opts.chatTemplate;
    return engine;
  }

  /** The context the model runs on now (a new one after a lost device was recovered). */
  get gpu(): Gpu {
    return this.keeper.live.gpu;
  }

  /** Buffers the engine's context holds on the GPU now, and their bytes (Gpu.liveBuffers()). */
  liveBuffers(): { buffers: number; bytes: number } {
    return this.keeper.live.gpu.liveBuffers();
  }

  private newScheduler(): Scheduler<Item, Output> {
    return new Scheduler<Item, Output>((key, batch) => this.execute(key, batch), this.schedulerOptions);
  }

  // ---------------------------------------------------------------------------------------------
  // Tokenization

  /** The prompt to prepend: an explicit `prompt`, a named one, or the model's default prompt. */
  private resolvePrompt(opts: { prompt?: string; promptName?: string }): string {
    if (opts.prompt !== undefined && opts.promptName !== undefined) throw new BadRequestError('Pass either prompt or prompt_name, not both.');
    if (opts.prompt !== undefined) {
      if (typeof opts.prompt !== 'string') throw new BadRequestError('prompt must be a string.');
      return opts.prompt;
    }
    const name = opts.promptName ?? this.info.defaultPromptName;
    if (name === null || name === undefined) return '';
    const p = this.info.prompts[name];
    if (p === undefined) {
      const known = Object.keys(this.info.prompts);
      throw new BadRequestError(`Prompt name '${name}' not found in the model's prompts${known.length ? ` (${known.join(', ')})` : ' (it defines none)'}.`);
    }
    return p;
  }

  /**
   * Tokenize one input (or pair), applying truncate_prompt_tokens or rejecting a too-long input.
   * Token-id inputs skip the tokenizer: checked against the embedding table and cut (router/inputs).
   * `max` is the longest input accepted here: the model's limit, or Infinity where the caller checks
   * the length itself (chunked embed).
   */
  private encodeInput(input: Input, pair: string | undefined, opts: CommonOptions, index = 0, max = this.info.maxLength): Sequence {
    if (isTokenIds(input)) {
      const { limit, side } = this.truncation(opts);
      const ids = prepareTokenIds(input, { vocabSize: this.config.vocab_size, maxLength: max, index }, limit, side);
      return { ids, typeIds: new Array<number>(ids.length).fill(0) };
    }
    let text = input;
    if (typeof text !== 'string' || (pair !== undefined && typeof pair !== 'string')) throw new BadRequestError('Each input must be a string.');
    if (this.poolingConfig.doLowerCase) {
      text = text.toLowerCase();
      pair = pair?.toLowerCase();
    }
    const { limit, side } = this.truncation(opts);
    const addSpecialTokens = opts.addSpecialTokens ?? true;
    const maxTextTokens = (opts as SideCaps).maxTextTokens;
    const enc = this.tokenizer.encode(text, pair, limit === undefined ? { addSpecialTokens, maxTextTokens } : { addSpecialTokens, maxTextTokens, maxTokens: limit, truncationSide: side });
    this.checkVocab(enc);
    if (enc.ids.length > max) {
      throw new BadRequestError(
        `This model's maximum context length is ${max} tokens. However, you requested ${enc.ids.length} tokens in the input. Please reduce the length of the input, or set truncate_prompt_tokens.`,
      );
    }
    return enc;
  }

  /** truncate_prompt_tokens resolved against the model's limit, and the side to cut. */
  private truncation(opts: CommonOptions): { limit: number | undefined; side: 'left' | 'right' } {
    const max = this.info.maxLength;
    const t = opts.truncatePromptTokens;
    let limit: number | undefined;
    if (t !== undefined && t !== null) {
      if (!Number.isInteger(t) || (t < 1 && t !== -1)) throw new BadRequestError(`truncate_prompt_tokens must be -1 or a positive integer, got ${showValue(t)}`);
      if (t > max) {
        throw new BadRequestError(`truncate_prompt_tokens value (${t}) is greater than max_model_len (${max}). Please, select a smaller truncation size.`);
      }
      limit = t === -1 ? max : t;
    }
    const side = opts.truncationSide ?? 'right';
    if (side !== 'left' && side !== 'right') throw new BadRequestError(`truncation_side must be 'left' or 'right', got ${JSON.stringify(side)}`);
    return { limit, side };
  }

  /** A prompt (prompt / prompt_name / the model's default) goes before text inputs only: token ids are final. */
  private withPrompt(prompt: string, input: Input): Input {
    return typeof input === 'string' ? prompt + input : input;
  }

  /**
   * The embedding kernel clamps out-of-range ids rather than read out of bounds; a tokenizer whose
   * vocabulary outgrows config.json would then give silently wrong vectors. Refuse the request here,
   * before it is queued, so no other request in its batch is affected.
   */
  private checkVocab(enc: Encoding): void {
    try {
      checkIds(enc.ids, this.config.vocab_size, 'token id');
      const types = typeVocabSize(this.config);
      if (types > 0) checkIds(enc.typeIds, types, 'token type id');
    } catch (e) {
      throw new WgpoolError(`Model "${this.info.model}": the tokenizer and config.json disagree: ${(e as Error).message}.`, 500, 'InternalServerError');
    }
  }

  private inputs(input: Input | Input[]): Input[] {
    return inputList(input);
  }

  /** Texts only (score / rerank pairs): token ids cannot be paired with the post-processor's special tokens. */
  private texts(input: string | string[]): string[] {
    const texts = typeof input === 'string' ? [input] : input;
    if (!Array.isArray(texts) || texts.length === 0) throw new BadRequestError('Input must be a non-empty string or list of strings.');
    const bad = texts.findIndex((t) => typeof t !== 'string');
    if (bad >= 0) throw new BadRequestError(`Each input must be a string; input[${bad}] is ${texts[bad] === null ? 'null' : typeof texts[bad]}.`);
    return texts;
  }

  private requireTask(task: Task): void {
    this.checkOpen();
    if (!this.info.tasks.includes(task)) {
      throw new BadRequestError(`Task '${task}' is not supported by model "${this.info.model}" (${this.info.architecture}); it supports ${this.info.tasks.join(', ')}.`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Batches

  /** Queue sequences under a batch key; resolves with one output per item, plus usage and timing. */
  private async submit(key: string, items: Item[], opts: CommonOptions, tokenizeMs: number): Promise<{ outputs: Output[]; usage: Usage; metadata: RequestMetadata }> {
    const tokens = items.map((it) => it.seq.ids.length);
    const { results, metadata } = await this.scheduler.submit({ key, items, tokens }, { priority: opts.priority, signal: opts.signal });
    const n = tokens.reduce((a, b) => a + b, 0);
    return {
      outputs: results,
      usage: { promptTokens: n, totalTokens: n },
      metadata: { queueMs: metadata.queueMs, tokenizeMs, inferenceMs: metadata.inferenceMs, batches: metadata.batches, batchSize: metadata.batchSize },
    };
  }

  /** The scheduler's executor: run one homogeneous batch (same key) on the GPU. */
  private async execute(key: string, entries: BatchEntry<Item>[]): Promise<Output[]> {
    const d = await this.keeper.ready();
    try {
      const out = await this.executeOn(d, key, entries);
      if (d.lost) throw d.lost;
      return out;
    } catch (e) {
      // Whatever a lost device made the batch fail with (a rejected mapAsync, a validation error),
      // the caller hears that the GPU was lost.
      if (d.lost) throw d.lost;
      throw e;
    }
  }

  private async executeOn(d: OnDevice, key: string, entries: BatchEntry<Item>[]): Promise<Output[]> {
    const { gpu, body } = d;
    const items = entries.map((e) => e.item);
    const batch = packBatch(items.map((i) => i.seq));
    // Encode and submit strictly one batch at a time (they share the body's activation buffers);
    // the readback of this batch then overlaps the next batch's submit.
    let read!: () => Promise<Output[]>;
    const submitted = this.submitting.then(async () => {
      if (d.lost) throw d.lost;
      const fwd = body.prepare(batch);
      const head = this.head(d, key, fwd, batch, items);
      if (key === 'embed|gpu') {
        // embedInto: rows stay on the device, copied to their targets in this same submit.
        const rowBytes = d.heads.embed.embeddingSize * 4;
        gpu.enqueue(`wgpool.${key}`, [fwd, head], items.map((it, i) => ({ src: head.output, srcOffset: i * rowBytes, dst: it.target!.buffer, dstOffset: it.target!.offset, bytes: it.embed!.dims * 4 })));
        read = async () => items.map(() => new Float32Array(0));
        return;
      }
      const staged = await gpu.submit(`wgpool.${key}`, [fwd, head], head.output, head.bytes);
      read = async () => head.split(await staged.read());
    });
    this.submitting = submitted.catch(() => undefined);
    await submitted;
    return read();
  }

  private head(d: OnDevice, key: string, fwd: PreparedForward, batch: PackedBatch, items: Item[]): HeadRun {
    const kind = key.split('|')[0];
    if (kind === 'embed') {
      // 'embed|bits|<dims>' batches pack sign bits on the GPU (binary / ubinary); dims is in the key,
      // so every row of such a batch has the same width.
      return d.heads.embed.prepare(fwd, batch, items.map((i) => i.embed!), key.split('|')[1] === 'bits');
    }
    if (kind === 'token_embed') {
      const seqRows = items.map((i) => i.token!);
      const h = d.heads.token.prepare(fwd, batch, seqRows);
      return {
        encode: h.encode,
        output: h.output,
        bytes: batch.tokens * h.rowStride * 4,
        split: (data) => this.splitTokens(new Float32Array(data), batch, h.rowStride, seqRows.map((r) => r.dims)),
      };
    }
    // classify / token_classify
    const cls = d.heads.classifier!;
    const h = cls.prepare(fwd, batch, items.map((i) => i.activation!));
    const L = h.rowStride;
    return {
      encode: h.encode,
      output: h.output,
      bytes: h.rows * L * 4,
      split: (data) => {
        const all = new Float32Array(data);
        if (cls.perToken) return this.splitTokens(all, batch, L, items.map(() => L));
        return items.map((_, i) => all.slice(i * L, (i + 1) * L));
      },
    };
  }

  private splitTokens(all: Float32Array, batch: PackedBatch, stride: number, dims: number[]): Float32Array[][] {
    return dims.map((d, b) => {
      const rows: Float32Array[] = [];
      for (let t = batch.cuSeqLens[b]; t < batch.cuSeqLens[b + 1]; t++) rows.push(all.slice(t * stride, t * stride + d));
      return rows;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Tasks

  /** Sentence embeddings: pool → (matryoshka slice) → L2-normalize, all on the GPU. */
  async embed<F extends EncodingFormat = 'float'>(input: Input | Input[], opts: EmbedOptions & { encodingFormat?: F } = {}): Promise<EmbedResult<EmbeddingFor<F>>> {
    this.requireTask('embed');
    const t0 = now();
    const texts = this.inputs(input);
    if (opts.normalize !== undefined && opts.useActivation !== undefined && opts.normalize !== opts.useActivation) {
      throw new BadRequestError('normalize and use_activation disagree; pass only one.');
    }
    const useActivation = opts.useActivation ?? opts.normalize;
    checkTaskParams('embed', { dimensions: opts.dimensions, use_activation: useActivation });
    const dims = this.dimensions(opts.dimensions, this.info.embeddingSize);
    const format = opts.encodingFormat ?? 'float';
    if (!['float', 'base64', 'binary', 'ubinary'].includes(format)) {
      throw new BadRequestError(`encoding_format must be one of float, base64, binary, ubinary; got ${JSON.stringify(format)}`);
    }
    const mode = opts.pooling ?? this.info.pooling;
    const row: EmbedRow = { mode, dims, normalize: useActivation ?? this.info.normalize };
    const prompt = this.resolvePrompt(opts);
    const seqs = texts.map((t, i) => this.encodeInput(this.withPrompt(prompt, t), undefined, opts, i, this.chunking ? Infinity : undefined));
    if (this.chunking) {
      const chunks = seqs.map((s) => chunkCount(s.ids.length, this.info.maxLength, this.chunking!));
      if (chunks.some((n) => n > 1)) return this.embedChunked(seqs, row, format as F, opts, t0);
    }
    const items = seqs.map((seq) => ({ seq, embed: row }));
    const bits = format === 'binary' || format === 'ubinary';
    const { outputs, usage, metadata } = await this.submit(bits ? `embed|bits|${dims}` : 'embed|float', items, opts, now() - t0);
    let embeddings: unknown[];
    if (format === 'ubinary') embeddings = outputs;
    else if (format === 'binary') embeddings = (outputs as Uint8Array[]).map(binaryFromUbinary);
    else if (format === 'base64') embeddings = (outputs as Float32Array[]).map(toBase64);
    else embeddings = outputs;
    return { embeddings: embeddings as EmbeddingFor<F>[], usage, metadata };
  }

  /**
   * A request with an input past the model's limit: every input is cut into model-sized chunks
   * (router/chunking.ts), all chunks go to the scheduler as one job of ordinary sequences, and each
   * input's chunk vectors are combined by their token counts. The sign bits of binary / ubinary
   * formats are then taken on the host, from the combined vector.
   */
  private async embedChunked<F extends EncodingFormat>(seqs: Sequence[], row: EmbedRow, format: F, opts: EmbedOptions, t0: number): Promise<EmbedResult<EmbeddingFor<F>>> {
    const size = this.info.maxLength;
    const perInput = seqs.map((s) => splitChunks(s, size));
    const items = perInput.flat().map((seq) => ({ seq, embed: row }));
    const { outputs, usage, metadata } = await this.submit('embed|float', items, opts, now() - t0);
    let at = 0;
    const combined = perInput.map((chunks) => {
      const vs = outputs.slice(at, (at += chunks.length)) as Float32Array[];
      return combineChunks(vs, chunks.map((c) => c.ids.length), !!this.chunking!.renormalize && row.normalize);
    });
    let embeddings: unknown[];
    if (format === 'ubinary') embeddings = combined.map(ubinaryOf);
    else if (format === 'binary') embeddings = combined.map((v) => binaryFromUbinary(ubinaryOf(v)));
    else if (format === 'base64') embeddings = combined.map(toBase64);
    else embeddings = combined;
    return { embeddings: embeddings as EmbeddingFor<F>[], usage, metadata };
  }

  /**
   * Embed texts straight into a GPU buffer of this engine's device (e.g. a vector index's corpus
   * matrix): row i lands at byte `offset + i·stride`, `dims` floats, L2-normalized unless the options
   * say otherwise. Nothing is read back; the copies are ordered before any later submit on the queue.
   */
  async embedInto(input: string | string[], target: { buffer: GPUBuffer; offset?: number; stride?: number }, opts: EmbedOptions = {}): Promise<{ dims: number; usage: Usage; metadata: RequestMetadata }> {
    this.requireTask('embed');
    const t0 = now();
    const texts = this.inputs(input);
    checkTaskParams('embed', { dimensions: opts.dimensions, use_activation: opts.useActivation });
    const dims = this.dimensions(opts.dimensions, this.info.embeddingSize);
    const offset = target.offset ?? 0;
    const stride = target.stride ?? dims * 4;
    if (offset % 4 || stride % 4 || stride < dims * 4) throw new BadRequestError(`embedInto: offset and stride must be multiples of 4 bytes, stride ≥ ${dims * 4}`);
    if (offset + (texts.length - 1) * stride + dims * 4 > target.buffer.size) {
      throw new BadRequestError(`embedInto: ${texts.length} rows of ${dims} floats from byte ${offset} do not fit a ${target.buffer.size}-byte buffer`);
    }
    const row: EmbedRow = { mode: opts.pooling ?? this.info.pooling, dims, normalize: opts.useActivation ?? opts.normalize ?? this.info.normalize };
    const prompt = this.resolvePrompt(opts);
    const items = texts.map((t, i) => ({ seq: this.encodeInput(prompt + t, undefined, opts), embed: row, target: { buffer: target.buffer, offset: offset + i * stride } }));
    const { usage, metadata } = await this.submit('embed|gpu', items, opts, now() - t0);
    return { dims, usage, metadata };
  }

  /** Columns to keep: `dimensions` checked against the model's matryoshka support and `width`. */
  private dimensions(dimensions: number | undefined, width: number): number {
    return resolveDimensions(dimensions, {
      modelName: this.info.model,
      hiddenSize: width,
      isMatryoshka: this.info.isMatryoshka,
      matryoshkaDimensions: this.info.matryoshkaDimensions,
    });
  }

  /** Activation a classifier applies: softmax, or sigmoid for one label / multi-label; none for regression or use_activation=false. */
  private classifierActivation(useActivation: boolean | undefined, forScore: boolean): ClassifierActivation {
    if (useActivation === false) return 'none';
    if (forScore || this.info.numLabels === 1) {
      // sentence-transformers CrossEncoder activation_fn when the model names one; vLLM's default is sigmoid.
      const fn = this.config.sentence_transformers.activation_fn;
      if (fn && /Identity$/.test(fn)) return 'none';
      return 'sigmoid';
    }
    if (this.config.problem_type === 'multi_label_classification') return 'sigmoid';
    if (this.config.problem_type === 'regression') return 'none';
    return 'softmax';
  }

  async classify(input: Input | Input[], opts: ClassifyOptions = {}): Promise<ClassifyResult> {
    this.requireTask('classify');
    const t0 = now();
    const texts = this.inputs(input);
    checkTaskParams('classify', { ...extraParams(opts), use_activation: opts.useActivation });
    const activation = this.classifierActivation(opts.useActivation, false);
    const items = texts.map((t, i) => ({ seq: this.encodeInput(t, undefined, opts, i), activation }));
    const { outputs, usage, metadata } = await this.submit('classify', items, opts, now() - t0);
    const data = (outputs as Float32Array[]).map((probs, index) => {
      let best = 0;
      for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
      return { index, label: this.info.labels[best], probs: Array.from(probs), numClasses: probs.length };
    });
    return { data, usage, metadata };
  }

  /**
   * Scores for text pairs. Cross-encoders (one-label classifiers) run each pair jointly; embedding
   * models compare embeddings by cosine (bi-encoder) or, with lateInteraction, by MaxSim over
   * normalized token embeddings. Pairing: 1→N, N→N zipped, or the full matrix on request.
   */
  async score(a: string | string[], b: string | string[], opts: ScoreOptions = {}): Promise<ScoreResult> {
    this.requireTask('score');
    const t0 = now();
    const left = this.texts(a);
    const right = this.texts(b);
    checkTaskParams('score', { ...extraParams(opts), use_activation: opts.useActivation });
    const pairs = pairUp(left.length, right.length, !!opts.matrix);
    let scores: number[];
    let usage: Usage;
    let metadata: RequestMetadata;
    const common = { truncatePromptTokens: opts.truncatePromptTokens, truncationSide: opts.truncationSide, addSpecialTokens: opts.addSpecialTokens, priority: opts.priority, signal: opts.signal };
    // Each side embedded on its own keeps its own cap (max_tokens_per_query / max_tokens_per_doc).
    const queryCaps: SideCaps = { ...common, maxTextTokens: [opts.maxTokensPerQuery, undefined] };
    const docCaps: SideCaps = { ...common, maxTextTokens: [opts.maxTokensPerDoc, undefined] };
    if (this.keeper.live.heads.classifier) {
      // Cross-encoder: the pair runs jointly (token_type_ids 1 on the second text for BERT).
      const activation = this.classifierActivation(opts.useActivation, true);
      const caps: SideCaps = { ...opts, maxTextTokens: [opts.maxTokensPerQuery, opts.maxTokensPerDoc] };
      const items = pairs.map(([i, j]) => ({ seq: this.encodeInput(left[i], right[j], caps), activation }));
      const r = await this.submit('classify', items, opts, now() - t0);
      scores = (r.outputs as Float32Array[]).map((o) => o[0]);
      ({ usage, metadata } = r);
    } else if (this.lateInteraction) {
      // Late interaction: each text's normalized token embeddings, compared by MaxSim.
      const [qa, qb] = await Promise.all([
        this.encode(left, { task: 'token_embed', ...queryCaps }),
        this.encode(right, { task: 'token_embed', ...docCaps }),
      ]);
      scores = pairs.map(([i, j]) => maxSim(qa.data[i], qb.data[j]));
      usage = sumUsage(qa.usage, qb.usage);
      metadata = qa.metadata!;
    } else {
      // Bi-encoder: each text embedded once (normalized), compared by cosine.
      const [ea, eb] = await Promise.all([
        this.embed(left, queryCaps),
        this.embed(right, docCaps),
      ]);
      scores = pairs.map(([i, j]) => cosine(ea.embeddings[i], eb.embeddings[j]));
      usage = sumUsage(ea.usage, eb.usage);
      metadata = ea.metadata!;
    }
    const result: ScoreResult = { scores, usage, metadata };
    if (opts.matrix) result.matrix = left.map((_, i) => scores.slice(i * right.length, (i + 1) * right.length));
    return result;
  }

  /** Score one query against documents and sort by descending relevance (each keeps its index). */
  async rerank(query: string, documents: string[], opts: RerankOptions = {}): Promise<RerankResult> {
    if (typeof query !== 'string') throw new BadRequestError('query must be a string.');
    if (!Array.isArray(documents) || documents.length === 0) throw new BadRequestError('documents must be a non-empty list of strings.');
    const topN = opts.topN;
    if (topN !== undefined && topN !== null && (!Number.isInteger(topN) || topN < 0)) throw new BadRequestError(`top_n must be a non-negative integer, got ${showValue(topN)}`);
    const { scores, usage, metadata } = await this.score(query, documents, { ...opts, matrix: false });
    const results = scores
      .map((relevanceScore, index) => ({ index, relevanceScore, ...(opts.returnDocuments ? { document: documents[index] } : {}) }))
      .sort((x, y) => y.relevanceScore - x.relevanceScore || x.index - y.index);
    return { results: topN ? results.slice(0, topN) : results, usage, metadata };
  }

  /**
   * Per-token outputs for every real token. token_embed: hidden states truncated to `dimensions`
   * and L2-normalized (raw last_hidden_state with useActivation: false). token_classify: per-token
   * class probabilities (logits with useActivation: false).
   */
  async encode(input: Input | Input[], opts: TokenOptions): Promise<TokenResult> {
    const task = opts?.task;
    if (task !== 'token_embed' && task !== 'token_classify') throw new BadRequestError(`Unknown task ${typeof task === 'string' ? `'${task}'` : showValue(task)} for encode: use token_embed or token_classify.`);
    this.requireTask(task);
    const t0 = now();
    const texts = this.inputs(input);
    checkTaskParams(task, { ...extraParams(opts), dimensions: opts.dimensions, use_activation: opts.useActivation });
    const prompt = this.resolvePrompt(opts);
    let items: Item[];
    if (task === 'token_embed') {
      const token = { dims: this.dimensions(opts.dimensions, this.info.hiddenSize), normalize: opts.useActivation ?? true };
      items = texts.map((t, i) => ({ seq: this.encodeInput(this.withPrompt(prompt, t), undefined, opts, i), token }));
    } else {
      const activation: ClassifierActivation = opts.useActivation === false ? 'none' : 'softmax';
      items = texts.map((t, i) => ({ seq: this.encodeInput(this.withPrompt(prompt, t), undefined, opts, i), activation }));
    }
    const { outputs, usage, metadata } = await this.submit(task === 'token_embed' ? 'token_embed' : 'classify', items, opts, now() - t0);
    return { data: outputs as Float32Array[][], usage, metadata };
  }

  tokenize(text: string, opts: { addSpecialTokens?: boolean; returnTokenStrs?: boolean } = {}): TokenizeResult {
    this.checkOpen();
    if (typeof text !== 'string') throw new BadRequestError('prompt must be a string.');
    const enc = this.tokenizer.encode(text, undefined, { addSpecialTokens: opts.addSpecialTokens ?? true });
    return { tokens: enc.ids, count: enc.ids.length, maxModelLen: this.info.maxLength, ...(opts.returnTokenStrs ? { tokenStrs: enc.tokens } : {}) };
  }

  /** The text a chat renders to with the chat template (--chat-template, else the tokenizer's). */
  renderChat(messages: ChatMessage[], opts: ChatOptions = {}): string {
    this.checkOpen();
    return renderChat(messages, { ...opts, chatTemplate: opts.chatTemplate ?? this.chatTemplate }, this.tokenizer);
  }

  detokenize(ids: number[]): string {
    this.checkOpen();
    if (!Array.isArray(ids) || ids.some((i) => !Number.isInteger(i) || i < 0)) throw new BadRequestError('tokens must be a list of non-negative integers.');
    return this.tokenizer.decode(ids);
  }

  /**
   * Scheduler statistics (batches run, mean fill, rejected requests, tokens processed, what is
   * queued) and the backend's live buffers and bytes (weights, params, pooled activations).
   */
  stats() {
    const pool = this.gpu.pool.stats();
    // Pooled free buffers are live (not destroyed) but held for reuse: reported apart, so "in use"
    // can be compared across time without trimming the pool.
    return { ...this.scheduler.stats(), gpuBuffers: { ...this.gpu.bufferCount(), pooledFreeBuffers: pool.freeBuffers, pooledFreeBytes: pool.freeBytes } };
  }

  private checkOpen(): void {
    if (this.disposed) throw new EngineDisposedError();
  }

  /** Free every GPU buffer and the device (unless it was the caller's). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.scheduler.close(new EngineDisposedError());
    const d = await this.keeper.retire();
    if (!d) return; // lost: its context was destroyed when the loss was seen
    await this.submitting;
    await d.gpu.idle();
    d.heads.embed.dispose();
    d.heads.token.dispose();
    d.heads.classifier?.dispose();
    d.body.dispose();
    d.gpu.destroy();
  }
}

/** Internal: per-side text token caps that score hands to the tokenizer (router/types ScoreOptions). */
interface SideCaps extends CommonOptions {
  maxTextTokens?: [number | undefined, number | undefined];
}

/** Pooling parameters a caller passed that this task's options do not declare (from untyped callers). */
function extraParams(opts: object): Record<string, unknown> {
  const o = opts as Record<string, unknown>;
  return { dimensions: o.dimensions, normalize: o.normalize };
}

function sumUsage(a: Usage, b: Usage): Usage {
  return { promptTokens: a.promptTokens + b.promptTokens, totalTokens: a.totalTokens + b.totalTokens };
}

/** Load a model and get an engine for it (sentence-transformers / vLLM-style tasks). */
export function createEngine(opts: EngineOptions): Promise<Engine> {
  return Engine.load(opts);
}
