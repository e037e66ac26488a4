// The offline cache: the files a URL or hub load downloads, kept so that the next load works with
// the network off. Browsers keep them in Cache Storage (cache_browser.ts), Node in a folder
// (cache_node.ts). Local folders and picked files are never cached: they are local already.
//
// One entry per model source + revision ("org/name" at "main" on huggingface.co, or a URL prefix),
// described by a manifest that is the only thing saying what is cached:
//   models/hub/<endpoint>/<org%2Fname>/<revision>/manifest.json
//   models/hub/<endpoint>/<org%2Fname>/<revision>/files/<generation>/<path>
// A load writes each file it downloads under a fresh generation while the bytes stream past, checks
// the byte count against Content-Length or the listing, and names the files in the manifest only
// when the whole load has succeeded (commit). A failed or aborted load deletes what it wrote
// (discard), and a file that is short, too long or an HTML page never reaches the manifest — so
// "in the manifest" means "complete and verified".
//
// Revisions: a commit hash never changes, so its cached files are used without asking the network.
// A branch or tag (e.g. "main") can move: online, each file is re-checked with If-None-Match and
// the stored ETag (304: the cached bytes; 200: the new file replaces it); offline, the cached files
// are used as they are.

import { browserCacheStore } from './cache_browser';
import type { FileEntry } from './source_base';
import { CacheError, storeError, type CacheStore, type EntryWriter } from './cache_store';

export { CacheError, CacheQuotaError, type CacheStore, type EntryWriter, type StoredBody } from './cache_store';

/** `cache` option: true (default for URL and hub sources), false, or where to keep the files. */
export type CacheOption = boolean | CacheConfig;

export interface CacheConfig {
  /** Node: the folder (default $WGPOOL_CACHE_DIR, else $XDG_CACHE_HOME/wgpool, else ~/.cache/wgpool). */
  dir?: string;
  /** Browsers: the Cache Storage cache name (default "wgpool-v1"). */
  name?: string;
  /** Any other store (a test double, IndexedDB, …). */
  store?: CacheStore;
}

/** Which model a cache entry holds. */
export interface CacheRef {
  kind: 'hub' | 'url';
  /** The hub id ("org/name") or the URL prefix. */
  id: string;
  /** Hub endpoint (hub only). */
  endpoint?: string;
  /** Hub revision; "-" for a URL prefix (it has none). */
  revision: string;
}

/** One cached file, as the manifest records it. */
interface CachedFile {
  key: string;
  size: number;
  etag?: string;
  contentType?: string;
}

interface Manifest {
  format: 1;
  ref: CacheRef;
  /** The commit the hub resolved the revision to, when a listing said. */
  commit?: string;
  /** The hub listing of the last online load: lets an offline load plan its files. */
  listing?: FileEntry[];
  files: Record<string, CachedFile>;
  /** Files a URL prefix answered as missing (an offline load must not probe for them). */
  absent?: string[];
  updatedAt: string;
}

/** What listCachedModels() reports per entry. */
export interface CachedModelInfo {
  kind: 'hub' | 'url';
  id: string;
  endpoint?: string;
  revision?: string;
  commit?: string;
  /** Number of files and their bytes. */
  files: number;
  size: number;
  updatedAt: string;
  /** The store ("Cache Storage \"wgpool-v1\"" or the folder). */
  location: string;
}

const MANIFEST = 'manifest.json';

function isNode(): boolean {
  return typeof globalThis.process !== 'undefined' && !!globalThis.process.versions?.node;
}

/** The store the option names, or null (caching off, or no Cache Storage in this context). */
export async function openCacheStore(opt: CacheOption = true): Promise<CacheStore | null> {
  if (opt === false) return null;
  const cfg = opt === true ? {} : opt;
  if (cfg.store) return cfg.store;
  // Node's store is a separate chunk that browsers never load (its node: imports are dynamic too).
  if (isNode()) return (await import('./cache_node')).nodeCacheStore(cfg.dir);
  return browserCacheStore(cfg.name);
}

/** A URL-safe key segment; long ones keep a readable start and a hash. */
function seg(s: string): string {
  const e = encodeURIComponent(s);
  if (e.length <= 120) return e;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return `${e.slice(0, 80)}~${(h >>> 0).toString(16).padStart(8, '0')}`;
}

