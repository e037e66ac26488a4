// Soak: many mixed requests against one engine set per backend — every task (embed, token_embed,
// score, rerank, tokenize on an embedder; classify, score, rerank on a cross-encoder; token_classify
// on the CPU), random lengths, 10% aborted, bursts over the backpressure limit — then:
//   - every request that was neither aborted nor refused (429) answered exactly what the same
//     request answers alone, sequentially (spot-check against a table computed first);
//   - the queue drains to zero;
//   - the JS heap after a forced GC and the engines' live buffers / bytes are back at their
//     starting level (measured after a warm-up, pooled free buffers trimmed both times);
// and 100 create / use / dispose cycles (CPU; 2 on SwiftShader, where a load compiles for ~30 s)
// leave no live buffer and a flat heap.
//
// CI runs WGPOOL_SOAK_REQUESTS (default 1000 on the CPU, 1/10 of it on SwiftShader); the 10,000-request
// run is `node scripts/soak.mjs`.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, OverloadedError, type Engine } from '../../src/index';
import type { BackendChoice } from '../../src/backend';
import { WgpoolError } from '../../src/gpu/errors';
import { BACKENDS } from '../helpers/backends';
import { fixtureDir, type FixtureName } from '../helpers/fixtures';
import { watchGpuErrors } from '../helpers/gpu_errors';
import { maxAbsDiff, rng } from '../helpers/random';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const REQUESTS = Number(process.env.WGPOOL_SOAK_REQUESTS ?? 1000);
const CYCLES = Number(process.env.WGPOOL_SOAK_CYCLES ?? 100);
const SCHEDULER = { maxQueuedTokens: 6000, maxBatchTokens: 1024 };
const report: string[] = [];
afterAll(() => console.log(`soak\n${report.join('\n')}`));

const WORDS = 'the quick brown fox jumps over a lazy dog while seven wizards quietly hex ünïcode text — 🦊 and numbers 12 345'.split(' ');
function sentence(r: () => number): string {
  const n = 1 + Math.floor(r() ** 2 * 120);
  return Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
}

type Req = { engine: string; task: string; run: (e: Engine, signal?: AbortSignal) => Promise<unknown> };

/** A fixed table of distinct requests; the soak draws from it so every answer has a reference. */
function requestTable(engines: string[], seed: number, groups: number): Req[] {
  const r = rng(seed);
  const out: Req[] = [];
  const texts = (k: number) => Array.from({ length: k }, () => sentence(r));
  for (let i = 0; i < groups; i++) {
    const a = texts(1 + Math.floor(r() * 4));
    const q = sentence(r);
    const d = texts(1 + Math.floor(r() * 5));
    out.push({ engine: 'embedder', task: 'embed', run: (e, signal) => e.embed(a, { signal }).then((x) => x.embeddings) });
    out.push({ engine: 'embedder', task: 'token_embed', run: (e, signal) => e.encode(a[0], { task: 'token_embed', signal }).then((x) => x.data) });
    out.push({ engine: 'embedder', task: 'score', run: (e, signal) => e.score(q, d, { signal }).then((x) => x.scores) });
    out.push({ engine: 'embedder', task: 'tokenize', run: async (e) => e.tokenize(q).tokens });
    out.push({ engine: 'crossenc', task: 'rerank', run: (e, signal) => e.rerank(q, d, { signal, topN: 3 }).then((x) => x.results) });
    out.push({ engine: 'crossenc', task: 'classify', run: (e, signal) => e.classify(a, { signal }).then((x) => x.data.map((c) => c.probs)) });
    if (engines.includes('tokcls')) out.push({ engine: 'tokcls', task: 'token_classify', run: (e, signal) => e.encode(a, { task: 'token_classify', signal }).then((x) => x.data) });
  }
  return out;
}

