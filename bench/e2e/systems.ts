// The systems under test, behind one interface so the harness (bench.ts) times them all the same
// way: wgpool (browser WebGPU or Node/Dawn) and Transformers.js (WebGPU, WASM, or onnxruntime-node
// CPU in Node) on the ONNX export of the same weights.

import { createEngine, type Engine } from '../../src/engine';
import { acquireDevice, type AdapterReport } from '../../src/gpu/device';
import type { MatmulVariant } from '../../src/kernels/matmul';
import type { ModelSource } from '../../src/loading/source';
import { cosine } from '../../src/router/scoring';
import type { SchedulerOptions, SchedulerStats } from '../../src/scheduler/queue';

export const SYSTEM_NAMES = ['wgpool', 'wgpool_cpu', 'transformersjs_webgpu', 'transformersjs_wasm', 'wgpool_node', 'wgpool_cpu_node', 'transformersjs_node'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

export interface LoadTiming {
  /** From nothing to ready for the first request: device, files, weights, pipelines / sessions. */
  loadMs: number;
  /** Wall time spent reading model files (wgpool only: its ModelSource reads are timed). */
  fetchMs: number | null;
  /** Wall time during which shader modules / compute pipelines were being created (wgpool only). */
  compileMs: number | null;
  /** Memory of the load (wgpool WebGPU only; loadMemory() says how it was measured). */
  memory?: LoadMemory;
}

/**
 * What a load cost in memory. Node: process.memoryUsage() sampled every 2 ms and at every progress
 * event during the load — peak RSS, V8 heap and ArrayBuffer bytes. Chromium:
 * performance.measureUserAgentSpecificMemory() (cross-origin isolated pages only) once the engine is
 * ready — the page's JS memory then, not a peak (the API has no peak); elsewhere `note` says why not.
 */
export interface LoadMemory {
  how: 'process.memoryUsage' | 'measureUserAgentSpecificMemory' | 'unavailable';
  peak_rss_mb?: number;
  peak_heap_mb?: number;
  peak_array_buffers_mb?: number;
  /** Chromium: bytes the page's JS realms hold after the load. */
  after_load_mb?: number;
  note?: string;
}

const MiB = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

/** Start measuring a load's memory; call the result when the load is done. */
function loadMemory(): { sample: () => void; done: () => Promise<LoadMemory> } {
  const proc = (globalThis as { process?: { memoryUsage?: () => { rss: number; heapUsed: number; arrayBuffers: number } } }).process;
  if (proc?.memoryUsage && typeof window === 'undefined') {
    const peak = { rss: 0, heap: 0, ab: 0 };
    const sample = () => {
      const m = proc.memoryUsage!();
      peak.rss = Math.max(peak.rss, m.rss);
      peak.heap = Math.max(peak.heap, m.heapUsed);
      peak.ab = Math.max(peak.ab, m.arrayBuffers);
    };
    sample();
    const timer = setInterval(sample, 2);
    return {
      sample,
      done: async () => {
        clearInterval(timer);
        sample();
        return { how: 'process.memoryUsage', peak_rss_mb: MiB(peak.rss), peak_heap_mb: MiB(peak.heap), peak_array_buffers_mb: MiB(peak.ab) };
      },
    };
  }
  const perf = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> };
  return {
    sample: () => undefined,
    done: async () => {
      if (typeof perf.measureUserAgentSpecificMemory !== 'function') {
        return { how: 'unavailable', note: 'performance.measureUserAgentSpecificMemory is missing in this browser' };
      }
      if (!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) {
        return { how: 'unavailable', note: 'the page is not cross-origin isolated (COOP/COEP), which measureUserAgentSpecificMemory needs' };
      }
      try {
        const m = await perf.measureUserAgentSpecificMemory();
        return { how: 'measureUserAgentSpecificMemory', after_load_mb: MiB(m.bytes), note: 'JS memory once the engine is ready (the API gives no peak)' };
      } catch (e) {
        return { how: 'unavailable', note: `measureUserAgentSpecificMemory failed: ${(e as Error).message}` };
      }
    },
  };
}

