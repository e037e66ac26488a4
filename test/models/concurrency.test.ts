// The scheduler on a real engine: many concurrent callers merge into few packed batches and get
// exactly what they would get alone; aborts and overload leave the engine serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, OverloadedError, type Engine } from '../../src/index';
import { describeBackends } from '../helpers/backends';
import { fixtureDir } from '../helpers/fixtures';
import { loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff, rng } from '../helpers/random';

const golden = loadGoldenOf('tiny-bert-embed', 'embed');
const words = golden.cases.flatMap((c) => c.text.split(/\s+/)).filter(Boolean);

/** Deterministic texts of 1–40 words. */
function makeTexts(n: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(r() * 40) }, () => words[Math.floor(r() * words.length)]).join(' '));
}

describeBackends('concurrent callers', (backend) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), scheduler: { maxBatchTokens: 2048 }, backend });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('200 calls from 20 callers equal one-by-one results, in far fewer batches', async () => {
    const texts = makeTexts(200, 7);
    const alone: Float32Array[] = [];
    for (const t of texts) alone.push((await engine.embed(t)).embeddings[0]);
    const before = engine.stats().batches;
    // 20 callers, each firing its 10 requests without waiting for the previous one.
    const callers = Array.from({ length: 20 }, (_, c) => Promise.all(texts.slice(c * 10, c * 10 + 10).map((t) => engine.embed(t))));
    const results = (await Promise.all(callers)).flat();
    const batches = engine.stats().batches - before;
    let worst = 0;
    results.forEach((r, i) => (worst = Math.max(worst, maxAbsDiff(r.embeddings[0], alone[i]))));
    console.log(`200 concurrent embeds: ${batches} batches, max diff vs alone ${worst}, mean fill ${engine.stats().meanBatchFill.toFixed(3)}`);
    expect(worst).toBeLessThan(1e-6);
    expect(batches).toBeLessThan(20);
    expect(results.every((r) => r.metadata!.batchSize >= 1)).toBe(true);
  });

  it('aborted requests reject with AbortError and never resolve; the rest are unaffected', async () => {
    const texts = makeTexts(30, 11);
    const ctl = new AbortController();
    const settled: string[] = [];
    const calls = texts.map((t, i) =>
      engine.embed(t, i % 3 === 0 ? { signal: ctl.signal } : {}).then(
        (r) => (settled[i] = 'resolved', r),
        (e: Error) => (settled[i] = e.name, null),
      ),
    );
    ctl.abort();
    const out = await Promise.all(calls);
    texts.forEach((_, i) => expect(settled[i]).toBe(i % 3 === 0 ? 'AbortError' : 'resolved'));
    const check = await engine.embed(texts[1]);
    expect(maxAbsDiff(check.embeddings[0], out[1]!.embeddings[0])).toBeLessThan(1e-6);
  });
});

describeBackends('backpressure', (backend) => {
  it('past the queue bound new requests fail fast with a 429-style error, and the engine keeps serving', async () => {
    const engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), scheduler: { maxQueuedTokens: 300, maxBatchTokens: 256, maxInFlight: 1 }, backend });
    try {
      const texts = makeTexts(40, 3);
      const outcomes = await Promise.allSettled(texts.map((t) => engine.embed(t)));
      const rejected = outcomes.filter((o) => o.status === 'rejected');
      expect(rejected.length).toBeGreaterThan(0);
      for (const r of rejected) {
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(OverloadedError);
        expect((r as PromiseRejectedResult).reason.status).toBe(429);
      }
      expect(engine.stats().requestsRejected).toBe(rejected.length);
      const ok = await engine.embed(golden.cases[2].text);
      expect(maxAbsDiff(ok.embeddings[0], golden.cases[2].embedding)).toBeLessThan(1e-5);
    } finally {
      await engine.dispose();
    }
  });
});
