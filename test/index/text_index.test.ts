// VectorIndex with the tiny fixture embedders: texts embedded straight into the corpus matrix
// (engine.embedInto) equal engine.embed's vectors; text search ranks as a cosine over those vectors
// computed here; persistence round trips and refuses another model; the rerank stage orders as the
// cross-encoder does; binary recall@10 on fixture embeddings of 2000 sentences.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { IndexFormatError, IndexModelMismatchError, MemoryIndexStore, VectorIndex } from '../../src/index';
import { flatSearch } from '../../src/index/flat';
import { sentences } from '../helpers/corpus';
import { fixtureDir } from '../helpers/fixtures';
import { maxAbsDiff } from '../helpers/random';

let engine: Engine;
let other: Engine;
let crossEncoder: Engine;
const texts = sentences(150, 3);
let reference: Float32Array;

beforeAll(async () => {
  [engine, other, crossEncoder] = await Promise.all([
    createEngine({ model: fixtureDir('tiny-bert-embed') }),
    createEngine({ model: fixtureDir('tiny-roberta-embed') }),
    createEngine({ model: fixtureDir('tiny-bert-crossenc') }),
  ]);
  const { embeddings } = await engine.embed(texts);
  reference = new Float32Array(texts.length * engine.info.embeddingSize);
  embeddings.forEach((e, i) => reference.set(e, i * engine.info.embeddingSize));
});
afterAll(async () => {
  await Promise.all([engine?.dispose(), other?.dispose(), crossEncoder?.dispose()]);
});

async function textIndex(): Promise<VectorIndex> {
  const index = await VectorIndex.create({ engine, capacity: 16 });
  const progress: number[] = [];
  await index.addTexts(
    texts.map((text, i) => ({ id: `t${i}`, text, metadata: { source: 'gen', position: i } })),
    { batchSize: 40, onProgress: (done) => progress.push(done) },
  );
  expect(progress).toEqual([40, 80, 120, 150]);
  return index;
}

describe('VectorIndex with an engine', () => {
  it('addTexts lands engine.embed vectors in the corpus without a readback (grown from 16 rows)', async () => {
    const index = await textIndex();
    expect(index.size).toBe(150);
    const snap = await index.snapshot();
    expect(maxAbsDiff(snap.vectors, reference)).toBeLessThan(1e-6);
    expect(snap.model).toMatchObject({ dimensions: 64, pooling: engine.info.pooling, normalize: true });
  });

  it('a text query ranks as a cosine over engine.embed vectors', async () => {
    const index = await textIndex();
    const D = engine.info.embeddingSize;
    for (const query of ['river music in the city', texts[17], 'winter garden']) {
      const q = (await engine.embed(query)).embeddings[0];
      const want = flatSearch(reference, D, q, 10);
      const got = await index.search(query, { k: 10 });
      expect(got.map((h) => h.id)).toEqual(want.map((w) => `t${w.row}`));
      got.forEach((h, j) => expect(Math.abs(h.score - want[j].score)).toBeLessThan(1e-5));
      expect(got[0].text).toBe(texts[want[0].row]);
      expect(got[0].metadata).toEqual({ source: 'gen', position: want[0].row });
    }
    expect((await index.search(texts[17], { k: 1 }))[0].id).toBe('t17');
  });

  it('serialize → deserialize and a store round trip answer the same; another model is refused', async () => {
    const index = await textIndex();
    await index.remove(['t3', 't99']);
    const before = await index.searchBatch(['ocean bridge', 'doctor letter'], { k: 8 });
    const bytes = await index.serialize();
    const again = await VectorIndex.deserialize(bytes, { engine });
    expect(again.size).toBe(148);
    expect(await again.searchBatch(['ocean bridge', 'doctor letter'], { k: 8 })).toEqual(before);
    const store = new MemoryIndexStore();
    await index.save(store, 'docs');
    expect((await store.list()).map((x) => [x.name, x.count, x.dimensions])).toEqual([['docs', 148, 64]]);
    const loaded = await VectorIndex.load(store, 'docs', { engine });
    expect(await loaded.searchBatch(['ocean bridge', 'doctor letter'], { k: 8 })).toEqual(before);
    // Without an engine: vector queries only.
    const vectorsOnly = await VectorIndex.deserialize(bytes, { gpu: engine.gpu });
    const q = (await engine.embed('ocean bridge')).embeddings[0];
    expect((await vectorsOnly.search(q, { k: 8 })).map((h) => h.id)).toEqual(before[0].map((h) => h.id));
    // Another model (same width, other weights) is an error naming both.
    const err = await VectorIndex.deserialize(bytes, { engine: other }).catch((e) => e);
    expect(err).toBeInstanceOf(IndexModelMismatchError);
    expect(err.message).toMatch(/built with model ".*tiny-bert-embed".*cannot be searched with ".*tiny-roberta-embed"/);
    await expect(VectorIndex.load(store, 'missing', { engine })).rejects.toThrow(/No saved index named "missing"/);
    await expect(VectorIndex.deserialize(new Uint8Array(bytes).slice(0, 100), { engine })).rejects.toThrow(IndexFormatError);
    await expect(VectorIndex.deserialize(new TextEncoder().encode('hello world, not an index'), { engine })).rejects.toThrow(/Not a wgpool index/);
  });

  it('rerank: the top n reordered by the cross-encoder, cosine kept', async () => {
    const index = await textIndex();
    const query = 'music station in the north';
    const plain = await index.search(query, { k: 6 });
    const reranked = await index.search(query, { k: 6, rerank: { engine: crossEncoder, topN: 6 } });
    const want = await crossEncoder.rerank(query, plain.map((h) => h.text!));
    expect(reranked.map((h) => h.id)).toEqual(want.results.map((r) => plain[r.index].id));
    reranked.forEach((h, j) => expect(h.rerankScore).toBeCloseTo(want.results[j].relevanceScore, 6));
    expect(reranked.map((h) => h.id).sort()).toEqual(plain.map((h) => h.id).sort());
  });

  it('binary recall@10 on the tiny embedder\'s vectors of 2000 sentences', async () => {
    const many = sentences(2000, 99);
    const index = await VectorIndex.create({ engine });
    await index.addTexts(many.map((text, i) => ({ id: `s${i}`, text })), { batchSize: 500 });
    const queries = sentences(20, 1234);
    const exact = await index.searchBatch(queries, { k: 10 });
    const out: Record<string, number> = {};
    for (const c of [40, 100, 400]) {
      const approx = await index.searchBatch(queries, { k: 10, mode: 'binary', candidates: c });
      let hit = 0;
      exact.forEach((e, q) => {
        const want = new Set(e.map((h) => h.id));
        hit += approx[q].filter((h) => want.has(h.id)).length;
      });
      out[`candidates=${c}`] = hit / (queries.length * 10);
    }
    console.log('binary recall@10, tiny-bert-embed (64 dims) on 2000 sentences:', JSON.stringify(out));
    expect(out['candidates=400']).toBeGreaterThanOrEqual(out['candidates=40']);
  });
});