export interface BenchSystem {
  readonly name: SystemName;
  readonly runtime: 'chromium' | 'node';
  load(): Promise<LoadTiming>;
  /** One vector per text, the model's main output (BenchTask): its pooled (and, per the model,
   * normalized) embedding, or a sequence classifier's class probabilities in label-id order. */
  outputs(texts: string[]): Promise<Float32Array[]>;
  /** Wall time of tokenizing the texts the way outputs() does, without running the model. */
  tokenize(texts: string[]): number;
  /** Relevance of each document to the query, in document order. */
  rerank(query: string, docs: string[]): Promise<number[]>;
  /** What it ran on: backend, adapter, threads. */
  describe(): Record<string, unknown>;
  /** Batching statistics, where the system batches across callers. */
  stats?(): SchedulerStats;
  dispose(): Promise<void>;
}

const now = (): number => performance.now();

/** Wall time covered by at least one open interval (overlapping work counts once). */
class BusyClock {
  private open = 0;
  private since = 0;
  total = 0;

  begin(): void {
    if (this.open++ === 0) this.since = now();
  }

  end(): void {
    if (--this.open === 0) this.total += now() - this.since;
  }

  track<T>(p: Promise<T>): Promise<T> {
    this.begin();
    return p.finally(() => this.end());
  }

  sync<T>(f: () => T): T {
    this.begin();
    try {
      return f();
    } finally {
      this.end();
    }
  }
}

/** A ModelSource whose reads are timed on `clock`. */
function timedSource(src: ModelSource, clock: BusyClock): ModelSource {
  return {
    id: src.id,
    exists: (p) => clock.track(src.exists(p)),
    bytes: (p, s) => clock.track(src.bytes(p, s)),
    text: (p, s) => clock.track(src.text(p, s)),
    json: <T>(p: string, s?: AbortSignal) => clock.track(src.json<T>(p, s)),
    // The listing and the streamed weights pass through, so the bench loads as a page would (only
    // opening a stream is timed: its bytes arrive during the upload).
    ...(src.list ? { list: (s?: AbortSignal) => clock.track(src.list!(s)) } : {}),
    ...(src.stream ? { stream: (p: string, s?: AbortSignal) => clock.track(src.stream!(p, s)) } : {}),
  };
}

/** wgpool on WebGPU (page / Dawn) or on its CPU backend (WebAssembly SIMD, page / Node). */
export type WgpoolSystemName = 'wgpool' | 'wgpool_node' | 'wgpool_cpu' | 'wgpool_cpu_node';

/** What the bench times: embed for embedding models, classify for sequence classifiers (and cross-encoders, one text each). */
export type BenchTask = 'embed' | 'classify';

export interface WgpoolSystemOptions {
  name: WgpoolSystemName;
  source: ModelSource;
  task?: BenchTask;
  matmulVariant?: MatmulVariant;
  scheduler?: Partial<SchedulerOptions>;
  /** wgpool rejects inputs over the model's length; the other systems truncate, so wgpool does too. */
  truncate?: boolean;
  /** The CPU backend's threads (default: the engine's — the cores, at most 4, when isolated). */
  threads?: number;
}

export class WgpoolSystem implements BenchSystem {
  readonly name: WgpoolSystemName;
  readonly runtime: 'chromium' | 'node';
  private engine: Engine | null = null;
  private device: GPUDevice | null = null;
  private adapter: AdapterReport | null = null;
  private variant: MatmulVariant | null = null;

  constructor(private readonly opts: WgpoolSystemOptions) {
    this.name = opts.name;
    this.runtime = opts.name === 'wgpool' || opts.name === 'wgpool_cpu' ? 'chromium' : 'node';
  }

  private get cpu(): boolean {
    return this.opts.name === 'wgpool_cpu' || this.opts.name === 'wgpool_cpu_node';
  }

