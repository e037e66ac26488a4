// The CPU backend in Chromium on the page's main thread, on a cross-origin-isolated page (the dev
// server sends COOP/COEP for ?coi=1): Web Workers over a shared WebAssembly memory. Golden
// embeddings of a Qwen3 embedder (GQA, RoPE, SwiGLU) with 2 threads, bit-identical to 1 thread, batch
// invariance; and what a page without isolation gets (1 thread by default, a clear error for 2).
import { createEngine } from '../../../../src/index';
import qwen from '../../../fixtures/goldens/tiny-qwen3-embed.json';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

export default async function run() {
  const model = new URL('/models/tiny-qwen3-embed', location.href).href;
  const texts = qwen.cases.map((c) => c.text);
  if (!crossOriginIsolated) {
    const fallback = await createEngine({ model, backend: 'cpu' });
    const threads = fallback.info.backend.threads;
    await fallback.dispose();
    const error = await createEngine({ model, backend: 'cpu', threads: 2 }).then(() => 'loaded', (e: Error) => e.message);
    return { isolated: false, threads, error };
  }
  const two = await createEngine({ model, backend: 'cpu', threads: 2 });
  const one = await createEngine({ model, backend: 'cpu', threads: 1 });
  const res = await two.embed(texts);
  const ref = await one.embed(texts);
  let embedding = 0;
  let vsOneThread = 0;
  let batchInvariance = 0;
  for (let i = 0; i < texts.length; i++) {
    embedding = Math.max(embedding, maxAbsDiff(res.embeddings[i], qwen.cases[i].embedding));
    vsOneThread = Math.max(vsOneThread, maxAbsDiff(res.embeddings[i], ref.embeddings[i]));
    batchInvariance = Math.max(batchInvariance, maxAbsDiff((await two.embed(texts[i])).embeddings[0], res.embeddings[i]));
  }
  const info = { ...two.info.backend, description: two.info.adapter.description };
  await Promise.all([two.dispose(), one.dispose()]);
  return { isolated: true, info, embedding, vsOneThread, batchInvariance };
}
