// A cache store double: a real folder store that runs out of room after `quota` bytes of file
// writes, throwing what a browser throws when the origin's quota is used up.
import type { CacheStore } from '../../src/loading/cache';
import { nodeCacheStore } from '../../src/loading/cache_node';

export async function quotaStore(dir: string, quota: number): Promise<CacheStore> {
  const inner = await nodeCacheStore(dir);
  let used = 0;
  const full = () => Object.assign(new Error('The quota has been exceeded.'), { name: 'QuotaExceededError' });
  return {
    location: `${inner.location} (quota ${quota} bytes)`,
    read: (k) => inner.read(k),
    readJson: (k) => inner.readJson(k),
    writeJson: (k, v) => inner.writeJson(k, v),
    keys: (p) => inner.keys(p),
    delete: (k) => inner.delete(k),
    deletePrefix: (p) => inner.deletePrefix(p),
    async write(key, type) {
      const w = await inner.write(key, type);
      return {
        async write(chunk) {
          used += chunk.byteLength;
          if (used > quota) throw full();
          await w.write(chunk);
        },
        close: () => w.close(),
        abort: () => w.abort(),
      };
    },
  };
}
