// One engine for every tab: createSharedWorkerEngine from a page; the Playwright test opens two
// pages of one context (the second load should find the model already loaded) and one page without
// SharedWorker (the dedicated-Worker fallback). Each page searches a small corpus by cosine over the
// engine's embeddings and checks them against the goldens.
import { flatSearch } from '../../../../src/index/flat';
import { createSharedWorkerEngine } from '../../../../src/worker/index';
import golden from '../../../fixtures/goldens/tiny-bert-embed.json';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

const script = new URL('../../../../src/worker/shared_worker.ts', import.meta.url);

export default async function run(args: { noSharedWorker?: boolean } = {}) {
  if (args.noSharedWorker) (globalThis as { SharedWorker?: unknown }).SharedWorker = undefined;
  const t0 = performance.now();
  const engine = await createSharedWorkerEngine(script, { model: new URL('/models/tiny-bert-embed', location.href).href }, {
    sharedWorker: () => new SharedWorker(new URL('../../../../src/worker/shared_worker.ts', import.meta.url), { type: 'module', name: 'wgpool-e2e' }),
    worker: () => new Worker(new URL('../../../../src/worker/shared_worker.ts', import.meta.url), { type: 'module' }),
  });
  const loadMs = performance.now() - t0;
  const texts = golden.cases.map((c) => c.text);
  const { embeddings } = await engine.embed(texts);
  const goldenErr = Math.max(...embeddings.map((e, i) => maxAbsDiff(e, golden.cases[i].embedding)));
  const D = engine.info.embeddingSize;
  const corpus = new Float32Array(texts.length * D);
  embeddings.forEach((e, i) => corpus.set(e, i * D));
  const query = (await engine.embed(texts[1] + ' again')).embeddings[0];
  const hits = flatSearch(corpus, D, query, 3).map((h) => h.row);
  // The golden vectors rank the same way.
  const goldenCorpus = new Float32Array(texts.length * D);
  golden.cases.forEach((c, i) => goldenCorpus.set(c.embedding, i * D));
  const goldenHits = flatSearch(goldenCorpus, D, query, 3).map((h) => h.row);
  // The vector index beside the engine, in the worker: a second tab finds the first tab's index.
  const index = engine.index('docs');
  const opened = await index.open();
  if (opened.size === 0) await index.addTexts(texts.map((text, i) => ({ id: `t${i}`, text, metadata: { i } })));
  const indexHits = (await index.search(texts[1] + ' again', { k: 3 })).map((h) => Number(h.id.slice(1)));
  await index.save('docs-saved', 'wgpool-e2e-worker');
  const copy = await engine.index('copy').load('docs-saved', 'wgpool-e2e-worker');
  const copyHits = (await engine.index('copy').search(texts[1] + ' again', { k: 3 })).map((h) => Number(h.id.slice(1)));
  const missing = await engine.index('nope').search('x').then(
    () => 'found',
    (e: Error) => e.message,
  );
  return { kind: engine.kind, loadMs, goldenErr, hits, goldenHits, model: engine.info.model, sizeAtOpen: opened.size, indexHits, copyHits, copySize: copy.size, corpusSize: texts.length, missing };
}
