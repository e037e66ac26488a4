// The page side of a worker's vector index: the VectorIndex API by name, answered in the worker that
// holds the engine (see index_host.ts). Rerank is not offered here (it would need a second engine in
// the worker); vectors and results travel by structured clone.

import type { AddOptions, SearchHit, SearchOptions, TextEntry, VectorEntry } from '../index/vector_index';
import type { IndexAction, RemoteIndexInfo } from './index_host';

export type { RemoteIndexInfo };

/** How a RemoteIndex reaches its worker (WorkerEngine implements it). */
export interface IndexChannel {
  indexCall(name: string, action: IndexAction, args: unknown[], signal?: AbortSignal): Promise<unknown>;
}

type RemoteSearchOptions = Omit<SearchOptions, 'rerank'>;

export class RemoteIndex {
  constructor(
    private readonly channel: IndexChannel,
    readonly name: string,
  ) {}

  private call<T>(action: IndexAction, args: unknown[], signal?: AbortSignal): Promise<T> {
    return this.channel.indexCall(this.name, action, args, signal) as Promise<T>;
  }

  /** Get the worker's index of this name, creating it (empty) if there is none. */
  open(opts: { dimensions?: number; revision?: string | null; capacity?: number } = {}): Promise<RemoteIndexInfo> {
    return this.call('open', [opts]);
  }

  /** Replace it with the one saved in the worker's IndexedDB under `key` (default: the name). */
  load(key?: string, dbName?: string): Promise<RemoteIndexInfo> {
    return this.call('load', [key, dbName]);
  }

  /**
   * Replace it with an index serialized by encodeIndex / VectorIndex.serialize (e.g. a file built
   * ahead of time and fetched by the page); IndexModelMismatchError if this engine did not build it.
   */
  import(bytes: ArrayBuffer | Uint8Array): Promise<RemoteIndexInfo> {
    return this.call('import', [bytes]);
  }

  save(key?: string, dbName?: string): Promise<RemoteIndexInfo> {
    return this.call('save', [key, dbName]);
  }

  info(): Promise<RemoteIndexInfo> {
    return this.call('info', []);
  }

  addTexts(entries: readonly TextEntry[], opts: Omit<AddOptions, 'onProgress' | 'signal'> & { signal?: AbortSignal } = {}): Promise<{ added: number; promptTokens: number }> {
    const { signal, ...rest } = opts;
    return this.call('addTexts', [entries, rest], signal);
  }

  addVectors(entries: readonly VectorEntry[]): Promise<{ added: number }> {
    return this.call('addVectors', [entries]);
  }

  remove(ids: string | readonly string[]): Promise<number> {
    return this.call('remove', [ids]);
  }

  search(query: string | ArrayLike<number>, opts: RemoteSearchOptions = {}): Promise<SearchHit[]> {
    const { signal, ...rest } = opts;
    return this.call('search', [query, rest], signal);
  }

  searchBatch(queries: readonly (string | ArrayLike<number>)[], opts: RemoteSearchOptions = {}): Promise<SearchHit[][]> {
    const { signal, ...rest } = opts;
    return this.call('searchBatch', [queries, rest], signal);
  }

  /** Free it in the worker (for every tab sharing it). */
  drop(): Promise<void> {
    return this.call('drop', []);
  }
}