/** Largest difference between two answers of the same shape (numbers anywhere inside). */
function diff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) return maxAbsDiff(a as Float32Array, b as Float32Array);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length ? Math.max(0, ...a.map((x, i) => diff(x, b[i]))) : Infinity;
  if (typeof a === 'object' && a && typeof b === 'object' && b) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length ? Math.max(0, ...ka.map((k) => diff((a as never)[k], (b as never)[k]))) : Infinity;
  }
  return a === b ? 0 : Infinity;
}

function heapMiB(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function buffers(engines: Map<string, Engine>) {
  let liveBuffers = 0;
  let liveBytes = 0;
  for (const e of engines.values()) {
    e.gpu.pool.trim();
    const b = e.stats().gpuBuffers;
    liveBuffers += b.liveBuffers;
    liveBytes += b.liveBytes;
  }
  return { liveBuffers, liveBytes };
}

const FIXTURES: Record<string, FixtureName> = { embedder: 'tiny-bert-embed', crossenc: 'tiny-bert-crossenc', tokcls: 'tiny-bert-tokcls' };

for (const backend of BACKENDS) {
  describe(`soak [${backend}]`, () => {
    const count = backend === 'webgpu' ? Number(process.env.WGPOOL_SOAK_WEBGPU_REQUESTS ?? Math.ceil(REQUESTS / 10)) : REQUESTS;
    it(`${count} mixed requests: right answers, drained queue, heap and live buffers back at the start`, async () => {
      const names = backend === 'cpu' ? ['embedder', 'crossenc', 'tokcls'] : ['embedder', 'crossenc'];
      const engines = new Map<string, Engine>();
      for (const n of names) engines.set(n, await createEngine({ model: fixtureDir(FIXTURES[n]), backend: backend as BackendChoice, scheduler: SCHEDULER }));
      const watches = backend === 'webgpu' ? [...engines.values()].map((e) => watchGpuErrors(e.gpu.device)) : [];
      try {
        const table = requestTable(names, 7, backend === 'webgpu' ? 5 : 12);
        // Reference answers, one request at a time.
        const reference: unknown[] = [];
        for (const q of table) reference.push(await q.run(engines.get(q.engine)!));
        const counts = { ok: 0, aborted: 0, overloaded: 0, wrong: 0 };
        let worst = 0;
        /** `n` requests of the mix, drawn with `seed`, in bursts; outcomes go into `counts`. */
        const mix = async (n: number, seed: number) => {
          const r = rng(seed);
          let sent = 0;
          while (sent < n) {
            // Bursts: mostly small, sometimes far over maxQueuedTokens (those get 429s).
            // The first burst is always a big one, so even a short run sees 429s.
            const big = sent === 0 || r() < 0.08;
            const burst = Math.min(n - sent, big ? 120 + Math.floor(r() * 80) : 1 + Math.floor(r() * 24));
            const jobs: Promise<void>[] = [];
            for (let j = 0; j < burst; j++, sent++) {
              const k = Math.floor(r() * table.length);
              const q = table[k];
              let ctl: AbortController | undefined;
              if (r() < 0.1) {
                ctl = new AbortController();
                const when = r();
                if (when < 0.3) ctl.abort();
                else setTimeout(() => ctl!.abort(), Math.floor(when * 20));
              }
              jobs.push(
                q.run(engines.get(q.engine)!, ctl?.signal).then(
                  (value) => {
                    const d = diff(value, reference[k]);
                    worst = Math.max(worst, d);
                    if (d > 1e-4) counts.wrong++;
                    else counts.ok++;
                  },
                  (e) => {
                    if (e instanceof OverloadedError) counts.overloaded++;
                    else if ((e as Error)?.name === 'AbortError' && ctl?.signal.aborted) counts.aborted++;
                    else throw e;
                  },
                ),
              );
            }
            await Promise.all(jobs);
          }
        };
        // Warm-up: a shorter run of the same mix sizes the pools and the activation buffers (they
        // stay at the largest batch seen); the baseline is taken after it.
        await mix(Math.min(400, count), 5);
        Object.assign(counts, { ok: 0, aborted: 0, overloaded: 0, wrong: 0 });
        const heap0 = heapMiB();
        const buf0 = buffers(engines);
        const started = performance.now();
        await mix(count, 11);
        const seconds = (performance.now() - started) / 1000;
        for (const e of engines.values()) {
          const s = e.stats();
          expect([s.queuedRequests, s.queuedTokens, s.inFlight]).toStrictEqual([0, 0, 0]);
        }
        const heap1 = heapMiB();
        const buf1 = buffers(engines);
        for (const w of watches) w.check();
        report.push(
          `  ${backend}: ${count} requests in ${seconds.toFixed(1)} s (${(count / seconds).toFixed(0)}/s) — answered ${counts.ok} (max diff vs sequential ${worst.toExponential(1)}), aborted ${counts.aborted}, 429 ${counts.overloaded}, wrong ${counts.wrong}; ` +
            `heap ${heap0.toFixed(1)} → ${heap1.toFixed(1)} MiB; live buffers ${buf0.liveBuffers} → ${buf1.liveBuffers}, bytes ${buf0.liveBytes} → ${buf1.liveBytes}`,
        );
        expect(counts.wrong).toBe(0);
        expect(counts.ok).toBeGreaterThan(count * 0.5);
        expect(counts.aborted).toBeGreaterThan(0);
        expect(counts.overloaded).toBeGreaterThan(0);
        // The same buffers are live; their bytes may only have grown where an activation buffer was
        // re-made for a batch larger than any in the warm-up (a size class up), never without bound.
        expect(buf1.liveBuffers).toBe(buf0.liveBuffers);
        expect(buf1.liveBytes).toBeGreaterThanOrEqual(buf0.liveBytes);
        expect(buf1.liveBytes - buf0.liveBytes).toBeLessThanOrEqual(buf0.liveBytes * 0.05);
        expect(heap1 - heap0).toBeLessThan(8);
      } finally {
        for (const e of engines.values()) await e.dispose();
      }
      for (const e of engines.values()) expect(e.gpu.bufferCount().liveBuffers).toBe(0);
    }, 7_200_000);

    const cycles = backend === 'webgpu' ? Number(process.env.WGPOOL_SOAK_WEBGPU_CYCLES ?? 2) : CYCLES;
    it(`${cycles} create / use / dispose cycles leave no live buffer and a flat heap`, async () => {
      let heapStart = 0;
      const heaps: number[] = [];
      for (let i = 0; i < cycles; i++) {
        const engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), backend: backend as BackendChoice });
        const v = await engine.embed(['cycle ' + i, 'a second text']);
        expect(v.embeddings.length).toBe(2);
        const gpu = engine.gpu;
        await engine.dispose();
        const left = gpu.bufferCount();
        if (left.liveBuffers !== 0 || left.liveBytes !== 0) throw new Error(`cycle ${i}: ${left.liveBuffers} buffers (${left.liveBytes} bytes) live after dispose`);
        const after = await engine.embed('after').then(() => null, (e: unknown) => e);
        if (!(after instanceof WgpoolError) || after.name !== 'EngineDisposedError') throw new Error(`cycle ${i}: embed after dispose gave ${String(after)}`);
        if (i === Math.min(4, cycles - 1)) heapStart = heapMiB();
        if (i % 10 === 9 || i === cycles - 1) heaps.push(heapMiB());
      }
      const heapEnd = heapMiB();
      report.push(`  ${backend}: ${cycles} create/use/dispose cycles — live buffers after each dispose 0; heap ${heapStart.toFixed(1)} → ${heapEnd.toFixed(1)} MiB (${heaps.map((h) => h.toFixed(1)).join(', ')})`);
      expect(heapEnd - heapStart).toBeLessThan(8);
    }, 7_200_000);
  });
}
