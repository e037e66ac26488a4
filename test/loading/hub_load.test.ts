// Loading through a hub-like server on loopback: the model API listing, 302s from resolve/ to a
// CDN path, SPA fallbacks, 404s, slow and truncated bodies; and the progress stream of each load.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, ModelLoadError, NotFoundError } from '../../src/index';
import type { LoadProgress } from '../../src/loading/progress';
import { resolveSource } from '../../src/loading/source';
import { startHubServer, type HubServer } from '../helpers/hub_server';

let hub: HubServer;
beforeAll(async () => (hub = await startHubServer()));
afterAll(() => hub.close());

function checkStream(events: LoadProgress[]): void {
  expect(events.length).toBeGreaterThan(3);
  for (let i = 1; i < events.length; i++) expect(events[i].progress).toBeGreaterThanOrEqual(events[i - 1].progress);
  const last = events[events.length - 1];
  expect(last.phase).toBe('ready');
  expect(last.progress).toBe(1);
  expect(events.filter((e) => e.phase === 'ready')).toHaveLength(1);
  for (const e of events.slice(0, -1)) expect(e.progress).toBeLessThan(1);
  const phases = [...new Set(events.map((e) => e.phase))];
  expect(phases.slice(0, 2)).toEqual(['download', 'parse']);
  expect(phases).toContain('upload');
  expect(phases).toContain('compile');
}

describe('hub-like server', () => {
  it('loads by id: one listing, 302 to the CDN, no probes; progress adds up to the bytes served and ends at 100%', async () => {
    hub.mode = 'normal';
    hub.log.length = 0;
    hub.served.clear();
    const events: LoadProgress[] = [];
    const engine = await createEngine({ model: 'test-org/tiny-bert-embed', endpoint: hub.base, onProgress: (e) => events.push(e) });
    try {
      expect(hub.log[0]).toBe('GET /api/models/test-org/tiny-bert-embed/revision/main?blobs=true');
      expect(hub.log.filter((l) => l.startsWith('HEAD'))).toEqual([]);
      expect(hub.log).toContain('GET /test-org/tiny-bert-embed/resolve/main/model.safetensors');
      expect(hub.log).toContain('GET /cdn/tiny-bert-embed/model.safetensors');
      checkStream(events);
      const downloads = events.filter((e) => e.phase === 'download');
      const served = [...hub.served.values()].reduce((a, b) => a + b, 0);
      const lastDl = downloads[downloads.length - 1];
      expect(lastDl.loaded).toBe(served);
      // The listing gave the total before the first byte arrived.
      expect(downloads[0].total).toBe(served);
      for (let i = 1; i < downloads.length; i++) expect(downloads[i].loaded).toBeGreaterThanOrEqual(downloads[i - 1].loaded);
      // The small files arrive before parsing starts; the weights stream to the GPU as they arrive,
      // so their download and the upload interleave (upload events before the last weight bytes).
      const parse = events.filter((e) => e.phase === 'parse');
      const lastSmall = downloads.filter((e) => !e.item!.endsWith('.safetensors')).pop()!;
      expect(events.indexOf(parse[0])).toBeGreaterThan(events.indexOf(lastSmall));
      const weightDl = events.filter((e) => e.phase === 'download' && e.item === 'model.safetensors');
      const uploads = events.filter((e) => e.phase === 'upload');
      expect(uploads[uploads.length - 1].loaded).toBeGreaterThan(0);
      expect(events.indexOf(uploads[0])).toBeLessThan(events.indexOf(weightDl[weightDl.length - 1]));
      const r = await engine.embed(['hello world']);
      expect(r.embeddings[0].length).toBe(engine.info.embeddingSize);
      expect(engine.loadTimeline!.totalMs).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
  });

  it('a static host with an SPA fallback: optional files count as absent, the model loads', async () => {
    hub.mode = 'normal';
    hub.served.clear();
    const events: LoadProgress[] = [];
    const engine = await createEngine({ model: `${hub.base}/static/tiny-bert-embed`, onProgress: (e) => events.push(e) });
    try {
      expect((await engine.embed('hi')).embeddings).toHaveLength(1);
      // No listing here: the total grows as responses announce their sizes, and still adds up.
      const downloads = events.filter((e) => e.phase === 'download');
      const served = [...hub.served.values()].reduce((a, b) => a + b, 0);
      expect(downloads[downloads.length - 1].loaded).toBe(served);
      expect(events[events.length - 1]).toMatchObject({ phase: 'ready', progress: 1 });
      for (let i = 1; i < events.length; i++) expect(events[i].progress).toBeGreaterThanOrEqual(events[i - 1].progress);
    } finally {
      await engine.dispose();
    }
  });

  it('a required file answered with index.html names the URL and what came back', async () => {
    const src = await resolveSource(`${hub.base}/static/no-such-model`);
    expect(await src.exists('model.safetensors.index.json')).toBe(false);
    const err = await src.json('tokenizer.json').catch((e: Error) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain(`GET ${hub.base}/static/no-such-model/tokenizer.json got an HTML page, not tokenizer.json — is the path right?`);
    const load = await createEngine({ model: `${hub.base}/static/no-such-model` }).catch((e: Error) => e);
    expect((load as Error).message).toMatch(/got an HTML page, not (config|tokenizer)\.json/);
  });

  it('404 mode: a NotFoundError naming the file', async () => {
    hub.mode = '404';
    try {
      const err = await createEngine({ model: 'test-org/tiny-bert-embed', endpoint: hub.base }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toMatch(/config\.json|tokenizer\.json/);
    } finally {
      hub.mode = 'normal';
    }
  });

  it('truncating mode: a cut-short body is an error, never a short file', async () => {
    hub.mode = 'truncate';
    try {
      const src = await resolveSource('test-org/tiny-bert-embed', { endpoint: hub.base });
      const err = await src.bytes('model.safetensors').catch((e: Error) => e);
      expect(err).toBeInstanceOf(ModelLoadError);
      expect((err as Error).message).toMatch(/cut short|reading the body/);
    } finally {
      hub.mode = 'normal';
    }
  });

  it('slow mode: aborting mid-download rejects with AbortError and stops the transfer', async () => {
    hub.mode = 'slow';
    hub.served.clear();
    try {
      const ctl = new AbortController();
      const events: LoadProgress[] = [];
      const p = createEngine({
        model: 'test-org/tiny-bert-embed',
        endpoint: hub.base,
        // About the network transfer stopping, so not answered from the cache the first test filled.
        cache: false,
        signal: ctl.signal,
        onProgress: (e) => {
          events.push(e);
          if (e.phase === 'download' && e.item === 'model.safetensors' && (e.itemLoaded ?? 0) > 4096) ctl.abort();
        },
      });
      const err = await p.catch((e: Error) => e);
      expect((err as Error).name).toBe('AbortError');
      expect(events.some((e) => e.phase === 'ready')).toBe(false);
      const sent = hub.served.get('/cdn/tiny-bert-embed/model.safetensors') ?? 0;
      await new Promise((r) => setTimeout(r, 200));
      expect(hub.served.get('/cdn/tiny-bert-embed/model.safetensors') ?? 0).toBeLessThanOrEqual(sent + 2048);
    } finally {
      hub.mode = 'normal';
    }
  });
});
