// The files one load reads, fetched once and counted into the progress stream.
//
// Where the source can list its files, the files a pooling model needs are known before any is
// read: the download total is exact up front and every file is fetched in the download phase,
// before parsing starts. Where it cannot (a plain URL prefix), the loaders discover the files as
// they go and each read reports its bytes as it arrives. Either way a file is read at most once per
// load (the loaders ask for config.json and friends more than once), and the bytes are held only
// until the load ends: the safetensors views point into them, so nothing is copied twice.

import { abortError } from '../gpu/errors';
import type { LoadTracker } from './progress';
import { SHARD_INDEX, SINGLE_FILE } from './safetensors';
import { BaseSource, bytesStream, type FileEntry, type FileStream, type ModelSource, type ProgressFn } from './source_base';

/** Top-level files the loaders read when the model has them. */
const ROOT_FILES = new Set([
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'modules.json',
  'config_sentence_transformers.json',
  'sentence_bert_config.json',
  SHARD_INDEX,
]);

/** sentence-transformers module folders (1_Pooling, 2_Dense, …): their config and weights. */
const MODULE_FILE = /^\d+_[^/]+\/(config\.json|model\.safetensors)$/;

/** From a listing, the files a load of this model will read. */
export function plannedFiles(listing: readonly FileEntry[]): FileEntry[] {
  const sharded = listing.some((f) => f.path === SHARD_INDEX);
  return listing.filter((f) => {
    if (ROOT_FILES.has(f.path) || MODULE_FILE.test(f.path)) return true;
    if (f.path.includes('/') || !f.path.endsWith('.safetensors')) return false;
    // One checkpoint or its shards, never both (a repo may carry a leftover merged file).
    return sharded ? f.path !== SINGLE_FILE : f.path === SINGLE_FILE;
  });
}

export class LoadFiles extends BaseSource {
  private readonly held = new Map<string, Promise<Uint8Array>>();
  private listing: FileEntry[] | null = null;

  constructor(
    private readonly inner: ModelSource,
    private readonly tracker: LoadTracker,
    private readonly signal?: AbortSignal,
  ) {
    super(inner.id);
  }

  /**
   * List the source (when it can) and fetch every planned file now, in the download phase. With
   * `streamWeights`, the .safetensors files are left for stream() (they go to the GPU as they arrive).
   */
  async prefetch(streamWeights = false): Promise<void> {
    this.listing = (await this.inner.list?.(this.signal)) ?? null;
    if (!this.listing) return;
    const planned = plannedFiles(this.listing);
    this.tracker.plan(planned);
    // Small files together, then the weights one at a time (bounded memory in flight).
    const small = planned.filter((f) => !f.path.endsWith('.safetensors'));
    const big = planned.filter((f) => f.path.endsWith('.safetensors'));
    await Promise.all(small.map((f) => this.bytes(f.path)));
    if (streamWeights) return;
    for (const f of big) await this.bytes(f.path);
  }

  /** A file as a stream, counted into the download phase; nothing is held (a streamed file is read once). */
  async stream(path: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<FileStream> {
    const s = signal ?? this.signal;
    if (s?.aborted) throw abortError(s.reason);
    const progress: ProgressFn = (loaded, total) => {
      this.tracker.download(path, loaded, total);
      onProgress?.(loaded, total);
    };
    const held = this.held.get(path);
    if (held) {
      const data = await held;
      return { body: bytesStream(data), size: data.byteLength };
    }
    if (this.inner.stream) return this.inner.stream(path, s, progress);
    const data = await this.inner.bytes(path, s, progress);
    return { body: bytesStream(data), size: data.byteLength };
  }

  /** The listing prefetch() saw, or null. */
  files(): FileEntry[] | null {
    return this.listing;
  }

  async exists(path: string): Promise<boolean> {
    if (this.held.has(path)) return true;
    if (this.listing) return this.listing.some((f) => f.path === path);
    return this.inner.exists(path);
  }

  bytes(path: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array> {
    const s = signal ?? this.signal;
    if (s?.aborted) return Promise.reject(abortError(s.reason));
    let hit = this.held.get(path);
    if (!hit) {
      hit = this.inner.bytes(path, s, (loaded, total) => {
        this.tracker.download(path, loaded, total);
        onProgress?.(loaded, total);
      });
      this.held.set(path, hit);
      hit.catch(() => this.held.delete(path));
    }
    return hit;
  }

  async list(): Promise<FileEntry[] | null> {
    return this.listing;
  }

  /** Drop the held bytes (the load is over). */
  release(): void {
    this.held.clear();
  }
}
