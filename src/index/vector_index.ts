// VectorIndex: corpus embeddings held on the GPU, searched by cosine in WGSL.
//
// Texts go through the engine straight into the corpus matrix (engine.embedInto: no readback);
// vectors are normalized on the host and written in. A search scans all rows in one dispatch
// (dot_scores, or hamming_scores over the packed sign bits then exact rescoring), selects the top k
// on the GPU (top_k), and reads back only [Q, k] scores and row numbers. Optionally a cross-encoder
// reranks the best n. Mutations and searches run one at a time, in call order.

import type { Engine } from '../engine';
import type { Gpu } from '../gpu/context';
import { BadRequestError, EngineDisposedError, showValue } from '../gpu/errors';
import { MAX_K, NO_ID } from '../kernels/top_k';
import type { EngineApi } from '../router/types';
import { GpuCorpus, corpusByteLimit } from './corpus';
import { SearchKernels, SearchPlan, type SearchMode } from './search';
import { checkModel, decodeIndex, encodeIndex, modelIdentity, type IndexSnapshot, type ModelIdentity } from './serialize';
import type { IndexStore } from './store';

/** What the index needs from an engine: its device, its identity, and embedding into a GPU buffer. */
export type IndexEngine = Pick<Engine, 'gpu' | 'info' | 'embedInto' | 'embed'>;

export interface VectorIndexOptions {
  /** Embed texts (addTexts, text queries) with this engine; the index lives on its device. */
  engine?: IndexEngine;
  /** Without an engine: the GPU context to live on (vectors only). */
  gpu?: Gpu;
  /** Vector width (default: the engine's embedding size; a smaller one needs a matryoshka model). */
  dimensions?: number;
  /** Recorded with the model identity, checked on load (e.g. the hub revision). */
  revision?: string | null;
  /** Rows to allocate up front (grows by doubling anyway). */
  capacity?: number;
}

export interface IndexEntry {
  id: string;
  metadata?: unknown;
}

export interface TextEntry extends IndexEntry {
  text: string;
}

export interface VectorEntry extends IndexEntry {
  vector: ArrayLike<number>;
  /** Kept for reranking and display. */
  text?: string;
}

export interface AddOptions {
  /** Texts per embedInto call (progress granularity). */
  batchSize?: number;
  /** Keep each text with its row (needed by the rerank stage). Default true. */
  storeText?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** vLLM's truncate_prompt_tokens for the texts (-1: the model's limit); default: refuse long texts. */
  truncatePromptTokens?: number;
}

export interface SearchOptions {
  /** Results per query (default 10; capped at the corpus size and MAX_K). */
  k?: number;
  /** 'float' (exact cosine) or 'binary' (Hamming over sign bits, then exact rescoring). */
  mode?: SearchMode;
  /** Binary mode: Hamming candidates rescored exactly (default max(4k, 40), at most MAX_K). */
  candidates?: number;
  /** Second stage: score the top `topN` (default k) texts with a cross-encoder, best first. */
  rerank?: { engine: Pick<EngineApi, 'rerank'>; topN?: number };
  signal?: AbortSignal;
  /** vLLM's truncate_prompt_tokens for text queries (-1: the model's limit); default: refuse long ones. */
  truncatePromptTokens?: number;
}

export interface SearchHit {
  id: string;
  /** Cosine similarity to the query. */
  score: number;
  /** The cross-encoder's relevance score, when reranked. */
  rerankScore?: number;
  metadata?: unknown;
  text?: string;
}

/** Scale a vector to unit length in float64, refusing NaN/∞ and zero vectors. */
export function unitVector(v: ArrayLike<number>, dims: number, what: string): Float32Array {
  if (!v || v.length !== dims) throw new BadRequestError(`${what} has ${v?.length ?? 0} dimensions; the index has ${dims}`);
  let q = 0;
  for (let i = 0; i < dims; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) throw new BadRequestError(`${what} has a non-finite value at ${i}`);
    q += x * x;
  }
  if (q === 0) throw new BadRequestError(`${what} is all zeros: it has no direction to compare by cosine`);
  const s = 1 / Math.sqrt(q);
  return Float32Array.from({ length: dims }, (_, i) => v[i] * s);
}

