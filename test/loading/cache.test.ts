// The offline cache in Node, against the hub-like loopback server: a second load with the server
// gone, ETag re-checks (304 vs a changed file), commit hashes that are never re-checked, truncated
// and aborted downloads that leave nothing cached, a full quota, list/delete/clear.
// Loads run on the CPU backend: the cache sits under the fetch layer and is the same for both
// backends, and the CPU backend loads in a fraction of SwiftShader's pipeline-compile time.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, type EngineOptions } from '../../src/engine';
import { CacheQuotaError, cacheGetJson, cachePutJson, clearCache, deleteCachedModel, listCachedModels } from '../../src/index';
import { defaultCacheDir } from '../../src/loading/cache_node';
import { main } from '../../src/serve/cli';
import type { LoadProgress } from '../../src/loading/progress';
import { fixtureDir } from '../helpers/fixtures';
import { quotaStore } from '../helpers/quota_store';
import { startHubServer, type HubServer } from '../helpers/hub_server';

const MODEL = 'test-org/tiny-bert-embed';
// Every file of the fixture: the hub listing names them all and a load reads them all.
const FILES = ['config.json', 'config_sentence_transformers.json', 'model.safetensors', 'modules.json', 'sentence_bert_config.json', 'tokenizer.json', 'tokenizer_config.json', '1_Pooling/config.json'];

let hub: HubServer;
let dir: string;
let fixtureBytes = 0;

beforeAll(async () => {
  hub = await startHubServer();
  for (const f of FILES) fixtureBytes += (await readFile(join(fixtureDir('tiny-bert-embed'), f))).byteLength;
});
afterAll(() => hub.close());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wgpool-cache-'));
  hub.mode = 'normal';
  hub.log.length = 0;
  hub.served.clear();
  hub.conditional.length = 0;
  hub.replace.clear();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function embedOnce(opts: Partial<EngineOptions> & { endpoint: string }, text = 'hello world'): Promise<number[]> {
  const engine = await createEngine({ model: MODEL, backend: 'cpu', cache: { dir }, ...opts });
  try {
    return Array.from((await engine.embed([text])).embeddings[0] as ArrayLike<number>);
  } finally {
    await engine.dispose();
  }
}

/** Every file under the cache folder, temp files included. */
async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(join(d, e.name).slice(root.length + 1));
    }
  };
  await walk(root);
  return out;
}

const servedBytes = () => [...hub.served.values()].reduce((a, b) => a + b, 0);

