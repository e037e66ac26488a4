// The CPU backend behind the two worker front ends, in Chromium:
//   worker: the Web Worker engine (createWorkerEngine) with backend 'cpu' and 2 threads on a
//           cross-origin-isolated page (?coi=1): the worker starts its own kernel workers.
//   sw:     the ready-made Service Worker (sw_entry.ts?backend=cpu) answering /wgpool/v1/embeddings;
//           its vectors equal a page-side CPU engine's bit for bit (WebGPU's differ by ~1e-7).
import { createEngine } from '../../../../src/index';
import { createWorkerEngine } from '../../../../src/worker/index';
import golden from '../../../fixtures/goldens/tiny-bert-embed.json';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

const texts = golden.cases.map((c) => c.text);
const model = new URL('/models/tiny-bert-embed', location.href).href;

async function cpuVectors(): Promise<number[][]> {
  const engine = await createEngine({ model, backend: 'cpu', threads: 1 });
  const res = await engine.embed(texts);
  await engine.dispose();
  return res.embeddings.map((e) => Array.from(e));
}

export default async function run(args: { phase: 'worker' | 'sw' }) {
  if (args.phase === 'worker') {
    const worker = new Worker(new URL('../../../../src/worker/worker.ts', import.meta.url), { type: 'module' });
    const engine = await createWorkerEngine(worker, { model, backend: 'cpu', threads: 2 });
    const res = await engine.embed(texts);
    const alone = await Promise.all(texts.map((t) => engine.embed(t)));
    const out = {
      isolated: crossOriginIsolated,
      backend: engine.info.backend,
      goldenErr: Math.max(...res.embeddings.map((e, i) => maxAbsDiff(e, golden.cases[i].embedding))),
      batchInvariance: Math.max(...alone.map((r, i) => maxAbsDiff(r.embeddings[0], res.embeddings[i]))),
      vsPageCpu: Math.max(...(await cpuVectors()).map((v, i) => maxAbsDiff(v, res.embeddings[i]))),
    };
    await engine.dispose();
    worker.terminate();
    return out;
  }
  const query = new URLSearchParams({ model: 'embedder=/models/tiny-bert-embed', base: '/wgpool', backend: 'cpu' });
  await navigator.serviceWorker.register(`/src/serve/sw_entry.ts?${query}`, { type: 'module', scope: '/' });
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
  }
  const res = await fetch('/wgpool/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'embedder', input: texts }) });
  const body = (await res.json()) as { data?: { embedding: number[] }[] };
  const vectors = body.data?.map((d) => d.embedding) ?? [];
  const cpu = await cpuVectors();
  return {
    status: res.status,
    count: vectors.length,
    expected: texts.length,
    goldenErr: Math.max(...vectors.map((v, i) => maxAbsDiff(v, golden.cases[i].embedding))),
    vsPageCpu: Math.max(...vectors.map((v, i) => maxAbsDiff(v, cpu[i]))),
  };
}
