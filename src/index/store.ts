// Where serialized indexes live. The index only needs save/load/delete/list of named byte strings,
// so persistence is this small interface: IndexedDB in browsers (through `idb`), a Map anywhere
// (Node has no IndexedDB; the bytes can also go to a file with fs).

import { openDB, type IDBPDatabase } from 'idb';
import { NotFoundError, WgpoolError } from '../gpu/errors';
import type { ModelIdentity } from './serialize';

/** Stored beside the bytes, so a list shows what each index is without decoding it. */
export interface StoredIndexInfo {
  model: ModelIdentity | null;
  dimensions: number;
  count: number;
}

export interface IndexStore {
  save(name: string, bytes: ArrayBuffer, info: StoredIndexInfo): Promise<void>;
  /** The bytes saved under `name`; NotFoundError if there are none. */
  load(name: string): Promise<ArrayBuffer>;
  delete(name: string): Promise<void>;
  list(): Promise<({ name: string; savedAt: number } & StoredIndexInfo)[]>;
}

/** An in-memory store (tests, Node, or a page that persists elsewhere). */
export class MemoryIndexStore implements IndexStore {
  private readonly items = new Map<string, { bytes: ArrayBuffer; info: StoredIndexInfo; savedAt: number }>();

  async save(name: string, bytes: ArrayBuffer, info: StoredIndexInfo): Promise<void> {
    this.items.set(name, { bytes: bytes.slice(0), info, savedAt: Date.now() });
  }

  async load(name: string): Promise<ArrayBuffer> {
    const it = this.items.get(name);
    if (!it) throw new NotFoundError(`No saved index named "${name}".`);
    return it.bytes.slice(0);
  }

  async delete(name: string): Promise<void> {
    this.items.delete(name);
  }

  async list() {
    return [...this.items].map(([name, it]) => ({ name, savedAt: it.savedAt, ...it.info }));
  }
}

interface Row {
  name: string;
  savedAt: number;
  info: StoredIndexInfo;
  bytes: ArrayBuffer;
}

const STORE = 'indexes';

/** IndexedDB: one object store of {name, savedAt, info, bytes} records, keyed by name. */
export class IndexedDBIndexStore implements IndexStore {
  private db: Promise<IDBPDatabase> | null = null;

  constructor(readonly dbName = 'wgpool-indexes') {}

  private open(): Promise<IDBPDatabase> {
    if (typeof indexedDB === 'undefined') {
      throw new WgpoolError('IndexedDB is not available here (Node or a private context); use MemoryIndexStore or VectorIndex.serialize().', 500, 'InternalServerError');
    }
    this.db ??= openDB(this.dbName, 1, {
      upgrade(db) {
        db.createObjectStore(STORE, { keyPath: 'name' });
      },
    });
    return this.db;
  }

  async save(name: string, bytes: ArrayBuffer, info: StoredIndexInfo): Promise<void> {
    const db = await this.open();
    try {
      await db.put(STORE, { name, savedAt: Date.now(), info, bytes } satisfies Row);
    } catch (e) {
      const err = e as DOMException;
      if (err?.name === 'QuotaExceededError') {
        throw new WgpoolError(`Saving index "${name}" (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB) exceeds this origin's storage quota.`, 507, 'InternalServerError');
      }
      throw e;
    }
  }

  async load(name: string): Promise<ArrayBuffer> {
    const row = (await (await this.open()).get(STORE, name)) as Row | undefined;
    if (!row) throw new NotFoundError(`No saved index named "${name}" in IndexedDB database "${this.dbName}".`);
    return row.bytes;
  }

  async delete(name: string): Promise<void> {
    await (await this.open()).delete(STORE, name);
  }

  async list() {
    const rows = (await (await this.open()).getAll(STORE)) as Row[];
    return rows.map((r) => ({ name: r.name, savedAt: r.savedAt, ...r.info }));
  }

  close(): void {
    void this.db?.then((d) => d.close());
    this.db = null;
  }
}
