// HTTP sources: a URL prefix laid out like a model folder, or the hub's `resolve/<revision>/`
// prefix. Three things real hosts do shape this file:
// - a hub repo can be listed (`/api/models/<id>/revision/<rev>?blobs=true` gives every file with
//   its size), so a hub load asks once instead of probing each optional file, makes no 404 noise,
//   and knows every size up front for the progress stream;
// - static hosts with an SPA fallback answer 200 + index.html for files they do not have (sniff.ts);
// - `resolve/` answers with a redirect to a CDN, which fetch follows (cross-origin, so the token is
//   not sent along).
// Bodies are read as a stream into one buffer of the announced size: progress per chunk, and a
// truncated body is an error, never a short file.
//
// With an offline cache (cache.ts), every body that comes from the network is written to the cache
// as it streams past, and the cache answers when the network cannot (offline, 5xx), when the file
// has not changed (304 to If-None-Match with the stored ETag), or at once for a commit-hash
// revision. Either way open() hands back the same kind of stream, so readers never know which.

import { ModelLoadError, NotFoundError, WgpoolError, abortError } from '../gpu/errors';
import type { ModelCache } from './cache';
import { describeImpostor, impostorByBody, impostorByHeaders } from './sniff';
import { BaseSource, checkPath, countedStream, missing, throwIfAborted, type FileBody, type FileEntry, type FileStream, type ProgressFn } from './source_base';

/** How a hub source lists its files. */
export interface HubListing {
  /** `${endpoint}/api/models/${id}/revision/${revision}?blobs=true` */
  url: string;
}

/** What the hub's model API answers (the fields we read). */
interface HubModelInfo {
  sha?: unknown;
  siblings?: unknown;
}

export class HttpSource extends BaseSource {
  // exists() answers are cached: pooling and weight loading probe the same few files.
  private readonly known = new Map<string, Promise<boolean>>();
  private listing: Promise<FileEntry[] | null> | undefined;
  private listed: FileEntry[] | null = null;
  /** The commit the hub resolved the revision to (from the listing), when known. */
  commit: string | undefined;

  constructor(
    id: string,
    private readonly base: string,
    private readonly fetchImpl: typeof fetch,
    private readonly headers: Record<string, string>,
    private readonly hub?: HubListing,
    /** The offline cache entry of this source + revision, when caching. */
    readonly cache?: ModelCache,
  ) {
    super(id);
  }

  url(p: string): string {
    return `${this.base}/${checkPath(p, this.id).split('/').map(encodeURIComponent).join('/')}`;
  }

  /** The hub listing, or null for a plain URL prefix (or a hub that would not list: then we probe). */
  list(signal?: AbortSignal): Promise<FileEntry[] | null> {
    if (!this.hub) return Promise.resolve(null);
    // A commit never changes: its cached listing is as good as the hub's.
    if (this.cache?.pinned && !this.listing) {
      const files = this.cachedListing();
      if (files) this.listing = Promise.resolve(files);
    }
    this.listing ??= this.fetchListing(this.hub.url, signal);
    // An aborted listing is not remembered.
    this.listing.catch(() => (this.listing = undefined));
    return this.listing;
  }

  private async fetchListing(url: string, signal?: AbortSignal): Promise<FileEntry[] | null> {
    let res: Response;
    try {
      res = await this.request(url, 'GET', signal);
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      // Offline: the listing the last online load saw. Else the resolve/ requests will say what is
      // wrong, file by file.
      return this.cachedListing();
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 500 ? this.cachedListing() : null;
    }
    let info: HubModelInfo;
    try {
      info = (await res.json()) as HubModelInfo;
    } catch {
      return null; // an HTML page or a mirror without the API
    }
    if (!Array.isArray(info?.siblings)) return null;
    const files: FileEntry[] = [];
    for (const s of info.siblings as { rfilename?: unknown; size?: unknown; lfs?: { size?: unknown } }[]) {
      if (typeof s?.rfilename !== 'string') continue;
      const size = typeof s.size === 'number' ? s.size : typeof s.lfs?.size === 'number' ? s.lfs.size : undefined;
      files.push({ path: s.rfilename, size });
    }
    if (typeof info.sha === 'string') this.commit = info.sha;
    this.listed = files;
    this.cache?.noteListing(files, this.commit);
    return files;
  }

  private cachedListing(): FileEntry[] | null {
    const cached = this.cache?.listing();
    if (!cached) return null;
    this.commit = cached.commit;
    this.listed = cached.files;
    return cached.files;
  }

