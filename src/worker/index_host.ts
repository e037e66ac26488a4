// Vector indexes next to a worker's engine: the index must live on the engine's GPU device, so in a
// (Shared)Worker it lives in the worker and pages drive it by name (RemoteIndex). Indexes belong to
// the engine, so every tab sharing a SharedWorker's engine also shares its indexes.

import type { Engine } from '../engine';
import { BadRequestError, NotFoundError } from '../gpu/errors';
import { VectorIndex } from '../index/vector_index';
import { IndexedDBIndexStore } from '../index/store';

export type IndexAction = 'open' | 'addTexts' | 'addVectors' | 'remove' | 'search' | 'searchBatch' | 'save' | 'load' | 'import' | 'info' | 'drop';

/** What a page learns about an index. */
export interface RemoteIndexInfo {
  name: string;
  size: number;
  dimensions: number;
  model: string | null;
}

const registries = new WeakMap<Engine, Map<string, Promise<VectorIndex>>>();

function describe(name: string, index: VectorIndex): RemoteIndexInfo {
  return { name, size: index.size, dimensions: index.dimensions, model: index.model?.model ?? null };
}

/** Run one index action for a page; `signal` is the call's (abortable from the page). */
export async function indexCall(engine: Engine, name: string, action: IndexAction, args: unknown[], signal: AbortSignal): Promise<unknown> {
  if (typeof name !== 'string' || !name) throw new BadRequestError('An index needs a name.');
  let reg = registries.get(engine);
  if (!reg) registries.set(engine, (reg = new Map()));
  const existing = reg.get(name);
  const withSignal = (o: unknown) => ({ ...((o as object | undefined) ?? {}), signal });
  switch (action) {
    case 'open': {
      // Get-or-create: a second tab opening the same name finds the first tab's index.
      let p = existing;
      if (!p) {
        const opts = (args[0] ?? {}) as { dimensions?: number; revision?: string | null; capacity?: number };
        p = VectorIndex.create({ engine, dimensions: opts.dimensions, revision: opts.revision, capacity: opts.capacity });
        reg.set(name, p);
        p.catch(() => reg.delete(name));
      }
      return describe(name, await p);
    }
    case 'load': {
      const [key, db] = args as [string | undefined, string | undefined];
      const loaded = await VectorIndex.load(new IndexedDBIndexStore(db), key ?? name, { engine });
      const old = existing;
      reg.set(name, Promise.resolve(loaded));
      if (old) await (await old).dispose();
      return describe(name, loaded);
    }
    case 'import': {
      // An index shipped as a file (encodeIndex bytes, fetched by the page): checked against this
      // engine's weights like a load from IndexedDB, then it replaces any index of this name.
      const [bytes] = args as [ArrayBuffer | Uint8Array];
      if (!(bytes instanceof ArrayBuffer || bytes instanceof Uint8Array)) throw new BadRequestError('import needs the index bytes (an ArrayBuffer).');
      const loaded = await VectorIndex.deserialize(bytes, { engine });
      const old = existing;
      reg.set(name, Promise.resolve(loaded));
      if (old) await (await old).dispose();
      return describe(name, loaded);
    }
  }
  if (!existing) throw new NotFoundError(`No index named "${name}" in this worker: open or load it first.`);
  const index = await existing;
  switch (action) {
    case 'addTexts':
      return index.addTexts(args[0] as never, withSignal(args[1]));
    case 'addVectors':
      return index.addVectors(args[0] as never);
    case 'remove':
      return index.remove(args[0] as never);
    case 'search':
      return index.search(args[0] as never, withSignal(args[1]));
    case 'searchBatch':
      return index.searchBatch(args[0] as never, withSignal(args[1]));
    case 'save': {
      const [key, db] = args as [string | undefined, string | undefined];
      const store = new IndexedDBIndexStore(db);
      await index.save(store, key ?? name);
      store.close();
      return describe(name, index);
    }
    case 'info':
      return describe(name, index);
    case 'drop':
      reg.delete(name);
      await index.dispose();
      return null;
    default:
      throw new BadRequestError(`Unknown index action ${JSON.stringify(action)}.`);
  }
}
