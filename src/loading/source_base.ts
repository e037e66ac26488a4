// The ModelSource interface and what every source shares: path checking, text() and json() on
// top of bytes(), and the "missing file" error. File paths inside a model are untrusted
// (modules.json names folders, a shard index names files), so every source refuses absolute
// paths and `..` before touching the disk or the network.

import { ModelLoadError, NotFoundError, abortError } from '../gpu/errors';

/** One file a source can list, with its size in bytes when the listing says. */
export interface FileEntry {
  path: string;
  size: number | undefined;
}

/** Bytes of one file read so far, and its size when known (Content-Length, a listing, a stat). */
export type ProgressFn = (loaded: number, total: number | undefined) => void;

/** A file's bytes as they arrive, from the network or the offline cache. */
export interface FileBody {
  body: ReadableStream<Uint8Array>;
  /** Bytes the body will hold, where Content-Length, a listing or the cache says. */
  size: number | undefined;
  contentType: string | null;
  /** Where the bytes come from. */
  from: 'network' | 'cache';
}

/** A file as a stream of chunks, and its size when known up front. */
export interface FileStream {
  body: ReadableStream<Uint8Array>;
  size: number | undefined;
}

export interface ModelSource {
  /** What the user passed (folder path, URL, hub id, …); used in every error message. */
  readonly id: string;
  /** Whether the model has this file. Network or permission failures throw; only "missing" is false. */
  exists(path: string): Promise<boolean>;
  /** The whole file. A missing file is a NotFoundError naming the file and the model. */
  bytes(path: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array>;
  /**
   * The file as a stream of chunks, for reading big files without holding them whole (the
   * streaming weight upload). A missing file rejects like bytes(); a body that ends short of its
   * announced size errors the stream. Optional: a source without it is read whole with bytes().
   */
  stream?(path: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<FileStream>;
  /** The file as UTF-8 text. */
  text(path: string, signal?: AbortSignal): Promise<string>;
  /** The file parsed as JSON; malformed JSON is a ModelLoadError `<path> is not valid JSON: …`. */
  json<T = unknown>(path: string, signal?: AbortSignal): Promise<T>;
  /**
   * Every file with its size, where the source can list them (a hub repo, a folder, picked files);
   * null where it can only be probed file by file (a plain URL prefix).
   */
  list?(signal?: AbortSignal): Promise<FileEntry[] | null>;
  /**
   * The file as a stream (HTTP sources, cached or not): what a streaming reader consumes. Missing
   * files and HTML pages are rejected as by bytes(); the caller reads the body to its end or cancels it.
   */
  open?(path: string, signal?: AbortSignal): Promise<FileBody>;
  /**
   * The load that read through this source has ended. A caching source keeps what it downloaded
   * when `ok` (the offline cache's commit) and drops it otherwise; without this call it keeps nothing.
   */
  finish?(ok: boolean): Promise<void>;
}

/** Validate a file path inside a model: relative, '/'-separated, no '.', '..' or empty segments. */
export function checkPath(path: string, modelId: string): string {
  const bad = (why: string) => new ModelLoadError(`Model "${modelId}": invalid file path ${JSON.stringify(path)} (${why}).`);
  if (typeof path !== 'string' || path.length === 0) throw bad('empty');
  if (path.includes('\\') || path.includes('\0')) throw bad('backslash or NUL');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw bad('absolute');
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw bad('empty, "." or ".." segment');
  }
  return path;
}

export function missing(path: string, id: string, where: string): NotFoundError {
  return new NotFoundError(`File "${path}" not found in model "${id}" (${where}).`);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal.reason);
}

/** text() and json() on top of bytes(), plus path checking. */
export abstract class BaseSource implements ModelSource {
  constructor(readonly id: string) {}

  abstract exists(path: string): Promise<boolean>;
  abstract bytes(path: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array>;

  async text(path: string, signal?: AbortSignal): Promise<string> {
    return new TextDecoder('utf-8').decode(await this.bytes(path, signal));
  }

  async json<T = unknown>(path: string, signal?: AbortSignal): Promise<T> {
    const text = await this.text(path, signal);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new ModelLoadError(`${path} is not valid JSON: ${(e as Error).message} (model "${this.id}")`);
    }
  }
}

/**
 * Count a stream's bytes into `onProgress` and check its length: more than `expected`, or fewer
 * when it ends, errors the stream with `fail(why)`.
 */
export function countedStream(
  body: ReadableStream<Uint8Array>,
  expected: number | undefined,
  onProgress: ProgressFn | undefined,
  fail: (why: string) => Error,
): ReadableStream<Uint8Array> {
  let loaded = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        loaded += chunk.byteLength;
        if (expected !== undefined && loaded > expected) throw fail(`sent more than the ${expected} bytes announced`);
        onProgress?.(loaded, expected);
        ctl.enqueue(chunk);
      },
      flush() {
        if (expected !== undefined && loaded !== expected) throw fail(`was cut short: got ${loaded} of ${expected} bytes (truncated download)`);
        if (loaded === 0) onProgress?.(0, 0);
      },
    }),
  );
}

/** A file already in memory as a one-chunk stream. */
export function bytesStream(data: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(ctl) {
      if (data.byteLength > 0) ctl.enqueue(data);
      ctl.close();
    },
  });
}