export class VectorIndex {
  private ids: string[] = [];
  private meta: unknown[] = [];
  private texts: (string | undefined)[] = [];
  private readonly rowOf = new Map<string, number>();
  /** The last plan per mode, so alternating float and binary searches both stay cached. */
  private readonly plans = new Map<SearchMode, SearchPlan>();
  private tail: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    readonly gpu: Gpu,
    private readonly corpus: GpuCorpus,
    private readonly kernels: SearchKernels,
    readonly model: ModelIdentity | null,
    private readonly engine: IndexEngine | null,
  ) {}

  static async create(opts: VectorIndexOptions): Promise<VectorIndex> {
    const engine = opts.engine ?? null;
    const gpu = engine?.gpu ?? opts.gpu;
    if (!gpu) throw new BadRequestError('VectorIndex needs an engine (to embed texts) or a gpu (vectors only).');
    if (engine && opts.gpu && opts.gpu !== engine.gpu) throw new BadRequestError('VectorIndex: the gpu must be the engine\'s (embeddings are copied on the device).');
    const dims = opts.dimensions ?? engine?.info.embeddingSize;
    if (dims === undefined) throw new BadRequestError('VectorIndex without an engine needs `dimensions`.');
    const model = engine ? await modelIdentity(engine, dims, opts.revision ?? null) : null;
    const [corpus, kernels] = await Promise.all([GpuCorpus.create(gpu, dims, opts.capacity), SearchKernels.create(gpu)]);
    return new VectorIndex(gpu, corpus, kernels, model, engine);
  }

  get size(): number {
    return this.corpus.count;
  }

  get dimensions(): number {
    return this.corpus.dims;
  }

  /** Rows allocated on the GPU, and the most this adapter allows. */
  get capacity(): { rows: number; maxRows: number } {
    return { rows: this.corpus.capacity, maxRows: this.corpus.maxRows() };
  }

  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  get(id: string): { id: string; metadata?: unknown; text?: string } | undefined {
    const r = this.rowOf.get(id);
    return r === undefined ? undefined : this.entry(r);
  }

  private entry(r: number): { id: string; metadata?: unknown; text?: string } {
    return { id: this.ids[r], ...(this.meta[r] !== undefined ? { metadata: this.meta[r] } : {}), ...(this.texts[r] !== undefined ? { text: this.texts[r] } : {}) };
  }

  /** Run `fn` after every earlier mutation/search (index state is never seen half-changed). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new EngineDisposedError('This index was disposed.'));
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private checkNewIds(entries: readonly IndexEntry[]): void {
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      if (!e || typeof e.id !== 'string') throw new BadRequestError(`entry ${i}: id must be a string`);
      if (this.rowOf.has(e.id) || seen.has(e.id)) throw new BadRequestError(`The index already has id "${e.id}"; remove it first.`);
      seen.add(e.id);
    });
  }

  private append(entries: readonly (IndexEntry & { text?: string })[], storeText: boolean): void {
    for (const e of entries) {
      const r = this.ids.length;
      this.rowOf.set(e.id, r);
      this.ids.push(e.id);
      this.meta.push(e.metadata);
      this.texts.push(storeText ? e.text : undefined);
    }
    this.corpus.count = this.ids.length;
  }

  /** Embed texts with the engine, straight into the corpus matrix on the GPU. */
  addTexts(entries: readonly TextEntry[], opts: AddOptions = {}): Promise<{ added: number; promptTokens: number }> {
    return this.serial(async () => {
      const engine = this.requireEngine('addTexts');
      this.checkNewIds(entries);
      entries.forEach((e, i) => {
        if (typeof e.text !== 'string') throw new BadRequestError(`entry ${i} ("${e.id}"): text must be a string`);
      });
      await this.corpus.reserve(entries.length);
      const batch = Math.max(1, opts.batchSize ?? 256);
      const D = this.corpus.dims;
      const dimensions = D === engine.info.embeddingSize ? undefined : D;
      let tokens = 0;
      for (let start = 0; start < entries.length; start += batch) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException('Aborted', 'AbortError');
        const part = entries.slice(start, start + batch);
        const r = await engine.embedInto(
          part.map((e) => e.text),
          { buffer: this.corpus.vectors, offset: this.corpus.count * D * 4, stride: D * 4 },
          { dimensions, normalize: true, signal: opts.signal, truncatePromptTokens: opts.truncatePromptTokens },
        );
        tokens += r.usage.promptTokens;
        this.corpus.touched();
        this.append(part, opts.storeText ?? true);
        this.invalidate();
        opts.onProgress?.(start + part.length, entries.length);
      }
      return { added: entries.length, promptTokens: tokens };
    });
  }

  /** Add vectors (normalized here: the index compares directions). */
  addVectors(entries: readonly VectorEntry[]): Promise<{ added: number }> {
    return this.serial(async () => {
      this.checkNewIds(entries);
      const D = this.corpus.dims;
      const rows = new Float32Array(entries.length * D);
      entries.forEach((e, i) => rows.set(unitVector(e.vector, D, `vector "${e.id}"`), i * D));
      await this.corpus.reserve(entries.length);
      this.corpus.write(this.corpus.count, rows);
      this.append(entries, true);
      this.invalidate();
      return { added: entries.length };
    });
  }

  /** Remove ids (unknown ids are skipped); resolves with how many were removed. */
  remove(ids: string | readonly string[]): Promise<number> {
    return this.serial(async () => {
      const gone = new Set<number>();
      for (const id of typeof ids === 'string' ? [ids] : ids) {
        const r = this.rowOf.get(id);
        if (r !== undefined) gone.add(r);
      }
      if (!gone.size) return 0;
      const n = this.ids.length - gone.size;
      // Holes below the new end are filled by surviving rows above it.
      const holes = [...gone].filter((r) => r < n).sort((a, b) => a - b);
      const movers: number[] = [];
      for (let r = n; r < this.ids.length; r++) if (!gone.has(r)) movers.push(r);
      this.corpus.move(movers, holes, n);
      for (const r of gone) this.rowOf.delete(this.ids[r]);
      holes.forEach((h, i) => {
        const m = movers[i];
        this.ids[h] = this.ids[m];
        this.meta[h] = this.meta[m];
        this.texts[h] = this.texts[m];
        this.rowOf.set(this.ids[h], h);
      });
      this.ids.length = this.meta.length = this.texts.length = n;
      this.invalidate();
      return gone.size;
    });
  }

  private invalidate(): void {
    this.plans.forEach((p) => p.destroy());
    this.plans.clear();
  }

  private requireEngine(what: string): IndexEngine {
    if (!this.engine) throw new BadRequestError(`${what} needs an engine: this index was created or loaded with vectors only.`);
    return this.engine;
  }

  /** Top k by cosine for one query (a text, embedded by the engine, or a vector). */
  async search(query: string | ArrayLike<number>, opts: SearchOptions = {}): Promise<SearchHit[]> {
    return (await this.searchBatch([query], opts))[0];
  }

  /** Top k for each query, all queries in one pass over the corpus. */
  searchBatch(queries: readonly (string | ArrayLike<number>)[], opts: SearchOptions = {}): Promise<SearchHit[][]> {
    const k = opts.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) return Promise.reject(new BadRequestError(`k must be an integer in 1..${MAX_K}, got ${showValue(k)}`));
    const mode = opts.mode ?? 'float';
    if (mode !== 'float' && mode !== 'binary') return Promise.reject(new BadRequestError(`mode must be 'float' or 'binary', got ${JSON.stringify(mode)}`));
    const candidates = Math.min(MAX_K, opts.candidates ?? Math.max(4 * k, 40));
    if (!Number.isInteger(candidates) || candidates < k) return Promise.reject(new BadRequestError(`candidates must be an integer ≥ k (${k}), got ${showValue(opts.candidates)}`));
    return this.serial(async () => {
      const hits: SearchHit[][] = [];
      const N = this.corpus.count;
      if (N === 0 || queries.length === 0) return queries.map(() => []);
      // One scores row per query must fit one binding: split big batches.
      const perChunk = Math.max(1, Math.min(queries.length, Math.floor(corpusByteLimit(this.gpu) / (N * 4)), this.gpu.device.limits.maxComputeWorkgroupsPerDimension));
      for (let s = 0; s < queries.length; s += perChunk) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException('Aborted', 'AbortError');
        hits.push(...(await this.scan(queries.slice(s, s + perChunk), k, mode, candidates, opts.truncatePromptTokens)));
      }
      if (opts.rerank) return Promise.all(hits.map((h, i) => this.rerankHits(queries[i], h, k, opts)));
      return hits;
    });
  }

  private async scan(queries: readonly (string | ArrayLike<number>)[], k: number, mode: SearchMode, candidates: number, truncatePromptTokens?: number): Promise<SearchHit[][]> {
    const Q = queries.length;
    const D = this.corpus.dims;
    if (mode === 'binary') this.corpus.bits();
    const shape = { queries: Q, k, mode, candidates };
    let plan = this.plans.get(mode);
    if (!plan || plan.key !== SearchPlan.key(this.corpus, shape)) {
      plan?.destroy();
      plan = SearchPlan.build(this.gpu, this.kernels, this.corpus, shape);
      this.plans.set(mode, plan);
    }
    // Vector queries are written from the host; text queries are embedded into the same buffer.
    const texts: { text: string; row: number }[] = [];
    queries.forEach((q, i) => {
      if (typeof q === 'string') texts.push({ text: q, row: i });
      else this.gpu.write(plan.queries, unitVector(q, D, `query ${i}`), i * D * 4);
    });
    if (texts.length) {
      const engine = this.requireEngine('A text query');
      const dimensions = D === engine.info.embeddingSize ? undefined : D;
      // Rows of one embedInto are evenly strided; text queries may sit anywhere, so one call per run.
      for (const t of texts) await engine.embedInto([t.text], { buffer: plan.queries, offset: t.row * D * 4 }, { dimensions, normalize: true, truncatePromptTokens });
    }
    const bytes = Q * plan.k * 4;
    const [sb, rb] = await this.gpu.runAndRead(`index.search.${mode}`, [plan], [[plan.outScores, bytes], [plan.outIds, bytes]]);
    const scores = new Float32Array(sb);
    const rows = new Uint32Array(rb);
    return queries.map((_, q) => {
      const out: SearchHit[] = [];
      for (let j = 0; j < plan.k; j++) {
        const r = rows[q * plan.k + j];
        if (r === NO_ID || r >= this.ids.length) continue;
        out.push({ ...this.entry(r), score: scores[q * plan.k + j] });
      }
      return out.slice(0, k);
    });
  }

  private async rerankHits(query: string | ArrayLike<number>, hits: SearchHit[], k: number, opts: SearchOptions): Promise<SearchHit[]> {
    if (typeof query !== 'string') throw new BadRequestError('rerank needs a text query.');
    const n = Math.min(hits.length, opts.rerank!.topN ?? k);
    const head = hits.slice(0, n);
    if (!head.length) return hits;
    const missing = head.find((h) => h.text === undefined);
    if (missing) throw new BadRequestError(`rerank needs each hit's text; "${missing.id}" was added without one.`);
    const { results } = await opts.rerank!.engine.rerank(query, head.map((h) => h.text!), { signal: opts.signal });
    const reranked = results.map((r) => ({ ...head[r.index], rerankScore: r.relevanceScore }));
    return [...reranked, ...hits.slice(n)];
  }

  // ---------------------------------------------------------------------------------------------
  // Persistence

  /** Everything needed to rebuild this index (vectors read back from the GPU). */
  snapshot(): Promise<IndexSnapshot> {
    return this.serial(async () => ({
      model: this.model,
      dimensions: this.corpus.dims,
      ids: [...this.ids],
      metadata: [...this.meta],
      texts: [...this.texts],
      vectors: await this.corpus.read(),
    }));
  }

  /** The snapshot as one ArrayBuffer (see serialize.ts for the layout). */
  async serialize(): Promise<ArrayBuffer> {
    return encodeIndex(await this.snapshot());
  }

  async save(store: IndexStore, name: string): Promise<void> {
    const snap = await this.snapshot();
    await store.save(name, encodeIndex(snap), { model: snap.model, dimensions: snap.dimensions, count: snap.ids.length });
  }

  /** Rebuild an index. With an engine, the snapshot must come from the same model (else IndexModelMismatchError). */
  static async fromSnapshot(snap: IndexSnapshot, opts: Omit<VectorIndexOptions, 'dimensions'>): Promise<VectorIndex> {
    let model = snap.model;
    if (opts.engine) model = await checkModel(snap, opts.engine, opts.revision);
    const gpu = opts.engine?.gpu ?? opts.gpu;
    if (!gpu) throw new BadRequestError('VectorIndex needs an engine or a gpu to load into.');
    const n = snap.ids.length;
    const [corpus, kernels] = await Promise.all([GpuCorpus.create(gpu, snap.dimensions, Math.max(n, opts.capacity ?? 0)), SearchKernels.create(gpu)]);
    const index = new VectorIndex(gpu, corpus, kernels, model, opts.engine ?? null);
    index.checkNewIds(snap.ids.map((id) => ({ id })));
    if (n) corpus.write(0, snap.vectors);
    index.append(
      snap.ids.map((id, i) => ({ id, metadata: snap.metadata[i] ?? undefined, text: snap.texts[i] ?? undefined })),
      true,
    );
    return index;
  }

  static async deserialize(bytes: ArrayBuffer | Uint8Array, opts: Omit<VectorIndexOptions, 'dimensions'>): Promise<VectorIndex> {
    return VectorIndex.fromSnapshot(decodeIndex(bytes), opts);
  }

  /** Load what `save` stored under `name`; a missing name is a NotFoundError. */
  static async load(store: IndexStore, name: string, opts: Omit<VectorIndexOptions, 'dimensions'>): Promise<VectorIndex> {
    return VectorIndex.deserialize(await store.load(name), opts);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.tail;
    this.disposed = true;
    this.invalidate();
    this.corpus.destroy();
  }
}
