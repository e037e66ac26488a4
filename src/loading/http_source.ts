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

import { ModelLoadError, NotFoundError, abortError } from '../gpu/errors';
import { describeImpostor, impostorByBody, impostorByHeaders } from './sniff';
import { BaseSource, checkPath, countedStream, missing, throwIfAborted, type FileEntry, type FileStream, type ProgressFn } from './source_base';

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
  ) {
    super(id);
  }

  url(p: string): string {
    return `${this.base}/${checkPath(p, this.id).split('/').map(encodeURIComponent).join('/')}`;
  }

  /** The hub listing, or null for a plain URL prefix (or a hub that would not list: then we probe). */
  list(signal?: AbortSignal): Promise<FileEntry[] | null> {
    if (!this.hub) return Promise.resolve(null);
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
      return null; // the resolve/ requests will say what is wrong, file by file
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return null;
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
    return files;
  }

  async exists(p: string): Promise<boolean> {
    const listed = await this.list().catch(() => null);
    if (listed) return listed.some((f) => f.path === checkPath(p, this.id));
    const url = this.url(p);
    let hit = this.known.get(p);
    if (!hit) {
      hit = this.request(url, 'HEAD').then((res) => {
        if (res.status === 404 || res.status === 410) return false;
        if (!res.ok) throw this.httpError('HEAD', url, res);
        // An SPA fallback's index.html, or a JSON error for a binary file: the file is not there.
        return impostorByHeaders(p, res.headers.get('content-type')) === null;
      });
      // A failed probe (network, 5xx) is not remembered: the next call asks again.
      hit.catch(() => this.known.delete(p));
      this.known.set(p, hit);
    }
    return hit;
  }

  /** GET a file, refusing a missing file and an answer that is an HTML page or a JSON error by its headers. */
  private async open(p: string, signal?: AbortSignal): Promise<{ res: Response; url: string; type: string | null }> {
    const url = this.url(p);
    const res = await this.request(url, 'GET', signal);
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel().catch(() => undefined);
      this.known.set(p, Promise.resolve(false));
      throw missing(p, this.id, `GET ${url} → ${res.status}`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw this.httpError('GET', url, res);
    }
    const type = res.headers.get('content-type');
    const early = impostorByHeaders(p, type);
    if (early) {
      await res.body?.cancel().catch(() => undefined);
      this.known.set(p, Promise.resolve(false));
      throw new NotFoundError(`Model "${this.id}": GET ${url} ${describeImpostor(early, p)}`);
    }
    return { res, url, type };
  }

  async bytes(p: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array> {
    const { res, url, type } = await this.open(p, signal);
    // The listing's size, when a listing was asked for already (a plain read does not ask for one).
    const listedSize = this.listed?.find((f) => f.path === p)?.size;
    const body = await this.readBody(res, url, listedSize, signal, onProgress);
    const late = impostorByBody(p, body.subarray(0, 4096), true, type);
    if (late) {
      this.known.set(p, Promise.resolve(false));
      throw new NotFoundError(`Model "${this.id}": GET ${url} ${describeImpostor(late, p)}`);
    }
    this.known.set(p, Promise.resolve(true));
    return body;
  }

  /** The body as it arrives (the streaming weight upload), its length checked like bytes(). */
  async stream(p: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<FileStream> {
    const { res, url } = await this.open(p, signal);
    const size = this.expectedSize(res, this.listed?.find((f) => f.path === p)?.size);
    const fail = (why: string) => new ModelLoadError(`Model "${this.id}": GET ${url} ${why}`);
    const body = res.body ?? new Response(await res.arrayBuffer()).body!;
    return { body: countedStream(body, size, onProgress, fail), size };
  }

  /** Content-Length when it counts the bytes the stream yields (no content encoding), else the listing's size. */
  private expectedSize(res: Response, listedSize: number | undefined): number | undefined {
    const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
    const header = Number(res.headers.get('content-length'));
    return !encoded && res.headers.has('content-length') && Number.isSafeInteger(header) ? header : listedSize;
  }

  /** The whole body, streamed into one buffer when its size is known; a short body is an error. */
  private async readBody(res: Response, url: string, listedSize: number | undefined, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array> {
    // With a content encoding, Content-Length counts compressed bytes, not what the stream yields.
    const expected = this.expectedSize(res, listedSize);
    const fail = (why: string) => new ModelLoadError(`Model "${this.id}": GET ${url} ${why}`);
    if (!res.body) {
      const data = new Uint8Array(await res.arrayBuffer());
      onProgress?.(data.byteLength, data.byteLength);
      return data;
    }
    const reader = res.body.getReader();
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

  private async request(url: string, method: 'GET' | 'HEAD', signal?: AbortSignal): Promise<Response> {
    throwIfAborted(signal);
    try {
      return await this.fetchImpl(url, { method, headers: this.headers, signal, redirect: 'follow' });
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
