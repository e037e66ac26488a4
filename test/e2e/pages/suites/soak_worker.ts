// Tab soak (issue 16): the Web Worker engine under a mixed load — embed, token_embed, score,
// rerank, tokenize — with 10% of requests carrying an abort signal and bursts over the worker
// engine's backpressure limit, while the page's requestAnimationFrame loop keeps ticking. Every
// answered request must equal the same request answered alone first; the worker's queue must drain;
// its live GPU buffers and the page's JS heap are reported before and after.
import { createWorkerEngine } from '../../../../src/worker/index';

const WORDS = 'the quick brown fox jumps over a lazy dog while seven wizards quietly hex ünïcode text 🦊 12 345'.split(' ');

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function diff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = a as Float32Array, y = b as Float32Array;
    if (x.length !== y.length) return Infinity;
    let m = 0;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
    return m;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length ? Math.max(0, ...a.map((x, i) => diff(x, b[i]))) : Infinity;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const k = Object.keys(a);
    return k.length === Object.keys(b).length ? Math.max(0, ...k.map((n) => diff((a as never)[n], (b as never)[n]))) : Infinity;
  }
  return a === b ? 0 : Infinity;
}

const heap = () => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? NaN;

export default async function run(args?: { count?: number }) {
  const count = args?.count ?? 300;
  const worker = new Worker(new URL('../../../../src/worker/worker.ts', import.meta.url), { type: 'module' });
  const engine = await createWorkerEngine(worker, { model: new URL('/models/tiny-bert-embed', location.href).href, scheduler: { maxQueuedTokens: 6000 } } as never);
  const r = rng(3);
  const sentence = () => Array.from({ length: 1 + Math.floor(r() ** 2 * 80) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
  type Req = (signal?: AbortSignal) => Promise<unknown>;
  const table: Req[] = [];
  for (let i = 0; i < 8; i++) {
    const a = [sentence(), sentence()];
    const q = sentence();
    const d = [sentence(), sentence(), sentence()];
    table.push((signal) => engine.embed(a, { signal }).then((x) => x.embeddings));
    table.push((signal) => engine.encode(a[0], { task: 'token_embed', signal }).then((x) => x.data));
    table.push((signal) => engine.score(q, d, { signal }).then((x) => x.scores));
    table.push((signal) => engine.rerank(q, d, { signal, topN: 2 }).then((x) => x.results));
    table.push(() => engine.tokenizeAsync(q).then((x) => x.tokens));
  }
  const reference: unknown[] = [];
  for (const t of table) reference.push(await t());

  let frames = 0;
  let maxGap = 0;
  let last = performance.now();
  let running = true;
  const tick = (t: number) => {
    frames++;
    maxGap = Math.max(maxGap, t - last);
    last = t;
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);

  const counts = { ok: 0, wrong: 0, aborted: 0, overloaded: 0, other: [] as string[] };
  const mix = async (n: number, seed: number) => {
    const m = rng(seed);
    let sent = 0;
    while (sent < n) {
      const burst = Math.min(n - sent, m() < 0.1 ? 80 + Math.floor(m() * 60) : 1 + Math.floor(m() * 16));
      const jobs: Promise<void>[] = [];
      for (let j = 0; j < burst; j++, sent++) {
        const k = Math.floor(m() * table.length);
        let ctl: AbortController | undefined;
        if (m() < 0.1) {
          ctl = new AbortController();
          const when = m();
          if (when < 0.3) ctl.abort();
          else setTimeout(() => ctl!.abort(), Math.floor(when * 20));
        }
        jobs.push(
          table[k](ctl?.signal).then(
            (v) => void (diff(v, reference[k]) <= 1e-5 ? counts.ok++ : counts.wrong++),
            (e: Error) => {
              if (e.name === 'OverloadedError') counts.overloaded++;
              else if (e.name === 'AbortError' && ctl?.signal.aborted) counts.aborted++;
              else counts.other.push(`${e.name}: ${e.message}`);
            },
          ),
        );
      }
      await Promise.all(jobs);
    }
  };
  await mix(Math.min(100, count), 1);
  Object.assign(counts, { ok: 0, wrong: 0, aborted: 0, overloaded: 0 });
  const before = { heap: heap(), stats: (await engine.stats()) as { gpuBuffers: { liveBuffers: number; liveBytes: number; pooledFreeBuffers: number; pooledFreeBytes: number } } };
  const t0 = performance.now();
  await mix(count, 2);
  const ms = performance.now() - t0;
  running = false;
  const after = { heap: heap(), stats: (await engine.stats()) as { gpuBuffers: { liveBuffers: number; liveBytes: number; pooledFreeBuffers: number; pooledFreeBytes: number }; queuedRequests: number; inFlight: number } };
  await engine.dispose();
  return {
    count, ms, frames, maxGap, counts,
    heapBefore: before.heap, heapAfter: after.heap,
    buffersBefore: before.stats.gpuBuffers, buffersAfter: after.stats.gpuBuffers,
    queued: after.stats.queuedRequests, inFlight: after.stats.inFlight,
  };
}