const stripScheme = (u: string) => u.replace(/^https?:\/\//i, '').replace(/\/+$/, '');

function modelPrefix(ref: CacheRef): string {
  return ref.kind === 'hub'
    ? `models/hub/${seg(stripScheme(ref.endpoint ?? ''))}/${seg(ref.id)}/${seg(ref.revision)}/`
    : `models/url/${seg(stripScheme(ref.id))}/-/`;
}

/** A revision that names one commit forever: its files are never re-checked. */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/i.test(revision);
}

/** A file read back from the cache. */
export interface CachedBody {
  body: ReadableStream<Uint8Array>;
  size: number;
  contentType?: string;
}

/** A file being written while it downloads; it counts only after finish() verified it. */
export interface PendingFile {
  write(chunk: Uint8Array): Promise<void>;
  /** The body ended after `total` bytes: keep it if that is the size announced. */
  finish(total: number): Promise<void>;
  /** Drop it (abort, error, or not the file after all). Never throws. */
  abort(): Promise<void>;
}

/** One model's cache entry during one load: what is cached, and what this load wrote. */
export class ModelCache {
  private readonly gen = Math.random().toString(36).slice(2, 10);
  private readonly prefix: string;
  /** Files this load wrote and verified, waiting for commit(). */
  private readonly written = new Map<string, CachedFile>();
  private readonly open = new Set<PendingFile>();
  private seenListing: { files: FileEntry[]; commit?: string } | undefined;
  private readonly seenAbsent = new Set<string>();
  private done = false;

  private constructor(
    private readonly store: CacheStore,
    readonly ref: CacheRef,
    private manifest: Manifest | null,
  ) {
    this.prefix = modelPrefix(ref);
  }

  static async open(store: CacheStore, ref: CacheRef): Promise<ModelCache> {
    const prefix = modelPrefix(ref);
    let manifest: Manifest | null;
    try {
      manifest = await store.readJson<Manifest>(prefix + MANIFEST);
    } catch (e) {
      throw storeError(e, `reading the entry of "${ref.id}"`, store.location);
    }
    if (manifest && (manifest.format !== 1 || typeof manifest.files !== 'object' || manifest.files === null)) manifest = null;
    return new ModelCache(store, ref, manifest);
  }

  get location(): string {
    return this.store.location;
  }

  /** A commit-hash revision: cached files are used without asking the network. */
  get pinned(): boolean {
    return this.ref.kind === 'hub' && isCommitHash(this.ref.revision);
  }

  /** The listing the last online load saw, and the commit it resolved to. */
  listing(): { files: FileEntry[]; commit?: string } | null {
    return this.manifest?.listing ? { files: this.manifest.listing, commit: this.manifest.commit } : null;
  }

  lookup(path: string): { size: number; etag?: string } | undefined {
    const f = this.manifest?.files[path];
    return f ? { size: f.size, etag: f.etag } : undefined;
  }

  isAbsent(path: string): boolean {
    return !!this.manifest?.absent?.includes(path);
  }

