// The default TuneStore: measured matmul choices kept in the offline model cache (cache.ts's
// cacheGetJson / cachePutJson, one small JSON value per adapter + model shape + weight dtype), so a
// second load on the same adapter — in a later process or page — skips the timed trial. Node keeps
// them in the cache folder, browsers in Cache Storage; `clearCache()` forgets them with the models.
//
// The store never fails a load: a cache that cannot be read or written (a read-only home, a page
// without Cache Storage, a corrupt value) only means the trial runs again.

import { MATMUL_VARIANTS } from '../kernels/matmul';
import type { MatmulChoice, TuneStore } from '../gpu/autotune';
import { cacheGetJson, cachePutJson, type CacheOption } from './cache';

/** The JSON key a choice is stored under (the tune key already names adapter, shapes and dtype). */
const jsonKey = (key: string) => `tune/${key}`;

function isChoice(x: unknown, key: string): x is MatmulChoice {
  const c = x as MatmulChoice | null;
  return typeof c === 'object' && c !== null && c.key === key && MATMUL_VARIANTS.includes(c.variant) && Array.isArray(c.trials);
}

/**
 * The store a load uses: the `tuneStore` option, else the model cache while caching is on (the
 * default, for every kind of source: a choice belongs to the adapter, not to where the files came from).
 */
export function loadTuneStore(opts: { tuneStore?: TuneStore; cache?: CacheOption }): TuneStore | undefined {
  if (opts.tuneStore) return opts.tuneStore;
  return opts.cache === false ? undefined : cacheTuneStore(opts.cache ?? true);
}

/** A TuneStore over the model cache `opt` (true: the default folder / Cache Storage). */
export function cacheTuneStore(opt: CacheOption = true): TuneStore {
  return {
    get: async (key) => {
      try {
        const value = await cacheGetJson<unknown>(jsonKey(key), opt);
        return isChoice(value, key) ? value : undefined;
      } catch {
        return undefined;
      }
    },
    set: async (key, choice) => {
      // Infinity (a variant given up on) is not JSON; null reads back as "not measured".
      const trials = choice.trials.map((t) => ({ ...t, ms: Number.isFinite(t.ms) ? t.ms : null }));
      try {
        await cachePutJson(jsonKey(key), { ...choice, trials }, opt);
      } catch {
        // Not remembered across runs; the in-process memory still has it.
      }
    },
  };
}
