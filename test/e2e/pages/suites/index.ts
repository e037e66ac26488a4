// The vector index in Chromium: texts embedded into the corpus on the GPU, searched, saved to real
// IndexedDB; after a reload (phase 'restore') loaded back without re-embedding, searched again, and
// refused by another model.
import { createEngine, flatSearch, IndexedDBIndexStore, VectorIndex } from '../../../../src/index';

const TEXTS = Array.from({ length: 120 }, (_, i) => `${['river', 'music', 'garden', 'winter', 'doctor', 'ocean'][i % 6]} passage number ${i} about ${['cities', 'songs', 'flowers', 'snow', 'health', 'ships'][(i * 7) % 6]}`);
const QUERIES = ['songs by the river', 'snow in the garden', 'ships on the ocean'];
const model = (name: string) => new URL(`/models/${name}`, location.href).href;

export default async function run(args: { phase: 'build' | 'restore' }) {
  const engine = await createEngine({ model: model('tiny-bert-embed') });
  const store = new IndexedDBIndexStore('wgpool-e2e');
  try {
    if (args.phase === 'build') {
      await store.delete('docs');
      const index = await VectorIndex.create({ engine });
      await index.addTexts(TEXTS.map((text, i) => ({ id: `p${i}`, text, metadata: { position: i } })));
      const hits = await index.searchBatch(QUERIES, { k: 5 });
      // The same ranking from a host cosine over engine.embed's vectors.
      const D = engine.info.embeddingSize;
      const ref = new Float32Array(TEXTS.length * D);
      (await engine.embed(TEXTS)).embeddings.forEach((e, i) => ref.set(e, i * D));
      const q = (await engine.embed(QUERIES)).embeddings;
      const host = q.map((v) => flatSearch(ref, D, v, 5).map((h) => `p${h.row}`));
      const binary = await index.searchBatch(QUERIES, { k: 5, mode: 'binary', candidates: TEXTS.length });
      await index.save(store, 'docs');
      return { ids: hits.map((h) => h.map((x) => x.id)), host, binary: binary.map((h) => h.map((x) => x.id)), listed: await store.list() };
    }
    const t0 = performance.now();
    const index = await VectorIndex.load(store, 'docs', { engine });
    const loadMs = performance.now() - t0;
    const hits = await index.searchBatch(QUERIES, { k: 5 });
    const other = await createEngine({ model: model('tiny-roberta-embed') });
    const mismatch = await VectorIndex.load(store, 'docs', { engine: other }).then(
      () => 'loaded',
      (e: Error) => `${e.name}: ${e.message}`,
    );
    await other.dispose();
    return { ids: hits.map((h) => h.map((x) => x.id)), size: index.size, metadata: hits[0][0].metadata, loadMs, mismatch };
  } finally {
    store.close();
    await engine.dispose();
  }
}