  async exists(p: string): Promise<boolean> {
    const listed = await this.list().catch(() => null);
    if (listed) return listed.some((f) => f.path === checkPath(p, this.id));
    const url = this.url(p);
    let hit = this.known.get(p);
    if (!hit) {
      hit = this.request(url, 'HEAD').then(
        (res) => {
          if (res.status === 404 || res.status === 410) return this.absent(p);
          if (!res.ok) throw this.httpError('HEAD', url, res);
          // An SPA fallback's index.html, or a JSON error for a binary file: the file is not there.
          return impostorByHeaders(p, res.headers.get('content-type')) === null || this.absent(p);
        },
        (e: Error) => {
          // Offline: what the cache knows about the file.
          if (this.cache?.lookup(p)) return true;
          if (this.cache?.isAbsent(p)) return false;
          throw e;
        },
      );
      // A failed probe (network, 5xx) is not remembered: the next call asks again.
      hit.catch(() => this.known.delete(p));
      this.known.set(p, hit);
    }
    return hit;
  }

  private absent(p: string): false {
    this.cache?.noteAbsent(p);
    return false;
  }

  async bytes(p: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array> {
    const url = this.url(p);
    const file = await this.open(p, signal);
    const body = await this.readBody(file, url, signal, onProgress);
    if (file.from === 'network') {
      const late = impostorByBody(p, body.subarray(0, 4096), true, file.contentType);
      if (late) {
        this.known.set(p, Promise.resolve(this.absent(p)));
        throw new NotFoundError(`Model "${this.id}": GET ${url} ${describeImpostor(late, p)}`);
      }
    }
    this.known.set(p, Promise.resolve(true));
    return body;
  }

  async open(p: string, signal?: AbortSignal): Promise<FileBody> {
    const url = this.url(p);
    const cache = this.cache;
    const cached = cache?.lookup(p);
    const fromCache = async (): Promise<FileBody | null> => {
      const hit = await cache!.read(p);
      return hit && { body: hit.body, size: hit.size, contentType: hit.contentType ?? null, from: 'cache' };
    };
    // A commit-hash revision: the cached file is the file.
    if (cached && cache!.pinned) {
      const hit = await fromCache();
      if (hit) return hit;
    }
    // A branch or a URL prefix: ask whether the cached file is still current.
    let res: Response;
    try {
      res = await this.request(url, 'GET', signal, cached?.etag ? { 'If-None-Match': cached.etag } : undefined);
    } catch (e) {
      const hit = cached && (e as Error).name !== 'AbortError' ? await fromCache() : null;
      if (hit) return hit; // offline
      throw e;
    }
    if (res.status === 304 && cached) {
      await res.body?.cancel().catch(() => undefined);
      const hit = await fromCache();
      if (hit) return hit;
      res = await this.request(url, 'GET', signal); // the cached entry went away meanwhile
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel().catch(() => undefined);
      this.known.set(p, Promise.resolve(this.absent(p)));
      throw missing(p, this.id, `GET ${url} → ${res.status}`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      // A hub outage is no reason to refuse a model that is on disk.
      const hit = cached && res.status >= 500 ? await fromCache() : null;
      if (hit) return hit;
      throw this.httpError('GET', url, res);
    }
    const type = res.headers.get('content-type');
    const early = impostorByHeaders(p, type);
    if (early) {
      await res.body?.cancel().catch(() => undefined);
      this.known.set(p, Promise.resolve(this.absent(p)));
      throw new NotFoundError(`Model "${this.id}": GET ${url} ${describeImpostor(early, p)}`);
    }
    // With a content encoding, Content-Length counts compressed bytes, not what the stream yields.
    const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
    const header = Number(res.headers.get('content-length'));
    // The listing's size, when a listing was asked for already (a plain read does not ask for one).
    const listedSize = this.listed?.find((f) => f.path === p)?.size;
    const size = !encoded && res.headers.has('content-length') && Number.isSafeInteger(header) ? header : listedSize;
    let body = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    // A file whose Content-Length and listed size disagree is used but not cached: one of them is wrong.
    const agreed = listedSize === undefined || size === undefined || listedSize === size;
    if (cache && agreed) body = await this.tapIntoCache(cache, p, body, size, res.headers.get('etag'), type);
    return { body, size, contentType: type, from: 'network' };
  }

  /** The body as it arrives (the streaming weight upload), its length checked like bytes(). */
  async stream(p: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<FileStream> {
    const url = this.url(p);
    const file = await this.open(p, signal);
    const fail = (why: string) => this.readError(file, url, why);
    return { body: countedStream(file.body, file.size, onProgress, fail), size: file.size };
  }

  /**
   * The body, passed through unchanged while each chunk is also written to the cache. The cached
   * copy is kept only if the body ends with exactly `size` bytes (when known) and is not an HTML
   * page or JSON error; an error, a cancel or an abort drops it.
   */
  private async tapIntoCache(cache: ModelCache, p: string, src: ReadableStream<Uint8Array>, size: number | undefined, etag: string | null, type: string | null): Promise<ReadableStream<Uint8Array>> {
    const pending = await cache.writer(p, { expected: size, etag: etag ?? undefined, contentType: type ?? undefined });
    const reader = src.getReader();
    const head = new Uint8Array(4096);
    let total = 0;
    return new ReadableStream<Uint8Array>({
      async pull(ctl) {
        try {
          const step = await reader.read();
          if (step.done) {
            const whole = head.subarray(0, Math.min(total, head.byteLength));
            if (impostorByBody(p, whole, total <= head.byteLength, type)) await pending.abort();
            else await pending.finish(total);
            ctl.close();
            return;
          }
          const chunk = step.value;
          if (total < head.byteLength) head.set(chunk.subarray(0, head.byteLength - total), total);
          total += chunk.byteLength;
          await pending.write(chunk);
          ctl.enqueue(chunk);
        } catch (e) {
          await pending.abort();
          await reader.cancel().catch(() => undefined);
          ctl.error(e);
        }
      },
      async cancel(reason) {
        await pending.abort();
        await reader.cancel(reason).catch(() => undefined);
      },
    }, { highWaterMark: 0 });
  }

  /** The load ended: the cache keeps what it downloaded (ok) or drops it. */
  async finish(ok: boolean): Promise<void> {
    if (ok) await this.cache?.commit();
    else await this.cache?.discard();
  }

  /** A body that went wrong while being read, naming the URL and whether it came from the cache. */
  private readError(file: FileBody, url: string, why: string): ModelLoadError {
    return new ModelLoadError(`Model "${this.id}": GET ${url}${file.from === 'cache' ? ' (from the offline cache)' : ''} ${why}`);
  }

  /** The whole body, streamed into one buffer when its size is known; a short body is an error. */
  private async readBody(file: FileBody, url: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array> {
    const expected = file.size;
    const fail = (why: string) => this.readError(file, url, why);
    const reader = file.body.getReader();
    const onAbort = () => void reader.cancel().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    let out = expected !== undefined ? new Uint8Array(expected) : undefined;
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    try {
      for (;;) {
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = await reader.read();
        } catch (e) {
          if (signal?.aborted) throw abortError(signal.reason);
          // The cache's own errors (out of space, a damaged entry) say what they are.
          if (e instanceof WgpoolError) throw e;
          throw fail(`failed while reading the body after ${loaded} bytes: ${(e as Error).message}`);
        }
        if (signal?.aborted) throw abortError(signal.reason);
        if (step.done) break;
        const chunk = step.value;
        if (out) {
          if (loaded + chunk.byteLength > out.byteLength) throw fail(`sent more than the ${out.byteLength} bytes announced`);
          out.set(chunk, loaded);
        } else {
          chunks.push(chunk);
        }
        loaded += chunk.byteLength;
        onProgress?.(loaded, expected);
      }
    } catch (e) {
      // Stop the transfer (and drop a half-written cache entry).
      await reader.cancel().catch(() => undefined);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (out && loaded !== out.byteLength) throw fail(`was cut short: got ${loaded} of ${out.byteLength} bytes (truncated download)`);
    if (!out) {
      out = new Uint8Array(loaded);
      let off = 0;
      for (const c of chunks) {
        out.set(c, off);
        off += c.byteLength;
      }
    }
    if (loaded === 0) onProgress?.(0, 0);
    return out;
  }

  private async request(url: string, method: 'GET' | 'HEAD', signal?: AbortSignal, extra?: Record<string, string>): Promise<Response> {
    throwIfAborted(signal);
    try {
      return await this.fetchImpl(url, { method, headers: extra ? { ...this.headers, ...extra } : this.headers, signal, redirect: 'follow' });
    } catch (e) {
      if (signal?.aborted) throw abortError(signal.reason);
      throw new ModelLoadError(`Model "${this.id}": ${method} ${url} failed: ${(e as Error).message}`);
    }
  }

  private httpError(method: string, url: string, res: Response): ModelLoadError {
    const hint =
      res.status === 401 || res.status === 403
        ? ' (the repository may not exist, or be private or gated: check the id, or pass a token)'
        : '';
    return new ModelLoadError(`Model "${this.id}": ${method} ${url} → ${res.status} ${res.statusText}${hint}`.trimEnd());
  }
}
