// The offline cache's store in browsers: Cache Storage (`caches`), one Response per key under a
// made-up origin (https://wgpool.cache/<key>). Why Cache Storage and not OPFS:
// - it is there in every secure context, in windows, Web Workers and Service Workers alike, while
//   OPFS's synchronous access handles (the fast path) exist only in dedicated workers;
// - cache.put() takes a streaming Response and commits it whole or not at all: a body that errors
//   (abort, network cut, quota) leaves no entry, which is exactly the "never a partial file" rule;
// - reading back gives a Response, the same kind of body the network path hands the loaders;
// - the Service Worker in src/serve/ and any page's devtools see and clear the same storage.
// Both count against the same origin quota; a full quota is a QuotaExceededError from put(), which
// cache.ts reports as CacheQuotaError.

import { abortError } from '../gpu/errors';
import type { CacheStore, EntryWriter, StoredBody } from './cache_store';

const ORIGIN = 'https://wgpool.cache/';

/** The Cache Storage store, or null where there is none (an insecure context, some embedded views). */
export async function browserCacheStore(name = 'wgpool-v1'): Promise<CacheStore | null> {
  if (typeof caches === 'undefined') return null;
  return new CacheStorageStore(await caches.open(name), name);
}

class CacheStorageStore implements CacheStore {
  readonly location: string;

  constructor(
    private readonly cache: Cache,
    name: string,
  ) {
    this.location = `Cache Storage "${name}"`;
  }

  private url(key: string): string {
    return ORIGIN + key;
  }

  async read(key: string): Promise<StoredBody | null> {
    const res = await this.cache.match(this.url(key));
    if (!res?.body) return null;
    const size = Number(res.headers.get('x-wgpool-size') ?? NaN);
    return { body: res.body, size: Number.isSafeInteger(size) ? size : undefined };
  }

  async write(key: string, contentType = 'application/octet-stream'): Promise<EntryWriter> {
    const url = this.url(key);
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    const writer = pipe.writable.getWriter();
    // put() reads the body as it is written and stores it only if the body ends cleanly.
    const stored = this.cache.put(url, new Response(pipe.readable, { headers: { 'content-type': contentType } }));
    stored.catch(() => undefined);
    // A write fails because put() gave up (quota): report put()'s error, not the pipe's.
    const putError = (e: unknown) => stored.then(() => e, (err: unknown) => err);
    let open = true;
    return {
      async write(chunk) {
        try {
          await writer.write(chunk);
        } catch (e) {
          throw await putError(e);
        }
      },
      async close() {
        open = false;
        await writer.close().catch(() => undefined);
        await stored;
      },
      abort: async () => {
        if (open) {
          open = false;
          await writer.abort(abortError('aborted')).catch(() => undefined);
        }
        await stored.catch(() => undefined);
        await this.cache.delete(url).catch(() => undefined);
      },
    };
  }

  async readJson<T>(key: string): Promise<T | null> {
    const res = await this.cache.match(this.url(key));
    if (!res) return null;
    try {
      return (await res.json()) as T;
    } catch {
      return null;
    }
  }

  async writeJson(key: string, value: unknown): Promise<void> {
    await this.cache.put(this.url(key), new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } }));
  }

  async keys(prefix: string): Promise<string[]> {
    const start = this.url(prefix);
    return (await this.cache.keys()).map((r) => r.url).filter((u) => u.startsWith(start)).map((u) => u.slice(ORIGIN.length));
  }

  async delete(key: string): Promise<void> {
    await this.cache.delete(this.url(key));
  }

  async deletePrefix(prefix: string): Promise<void> {
    await Promise.all((await this.keys(prefix)).map((k) => this.delete(k)));
  }
}