describe('offline cache (Node folder)', () => {
  it('loads a second time with the server stopped; progress still reports the download and ends at 100%', async () => {
    const own = await startHubServer();
    const online = await embedOnce({ endpoint: own.base });
    const [entry] = await listCachedModels({ dir });
    expect(entry).toMatchObject({ kind: 'hub', id: MODEL, endpoint: own.base, revision: 'main', commit: 'a'.repeat(40), files: FILES.length, size: fixtureBytes, location: dir });
    // A URL prefix on a static host with an SPA fallback: probes, no listing.
    const staticUrl = `${own.base}/static/tiny-bert-embed`;
    const viaUrl = await embedOnce({ model: staticUrl, endpoint: own.base });
    await own.close();

    const events: LoadProgress[] = [];
    const offline = await embedOnce({ endpoint: own.base, onProgress: (e) => events.push(e) });
    expect(offline).toEqual(online);
    const downloads = events.filter((e) => e.phase === 'download');
    expect(downloads[0].total).toBe(fixtureBytes);
    expect(downloads[downloads.length - 1]).toMatchObject({ loaded: fixtureBytes, total: fixtureBytes });
    expect(events[events.length - 1]).toMatchObject({ phase: 'ready', progress: 1 });
    for (let i = 1; i < events.length; i++) expect(events[i].progress).toBeGreaterThanOrEqual(events[i - 1].progress);

    expect(await embedOnce({ model: staticUrl, endpoint: own.base })).toEqual(viaUrl);
    expect(viaUrl).toEqual(online);
    // Without the cache the same offline load fails, so the two loads above did come from it.
    const err = await embedOnce({ endpoint: own.base, cache: false }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/failed|ECONNREFUSED|fetch/);
  });

  it('a branch is re-checked with If-None-Match: 304 reads the cache, a changed file replaces its entry', async () => {
    const first = await embedOnce({ endpoint: hub.base });
    expect(servedBytes()).toBe(fixtureBytes);
    hub.served.clear();

    const second = await embedOnce({ endpoint: hub.base });
    expect(second).toEqual(first);
    expect(hub.conditional.sort()).toEqual(FILES.map((f) => `/cdn/tiny-bert-embed/${f} 304`).sort());
    expect(servedBytes()).toBe(0);

    // The branch moved: sentence_bert_config.json now caps sequences at 3 tokens.
    const changed = Buffer.from(JSON.stringify({ max_seq_length: 3, do_lower_case: false }));
    hub.replace.set('tiny-bert-embed/sentence_bert_config.json', changed);
    hub.conditional.length = 0;
    const engine = await createEngine({ model: MODEL, endpoint: hub.base, backend: 'cpu', cache: { dir } });
    expect(engine.info.maxLength).toBe(3);
    await engine.dispose();
    expect(hub.conditional).toContain('/cdn/tiny-bert-embed/sentence_bert_config.json 200');
    expect(hub.conditional.filter((l) => l.endsWith(' 200'))).toHaveLength(1);
    const [entry] = await listCachedModels({ dir });
    expect(entry.size).toBe(fixtureBytes - 54 + changed.byteLength);
    // The old generation of the replaced file is gone: one copy of each file on disk.
    const stored = (await filesUnder(dir)).filter((f) => f.includes('/files/'));
    expect(stored).toHaveLength(FILES.length);
    const storedConfig = stored.find((f) => f.endsWith('sentence_bert_config.json'))!;
    expect(Buffer.from(await readFile(join(dir, storedConfig))).equals(changed)).toBe(true);
  });

  it('a commit-hash revision is not re-checked: the second load makes no request at all', async () => {
    const revision = 'b'.repeat(40);
    const first = await embedOnce({ endpoint: hub.base, revision });
    expect(hub.log.length).toBeGreaterThan(FILES.length);
    hub.log.length = 0;
    expect(await embedOnce({ endpoint: hub.base, revision })).toEqual(first);
    expect(hub.log).toEqual([]);
    const entries = await listCachedModels({ dir });
    expect(entries.map((e) => e.revision)).toEqual([revision]);
  });

  it('a truncated response is never cached; the next load downloads the file again', async () => {
    hub.mode = 'truncate';
    const err = await embedOnce({ endpoint: hub.base }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/cut short|reading the body/);
    expect(await listCachedModels({ dir })).toEqual([]);
    expect(await filesUnder(dir)).toEqual([]);

    hub.mode = 'normal';
    hub.served.clear();
    await embedOnce({ endpoint: hub.base });
    expect(hub.served.get('/cdn/tiny-bert-embed/model.safetensors')).toBe(1316376);
    expect((await listCachedModels({ dir }))[0].size).toBe(fixtureBytes);
  });

  it('a cached file damaged on disk is dropped and downloaded again', async () => {
    const first = await embedOnce({ endpoint: hub.base });
    const weights = (await filesUnder(dir)).find((f) => f.endsWith('model.safetensors'))!;
    await truncate(join(dir, weights), 1000);
    hub.served.clear();
    expect(await embedOnce({ endpoint: hub.base })).toEqual(first);
    expect(hub.served.get('/cdn/tiny-bert-embed/model.safetensors')).toBe(1316376);
    expect((await listCachedModels({ dir }))[0]).toMatchObject({ files: FILES.length, size: fixtureBytes });
  });

  it('an aborted load leaves nothing cached, not even the files it had finished', async () => {
    hub.mode = 'slow';
    const ctl = new AbortController();
    const err = await embedOnce({
      endpoint: hub.base,
      signal: ctl.signal,
      onProgress: (e) => {
        if (e.phase === 'download' && e.item === 'model.safetensors' && (e.itemLoaded ?? 0) > 4096) ctl.abort();
      },
    }).catch((e: Error) => e);
    expect((err as Error).name).toBe('AbortError');
    // The small files were complete before the abort; they must not stay either.
    expect(servedBytes()).toBeGreaterThan(fixtureBytes - 1316376);
    await new Promise((r) => setTimeout(r, 100));
    expect(await listCachedModels({ dir })).toEqual([]);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('a full quota is a CacheQuotaError (507), not a silent uncached load, and leaves nothing behind', async () => {
    const store = await quotaStore(dir, 100_000);
    const err = await embedOnce({ endpoint: hub.base, cache: { store } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(CacheQuotaError);
    expect((err as CacheQuotaError).status).toBe(507);
    expect((err as Error).message).toMatch(/out of space while storing model\.safetensors of "test-org\/tiny-bert-embed".*cache: false/);
    expect(await listCachedModels({ store })).toEqual([]);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('lists with sizes, deletes one model, clears everything (JSON values too)', async () => {
    await embedOnce({ endpoint: hub.base });
    await embedOnce({ endpoint: hub.base, revision: 'v1' });
    const crossenc = await createEngine({ model: 'test-org/tiny-bert-crossenc', endpoint: hub.base, backend: 'cpu', cache: { dir } });
    await crossenc.dispose();
    let crossBytes = 0;
    for (const f of await readdir(fixtureDir('tiny-bert-crossenc'), { recursive: true, withFileTypes: true })) {
      if (f.isFile()) crossBytes += (await readFile(join(f.parentPath, f.name))).byteLength;
    }
    const list = await listCachedModels({ dir });
    expect(list.map((e) => `${e.id}@${e.revision}`).sort()).toEqual(['test-org/tiny-bert-crossenc@main', `${MODEL}@main`, `${MODEL}@v1`]);
    expect(list.find((e) => e.id === 'test-org/tiny-bert-crossenc')!.size).toBeLessThanOrEqual(crossBytes);
    for (const e of list.filter((x) => x.id === MODEL)) expect(e.size).toBe(fixtureBytes);

    expect(await deleteCachedModel(MODEL, { revision: 'v1', cache: { dir } })).toBe(1);
    expect((await listCachedModels({ dir })).map((e) => `${e.id}@${e.revision}`).sort()).toEqual(['test-org/tiny-bert-crossenc@main', `${MODEL}@main`]);
    expect(await deleteCachedModel(MODEL, { cache: { dir } })).toBe(1);
    expect(await deleteCachedModel(MODEL, { cache: { dir } })).toBe(0);
    expect((await listCachedModels({ dir })).map((e) => e.id)).toEqual(['test-org/tiny-bert-crossenc']);

    await cachePutJson('kernels/adapter-x', { matmul: 'regblock' }, { dir });
    expect(await cacheGetJson('kernels/adapter-x', { dir })).toEqual({ matmul: 'regblock' });
    expect(await cacheGetJson('nothing', { dir })).toBeNull();
    await clearCache({ dir });
    expect(await listCachedModels({ dir })).toEqual([]);
    expect(await cacheGetJson('kernels/adapter-x', { dir })).toBeNull();
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('wgpool serve keeps hub models in --cache-dir and serves them again with the hub gone', async () => {
    const own = await startHubServer();
    const serve = async () => {
      const shutdown = new AbortController();
      const err: string[] = [];
      const code = await main(['serve', MODEL, '--port', '0', '--backend', 'cpu', '--cache-dir', dir], {
        // Stop as soon as the server is up: the load is what is under test.
        out: () => shutdown.abort(),
        err: (l) => void err.push(l),
        signals: false,
        shutdown: shutdown.signal,
        env: { HF_ENDPOINT: own.base },
      });
      return { code, err };
    };
    expect((await serve()).code).toBe(0);
    expect(await listCachedModels({ dir })).toMatchObject([{ id: MODEL, endpoint: own.base, size: fixtureBytes }]);
    await own.close();
    const again = await serve();
    expect(again.err.filter((l) => /error/i.test(l))).toEqual([]);
    expect(again.code).toBe(0);
    expect(again.err.some((l) => /loading test-org\/tiny-bert-embed: ready 100%/.test(l))).toBe(true);
  });

  it('the default folder: $WGPOOL_CACHE_DIR, else $XDG_CACHE_HOME/wgpool, else ~/.cache/wgpool', async () => {
    expect(await defaultCacheDir({ WGPOOL_CACHE_DIR: '/x/y', XDG_CACHE_HOME: '/c' })).toBe('/x/y');
    expect(await defaultCacheDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/wgpool');
    expect(await defaultCacheDir({})).toMatch(/\.cache\/wgpool$/);
  });
});
