// The engine in a Web Worker, driven from the page: a large corpus is embedded while the page's
// requestAnimationFrame loop keeps ticking; the worker's vectors equal the goldens.
import { createWorkerEngine } from '../../../../src/worker/index';
import golden from '../../../fixtures/goldens/tiny-bert-embed.json';
import { countFrames } from './frames';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

export default async function run() {
  const worker = new Worker(new URL('../../../../src/worker/worker.ts', import.meta.url), { type: 'module' });
  const engine = await createWorkerEngine(worker, { model: new URL('/models/tiny-bert-embed', location.href).href });
  const texts = golden.cases.map((c) => c.text);
  const check = await engine.embed(texts);
  const goldenErr = Math.max(...check.embeddings.map((e, i) => maxAbsDiff(e, golden.cases[i].embedding)));

  // A corpus of 400 texts, submitted as 400 concurrent calls (the worker's scheduler merges them).
  const corpus = Array.from({ length: 400 }, (_, i) => `${texts[i % texts.length]} ${i}`);
  const frameCount = countFrames();
  const t0 = performance.now();
  const results = await Promise.all(corpus.map((t) => engine.embed(t)));
  const ms = performance.now() - t0;
  const { frames, maxGap } = frameCount.stop();

  // Cancellation across the worker boundary.
  const ctl = new AbortController();
  const aborted = engine.embed(corpus.slice(0, 50), { signal: ctl.signal }).then(
    () => 'resolved',
    (e: Error) => e.name,
  );
  ctl.abort();
  const abortOutcome = await aborted;

  const stats = (await engine.stats()) as { batches: number };
  await engine.dispose();
  return { goldenErr, embedded: results.length, dims: results[0].embeddings[0].length, ms, frames, maxGap, abortOutcome, batches: stats.batches };
}