  async load(): Promise<LoadTiming> {
    const t0 = now();
    if (this.cpu) {
      // The CPU backend compiles its WebAssembly once (~30 KB); weights are packed at the first batch.
      const files = new BusyClock();
      this.engine = await createEngine({ model: timedSource(this.opts.source, files), backend: 'cpu', threads: this.opts.threads, scheduler: this.opts.scheduler });
      return { loadMs: now() - t0, fetchMs: files.total, compileMs: null };
    }
    // The device is requested here (as createEngine would) so that its pipeline creation can be
    // timed; the engine picks its matmul variant by its timed trial (src/gpu/autotune.ts) unless told.
    const memory = loadMemory();
    const { device, report } = await acquireDevice();
    const compile = new BusyClock();
    const files = new BusyClock();
    const createPipeline = device.createComputePipelineAsync.bind(device);
    const createModule = device.createShaderModule.bind(device);
    device.createComputePipelineAsync = (d) => compile.track(createPipeline(d));
    device.createShaderModule = (d) => compile.sync(() => createModule(d));
    this.device = device;
    this.adapter = report;
    this.engine = await createEngine({
      model: timedSource(this.opts.source, files),
      device,
      matmulVariant: this.opts.matmulVariant,
      matmulTune: 'always',
      // Every run times the trial (its cost is a reported number): no choice remembered from the model cache.
      cache: false,
      scheduler: this.opts.scheduler,
      onProgress: memory.sample,
    });
    this.variant = this.engine.info.matmul.variant;
    const loadMs = now() - t0;
    return { loadMs, fetchMs: files.total, compileMs: compile.total, memory: await memory.done() };
  }

  private get e(): Engine {
    if (!this.engine) throw new Error(`${this.name} is not loaded`);
    return this.engine;
  }

  async outputs(texts: string[]): Promise<Float32Array[]> {
    const truncation = this.opts.truncate === false ? {} : { truncatePromptTokens: -1 };
    if (this.opts.task === 'classify') return (await this.e.classify(texts, truncation)).data.map((d) => Float32Array.from(d.probs));
    return (await this.e.embed(texts, truncation)).embeddings;
  }

  tokenize(texts: string[]): number {
    const t0 = now();
    for (const t of texts) this.e.tokenize(t);
    return now() - t0;
  }

  async rerank(query: string, docs: string[]): Promise<number[]> {
    const r = await this.e.rerank(query, docs, this.opts.truncate === false ? {} : { truncatePromptTokens: -1 });
    const scores = new Array<number>(docs.length);
    for (const x of r.results) scores[x.index] = x.relevanceScore;
    return scores;
  }

  stats(): SchedulerStats {
    return this.e.stats();
  }

