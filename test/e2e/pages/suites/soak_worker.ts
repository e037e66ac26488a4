// Tab soak (issue 16): the Web Worker engine under a mixed load — embed, token_embed, score,
// rerank, tokenize — with 10% of requests carrying an abort signal and bursts over the worker
// engine's backpressure limit, while the page's requestAnimationFrame loop keeps ticking. Every
// answered request must equal the same request answered alone first; the worker's queue must drain;
// its live GPU buffers and the page's JS heap are reported before and after. The mix and its
// checking are soak_mix.ts, shared with the Service Worker soak (soak_sw.ts).
import { createWorkerEngine } from '../../../../src/worker/index';
import { countFrames } from './frames';
import { heap, mix, references, sentences, type Call } from './soak_mix';

type GpuBuffers = { liveBuffers: number; liveBytes: number; pooledFreeBuffers: number; pooledFreeBytes: number };

export default async function run(args?: { count?: number }) {
  const count = args?.count ?? 300;
  const worker = new Worker(new URL('../../../../src/worker/worker.ts', import.meta.url), { type: 'module' });
  const engine = await createWorkerEngine(worker, { model: new URL('/models/tiny-bert-embed', location.href).href, scheduler: { maxQueuedTokens: 6000 } } as never);
  const sentence = sentences(3);
  const table: Call[] = [];
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
  const reference = await references(table);

  const frames = countFrames();
  await mix(table, reference, Math.min(100, count), 1);
  const before = { heap: heap(), stats: (await engine.stats()) as { gpuBuffers: GpuBuffers } };
  const t0 = performance.now();
  const counts = await mix(table, reference, count, 2);
  const ms = performance.now() - t0;
  const { frames: frameCount, maxGap } = frames.stop();
  const after = { heap: heap(), stats: (await engine.stats()) as { gpuBuffers: GpuBuffers; queuedRequests: number; inFlight: number } };
  await engine.dispose();
  return {
    count, ms, frames: frameCount, maxGap, counts,
    heapBefore: before.heap, heapAfter: after.heap,
    buffersBefore: before.stats.gpuBuffers, buffersAfter: after.stats.gpuBuffers,
    queued: after.stats.queuedRequests, inFlight: after.stats.inFlight,
  };
}
