import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearTuneMemory, type MatmulChoice } from '../gpu/autotune';
import { MATMUL_VARIANTS } from '../kernels/matmul';
import { cacheGetJson, clearCache, createEngine } from '../index';
import { cacheTuneStore, loadTuneStore } from './tune_cache';
import { fixtureDir } from '../../test/helpers/fixtures';

// The default tuneStore is the model cache: a measured choice outlives the process memory (cleared
// here to stand for a new process) and the second load on the same adapter skips the trial.
describe('measured kernel choice in the model cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgpool-tune-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const model = fixtureDir('tiny-bert-embed');

  it('a second load on the same adapter remembers the trial through the cache folder', async () => {
    clearTuneMemory();
    // No cache option: createEngine's default cache is on, in $WGPOOL_CACHE_DIR here.
    const saved = process.env.WGPOOL_CACHE_DIR;
    process.env.WGPOOL_CACHE_DIR = dir;
    const first = await createEngine({ model, matmulTune: 'always' }).finally(() => {
      if (saved === undefined) delete process.env.WGPOOL_CACHE_DIR;
      else process.env.WGPOOL_CACHE_DIR = saved;
    });
    const choice = first.info.matmul;
    await first.dispose();
    expect(choice.source).toBe('measured');
    expect(choice.trials.map((t) => t.variant)).toEqual([...MATMUL_VARIANTS]);
    const stored = await cacheGetJson<{ variant: string; key: string }>(`tune/${choice.key}`, { dir });
    expect(stored).toMatchObject({ variant: choice.variant, key: choice.key });

    clearTuneMemory();
    const second = await createEngine({ model, cache: { dir }, matmulTune: 'always' });
    try {
      expect(second.info.matmul).toMatchObject({ variant: choice.variant, source: 'remembered', key: choice.key });
      // Remembering reads one small file; the trial compiled and timed three kernels.
      expect(second.info.matmul.costMs).toBeLessThan(choice.costMs);
      const { embeddings } = await second.embed(['hello world']);
      expect(embeddings[0].length).toBe(second.info.embeddingSize);
    } finally {
      await second.dispose();
    }

    // clearCache forgets the choices with the models.
    await clearCache({ dir });
    expect(await cacheGetJson(`tune/${choice.key}`, { dir })).toBeNull();
  });

  it('the store a load uses: the option, else the cache unless cache: false; a broken cache is no cache', async () => {
    const key = 'matmul|test-adapter|8x8x8';
    const choice: MatmulChoice = { variant: 'tiled', source: 'measured', key, costMs: 1, trials: [{ variant: 'tiled', ms: 1, gflops: 1 }, { variant: 'naive', ms: Infinity, gflops: 0 }] };
    const own = { get: () => undefined, set: () => undefined };
    expect(loadTuneStore({ tuneStore: own, cache: false })).toBe(own);
    expect(loadTuneStore({ cache: false })).toBeUndefined();
    // No cache option: the default cache folder ($WGPOOL_CACHE_DIR here).
    const env = mkdtempSync(join(dir, 'env-'));
    const saved = process.env.WGPOOL_CACHE_DIR;
    process.env.WGPOOL_CACHE_DIR = env;
    try {
      const store = loadTuneStore({})!;
      await store.set(key, choice);
      expect(await store.get(key)).toMatchObject({ variant: 'tiled', key, trials: [{ ms: 1 }, { variant: 'naive', ms: null }] });
      expect(await cacheGetJson(`tune/${key}`)).toMatchObject({ variant: 'tiled' });
    } finally {
      if (saved === undefined) delete process.env.WGPOOL_CACHE_DIR;
      else process.env.WGPOOL_CACHE_DIR = saved;
    }
    expect(readdirSync(env)).toEqual(['json']);

    // A file where the cache folder should be: reads and writes fail, the store reports "not known".
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'not a folder');
    const store = cacheTuneStore({ dir: blocked });
    await store.set(key, choice);
    expect(await store.get(key)).toBeUndefined();

    // A stored value that is not a choice (or not for this key) is ignored.
    const good = join(dir, 'good');
    const real = cacheTuneStore({ dir: good });
    await real.set(key, { ...choice, variant: 'no-such' as never });
    expect(await real.get(key)).toBeUndefined();
    await real.set(key, choice);
    expect(await real.get(key)).toMatchObject({ variant: choice.variant, key });
    expect(await real.get(`${key}|other`)).toBeUndefined();
  });
});