  describe(): Record<string, unknown> {
    const a = this.adapter;
    const b = this.engine?.info.backend;
    if (this.cpu) return { backend: 'cpu', simd: b?.simd ?? null, threads: b?.threads ?? null, pooling: this.engine?.info.pooling ?? null, normalize: this.engine?.info.normalize ?? null };
    return {
      backend: 'webgpu',
      adapter: a ? [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || a.device : null,
      software_adapter: a?.isSoftware ?? null,
      matmul_variant: this.variant,
      // How the variant was chosen and what the trial cost at load (part of load_ms).
      matmul_choice: this.engine?.info.matmul.source ?? null,
      matmul_tune_ms: this.engine?.info.matmul.costMs ?? null,
      matmul_trials: this.engine?.info.matmul.trials ?? null,
      pooling: this.engine?.info.pooling ?? null,
      normalize: this.engine?.info.normalize ?? null,
    };
  }

  async dispose(): Promise<void> {
    await this.engine?.dispose();
    this.device?.destroy();
    this.engine = null;
    this.device = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Transformers.js

/** The part of @huggingface/transformers this bench uses (kept structural: the module is loaded dynamically). */
export interface TjsTensor {
  dims: number[];
  data: Float32Array;
}
export type TjsExtractor = ((texts: string[], opts: { pooling: string; normalize: boolean }) => Promise<TjsTensor>) & {
  tokenizer: (texts: string[], opts: { padding: boolean; truncation: boolean }) => unknown;
  dispose(): Promise<void>;
};
/** The text-classification pipeline with `top_k: null`: every label with its score, per text. */
export type TjsClassifier = ((texts: string[], opts: { top_k: null }) => Promise<{ label: string; score: number }[][]>) & {
  tokenizer: TjsExtractor['tokenizer'];
  dispose(): Promise<void>;
};
export interface TjsModule {
  env: {
    allowRemoteModels: boolean;
    allowLocalModels: boolean;
    localModelPath: string;
    useBrowserCache: boolean;
    useFSCache?: boolean;
    useWasmCache?: boolean;
    backends: { onnx: { wasm?: { numThreads?: number; wasmPaths?: unknown; proxy?: boolean } } };
  };
  pipeline(task: 'feature-extraction', model: string, opts: Record<string, unknown>): Promise<TjsExtractor>;
  pipeline(task: 'text-classification', model: string, opts: Record<string, unknown>): Promise<TjsClassifier>;
}

/** wgpool's pooling mode → the feature-extraction pipeline's, where Transformers.js has it. */
export function tjsPooling(mode: string): string | null {
  // Transformers.js 'last_token' takes the last column, which is a pad under right padding.
  return ({ mean: 'mean', cls: 'cls' } as Record<string, string>)[mode] ?? null;
}

export interface TjsSystemOptions {
  name: 'transformersjs_webgpu' | 'transformersjs_wasm' | 'transformersjs_node';
  tjs: TjsModule;
  /** Model id under env.localModelPath (the folder name). */
  modelId: string;
  pooling: string;
  normalize: boolean;
  /** classify: the text-classification pipeline, its scores put in the order of `labels` (id2label). */
  task?: BenchTask;
  labels?: string[];
  /** Reported: the WASM thread count in effect. */
  threads?: number;
}

export class TransformersJsSystem implements BenchSystem {
  readonly name: TjsSystemOptions['name'];
  readonly runtime: 'chromium' | 'node';
  private pipe: TjsExtractor | null = null;
  private classifier: TjsClassifier | null = null;

  constructor(private readonly opts: TjsSystemOptions) {
    this.name = opts.name;
    this.runtime = opts.name === 'transformersjs_node' ? 'node' : 'chromium';
  }

  private get device(): string {
    return { transformersjs_webgpu: 'webgpu', transformersjs_wasm: 'wasm', transformersjs_node: 'cpu' }[this.name];
  }

  async load(): Promise<LoadTiming> {
    const t0 = now();
    const opts = { device: this.device, dtype: 'fp32' };
    if (this.opts.task === 'classify') this.classifier = await this.opts.tjs.pipeline('text-classification', this.opts.modelId, opts);
    else this.pipe = await this.opts.tjs.pipeline('feature-extraction', this.opts.modelId, opts);
    return { loadMs: now() - t0, fetchMs: null, compileMs: null };
  }

  async outputs(texts: string[]): Promise<Float32Array[]> {
    if (this.classifier) {
      const labels = this.opts.labels ?? [];
      const out = await this.classifier(texts, { top_k: null });
      // One text gives one list, several give a list per text.
      const perText = texts.length === 1 && !Array.isArray(out[0]) ? [out as unknown as { label: string; score: number }[]] : out;
      return perText.map((scores) => Float32Array.from(labels, (l) => scores.find((s) => s.label === l)?.score ?? NaN));
    }
    if (!this.pipe) throw new Error(`${this.name} is not loaded`);
    const out = await this.pipe(texts, { pooling: this.opts.pooling, normalize: this.opts.normalize });
    const [b, h] = out.dims;
    return Array.from({ length: b }, (_, i) => out.data.slice(i * h, (i + 1) * h));
  }

  tokenize(texts: string[]): number {
    const pipe = this.pipe ?? this.classifier;
    if (!pipe) throw new Error(`${this.name} is not loaded`);
    // What the pipeline calls before the model.
    const t0 = now();
    pipe.tokenizer(texts, { padding: true, truncation: true });
    return now() - t0;
  }

  async rerank(query: string, docs: string[]): Promise<number[]> {
    // A bi-encoder rerank: embed query and documents in one call, then cosine.
    const [q, ...d] = await this.outputs([query, ...docs]);
    return d.map((v) => cosine(q, v));
  }

  describe(): Record<string, unknown> {
    return {
      backend: this.device,
      pooling: this.opts.pooling,
      normalize: this.opts.normalize,
      ...(this.opts.threads !== undefined ? { num_threads: this.opts.threads } : {}),
    };
  }

  async dispose(): Promise<void> {
    await (this.pipe ?? this.classifier)?.dispose();
    this.pipe = null;
    this.classifier = null;
  }
}