  /**
   * A cached file's bytes, or null when the entry has gone (cleared storage) or has the wrong size;
   * such an entry is forgotten at once, so the next load downloads it again. A body that turns out
   * shorter or longer than recorded while streaming errors with a CacheError.
   */
  async read(path: string): Promise<CachedBody | null> {
    const f = this.manifest?.files[path];
    if (!f) return null;
    let stored;
    try {
      stored = await this.store.read(f.key);
    } catch (e) {
      throw storeError(e, `reading ${path} of "${this.ref.id}"`, this.location);
    }
    if (!stored || (stored.size !== undefined && stored.size !== f.size)) {
      await stored?.body.cancel().catch(() => undefined);
      await this.forget(path);
      return null;
    }
    const damaged = (n: number) => {
      void this.forget(path).catch(() => undefined);
      return new CacheError(`The cached ${path} of "${this.ref.id}" (${this.location}) has ${n} bytes, not ${f.size}; it has been dropped: load again to download it.`);
    };
    let count = 0;
    const reader = stored.body.getReader();
    const what = `reading ${path} of "${this.ref.id}"`;
    const location = this.location;
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        try {
          const step = await reader.read();
          if (step.done) {
            if (count !== f.size) throw damaged(count);
            ctl.close();
            return;
          }
          count += step.value.byteLength;
          if (count > f.size) throw damaged(count);
          ctl.enqueue(step.value);
        } catch (e) {
          await reader.cancel().catch(() => undefined);
          ctl.error(storeError(e, what, location));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
    return { body, size: f.size, contentType: f.contentType };
  }

  /** Start writing a file as it downloads. `expected`: Content-Length or the listing's size. */
  async writer(path: string, meta: { expected?: number; etag?: string; contentType?: string }): Promise<PendingFile> {
    if (this.done) throw new CacheError(`The cache entry of "${this.ref.id}" is closed (the load ended).`);
    const key = `${this.prefix}files/${this.gen}/${path.split('/').map(seg).join('/')}`;
    const what = `storing ${path} of "${this.ref.id}"`;
    let w: EntryWriter;
    try {
      w = await this.store.write(key, meta.contentType);
    } catch (e) {
      throw storeError(e, what, this.location);
    }
    let settled = false;
    const pending: PendingFile = {
      write: async (chunk) => {
        try {
          await w.write(chunk);
        } catch (e) {
          await pending.abort();
          throw storeError(e, what, this.location);
        }
      },
      finish: async (total) => {
        if (settled) return;
        if (meta.expected !== undefined && total !== meta.expected) {
          await pending.abort();
          return;
        }
        settled = true;
        this.open.delete(pending);
        try {
          await w.close();
        } catch (e) {
          await w.abort();
          throw storeError(e, what, this.location);
        }
        if (this.done) {
          // The load ended (aborted) while this file was closing: it must not stay.
          await this.store.delete(key).catch(() => undefined);
          return;
        }
        this.written.set(path, { key, size: total, etag: meta.etag, contentType: meta.contentType });
      },
      abort: async () => {
        if (settled) return;
        settled = true;
        this.open.delete(pending);
        await w.abort();
      },
    };
    this.open.add(pending);
    return pending;
  }

  /** What a hub listing said (written to the manifest on commit). */
  noteListing(files: FileEntry[], commit: string | undefined): void {
    this.seenListing = { files, commit };
  }

  /** A URL prefix answered "no such file". */
  noteAbsent(path: string): void {
    this.seenAbsent.add(path);
  }

  /** The load succeeded: name what it wrote in the manifest; drop what that replaces. */
  async commit(): Promise<void> {
    if (this.done) return;
    await Promise.all([...this.open].map((p) => p.abort()));
    this.done = true;
    if (this.written.size === 0 && !this.seenListing && this.seenAbsent.size === 0) return;
    try {
      // Re-read: another load of the same model may have committed meanwhile.
      const current = (await this.store.readJson<Manifest>(this.prefix + MANIFEST)) ?? this.manifest;
      const files: Record<string, CachedFile> = { ...(current?.format === 1 ? current.files : {}) };
      const stale: string[] = [];
      for (const [path, f] of this.written) {
        if (files[path] && files[path].key !== f.key) stale.push(files[path].key);
        files[path] = f;
      }
      const listing = this.seenListing?.files ?? current?.listing;
      if (this.seenListing) {
        const listed = new Set(this.seenListing.files.map((f) => f.path));
        for (const path of Object.keys(files)) {
          if (!listed.has(path)) {
            stale.push(files[path].key);
            delete files[path];
          }
        }
      }
      const absent = [...new Set([...(current?.absent ?? []), ...this.seenAbsent])].filter((p) => !files[p]);
      const manifest: Manifest = {
        format: 1,
        ref: this.ref,
        ...(this.seenListing?.commit ?? current?.commit ? { commit: this.seenListing?.commit ?? current?.commit } : {}),
        ...(listing ? { listing } : {}),
        files,
        ...(absent.length ? { absent } : {}),
        updatedAt: new Date().toISOString(),
      };
      await this.store.writeJson(this.prefix + MANIFEST, manifest);
      this.manifest = manifest;
      await Promise.all(stale.map((k) => this.store.delete(k).catch(() => undefined)));
    } catch (e) {
      await this.deleteWritten();
      throw storeError(e, `saving the entry of "${this.ref.id}"`, this.location);
    }
  }

  /** The load failed or was aborted: nothing it wrote stays. */
  async discard(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await Promise.all([...this.open].map((p) => p.abort()));
    await this.deleteWritten();
  }

  private async deleteWritten(): Promise<void> {
    await Promise.all([...this.written.values()].map((f) => this.store.delete(f.key).catch(() => undefined)));
    this.written.clear();
  }

  /** Take a file out of the manifest now (its entry is gone or damaged). */
  private async forget(path: string): Promise<void> {
    const current = await this.store.readJson<Manifest>(this.prefix + MANIFEST).catch(() => null);
    if (this.manifest) delete this.manifest.files[path];
    if (!current?.files?.[path]) return;
    const key = current.files[path].key;
    delete current.files[path];
    await this.store.writeJson(this.prefix + MANIFEST, current);
    await this.store.delete(key).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Managing the cache

async function requireStore(opt: CacheOption | undefined): Promise<CacheStore> {
  const store = await openCacheStore(opt ?? true);
  if (!store) throw new CacheError('There is no offline cache here (caching is off, or this context has no Cache Storage: pages need a secure context).');
  return store;
}

async function manifests(store: CacheStore): Promise<{ prefix: string; manifest: Manifest }[]> {
  const keys = (await store.keys('models/')).filter((k) => k.endsWith(`/${MANIFEST}`));
  const out: { prefix: string; manifest: Manifest }[] = [];
  for (const key of keys) {
    const manifest = await store.readJson<Manifest>(key);
    if (manifest?.format === 1 && manifest.ref && manifest.files) out.push({ prefix: key.slice(0, -MANIFEST.length), manifest });
  }
  return out;
}

/** Every cached model with its file count and bytes. */
export async function listCachedModels(opt?: CacheOption): Promise<CachedModelInfo[]> {
  const store = await openCacheStore(opt ?? true);
  if (!store) return [];
  try {
    return (await manifests(store)).map(({ manifest: m }) => {
      const files = Object.values(m.files);
      return {
        kind: m.ref.kind,
        id: m.ref.id,
        ...(m.ref.kind === 'hub' ? { endpoint: m.ref.endpoint, revision: m.ref.revision } : {}),
        ...(m.commit ? { commit: m.commit } : {}),
        files: files.length,
        size: files.reduce((a, f) => a + f.size, 0),
        updatedAt: m.updatedAt,
        location: store.location,
      };
    });
  } catch (e) {
    throw storeError(e, 'listing cached models', store.location);
  }
}

/**
 * Delete a model's cached files: every revision and endpoint of the hub id or URL prefix `id`, or
 * only those given. Returns how many entries (source + revision) were deleted.
 */
export async function deleteCachedModel(id: string, opts: { revision?: string; endpoint?: string; cache?: CacheOption } = {}): Promise<number> {
  const store = await requireStore(opts.cache);
  try {
    const norm = (u: string | undefined) => (u === undefined ? undefined : stripScheme(u));
    const hits = (await manifests(store)).filter(({ manifest: { ref } }) => {
      if (ref.id !== id && norm(ref.id) !== norm(id)) return false;
      if (opts.revision !== undefined && ref.revision !== opts.revision) return false;
      if (opts.endpoint !== undefined && norm(ref.endpoint) !== norm(opts.endpoint)) return false;
      return true;
    });
    // The manifest first: from that moment nothing counts as cached, even if deleting the files stops.
    for (const { prefix } of hits) {
      await store.delete(prefix + MANIFEST);
      await store.deletePrefix(prefix);
    }
    return hits.length;
  } catch (e) {
    throw storeError(e, `deleting "${id}"`, store.location);
  }
}

/** Delete every cached model and every value stored with cachePutJson(). */
export async function clearCache(opt?: CacheOption): Promise<void> {
  const store = await openCacheStore(opt ?? true);
  if (!store) return;
  try {
    for (const { prefix } of await manifests(store)) await store.delete(prefix + MANIFEST);
    await store.deletePrefix('models/');
    await store.deletePrefix('json/');
  } catch (e) {
    throw storeError(e, 'clearing the cache', store.location);
  }
}

/** A small JSON value kept beside the model files (e.g. per-adapter kernel choices), or null. */
export async function cacheGetJson<T = unknown>(key: string, opt?: CacheOption): Promise<T | null> {
  const store = await openCacheStore(opt ?? true);
  if (!store) return null;
  try {
    return await store.readJson<T>(`json/${seg(key)}.json`);
  } catch (e) {
    throw storeError(e, `reading "${key}"`, store.location);
  }
}

/** Store a small JSON value under `key` (replaces it); a no-op where there is no cache. */
export async function cachePutJson(key: string, value: unknown, opt?: CacheOption): Promise<void> {
  const store = await openCacheStore(opt ?? true);
  if (!store) return;
  try {
    await store.writeJson(`json/${seg(key)}.json`, value);
  } catch (e) {
    throw storeError(e, `storing "${key}"`, store.location);
  }
}
