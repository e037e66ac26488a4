// The search app's expected ranking: the same SharedWorker engine (same script, name and model, so
// it loads instantly when the app is open), passages split as the app splits them, cosine by the JS
// flat scan over engine.embed's vectors.
import { flatSearch } from '../../../../src/index/flat';
import { createSharedWorkerEngine } from '../../../../src/worker/index';
import { MODEL_URL } from '../../../../demo/search/app';
import { splitPassages } from '../../../../demo/search/passages';

export default async function run(args: { body: string; query: string; k: number }) {
  const t0 = performance.now();
  const engine = await createSharedWorkerEngine(null, { model: new URL(MODEL_URL, location.href).href }, {
    sharedWorker: () => new SharedWorker(new URL('../../../../demo/search/engine_worker.ts', import.meta.url), { type: 'module', name: 'wgpool-search' }),
  });
  const loadMs = performance.now() - t0;
  const texts = splitPassages('check', args.body).map((p) => p.text);
  const D = engine.info.embeddingSize;
  const rows = new Float32Array(texts.length * D);
  (await engine.embed(texts, { truncatePromptTokens: -1 })).embeddings.forEach((e, i) => rows.set(e, i * D));
  const q = (await engine.embed(args.query, { truncatePromptTokens: -1 })).embeddings[0];
  return { loadMs, expected: flatSearch(rows, D, q, args.k).map((h) => texts[h.row]), model: engine.info.model };
}
