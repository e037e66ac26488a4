// Where the offline cache keeps its bytes: a small key → blob store with two implementations,
// Cache Storage in browsers (cache_browser.ts) and a folder in Node (cache_node.ts). Keys are
// '/'-separated paths of URL-safe segments ("models/hub/huggingface.co/org/name/main/manifest.json").
// The store knows nothing about models, revisions or what counts as cached: cache.ts decides that
// with a manifest per model, so a store only has to make each single write all-or-nothing.

import { WgpoolError } from '../gpu/errors';

/** A stored entry's bytes as a stream, and its size where the store knows it (a stat in Node). */
export interface StoredBody {
  body: ReadableStream<Uint8Array>;
  size: number | undefined;
}

/** A new entry written chunk by chunk: it exists only once close() has resolved. */
export interface EntryWriter {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Forget what was written (idempotent; never throws). */
  abort(): Promise<void>;
}

export interface CacheStore {
  /** Where the bytes live, for messages ("Cache Storage 'wgpool-v1'", "/home/me/.cache/wgpool"). */
  readonly location: string;
  read(key: string): Promise<StoredBody | null>;
  write(key: string, contentType?: string): Promise<EntryWriter>;
  readJson<T>(key: string): Promise<T | null>;
  writeJson(key: string, value: unknown): Promise<void>;
  /** Every key that starts with `prefix`. */
  keys(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Delete every key under `prefix` (a folder in Node). */
  deletePrefix(prefix: string): Promise<void>;
}

/** The cache could not be read or written (permissions, a damaged entry, a store that failed). */
export class CacheError extends WgpoolError {
  constructor(message: string, status = 500) {
    super(message, status, 'InternalServerError');
    this.name = 'CacheError';
  }
}

/**
 * The cache is out of space (the browser's storage quota, or a full disk). Loads fail with it
 * instead of silently loading uncached: the page can tell the user, free space with
 * deleteCachedModel()/clearCache(), or load with `cache: false`.
 */
export class CacheQuotaError extends CacheError {
  constructor(message: string) {
    super(message, 507);
    this.name = 'CacheQuotaError';
  }
}

/** Whether a thrown error means "no space": DOMException QuotaExceededError, ENOSPC, EDQUOT. */
export function isQuotaError(e: unknown): boolean {
  const err = e as { name?: string; code?: string | number } | null;
  return err?.name === 'QuotaExceededError' || err?.code === 'ENOSPC' || err?.code === 'EDQUOT' || err?.code === 22;
}

/** A store failure as the typed error a load reports. */
export function storeError(e: unknown, what: string, location: string): CacheError {
  if (e instanceof CacheError) return e;
  const why = (e as Error)?.message ?? String(e);
  if (isQuotaError(e)) {
    return new CacheQuotaError(
      `The offline cache (${location}) is out of space while ${what}: ${why}. Free space with deleteCachedModel() or clearCache(), or load with cache: false.`,
    );
  }
  return new CacheError(`The offline cache (${location}) failed while ${what}: ${why}. Load with cache: false to skip it.`);
}
