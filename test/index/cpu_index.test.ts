// VectorIndex on the CPU backend (issue 13): a CPU-backend engine embeds texts into the corpus
// (grown from 16 rows by copies in WebAssembly memory), float search answers in flatSearch's order,
// binary search in the order of the kernels' CPU references (Hamming → top-C → exact rescoring →
// top-k), removal keeps both, and the awkward shapes (empty index, one vector with k > corpus, ties)
// behave as on WebGPU. Same index code as the WebGPU path: only the kernels differ.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { VectorIndex } from '../../src/index';
import { flatSearch } from '../../src/index/flat';
import { sentences } from '../helpers/corpus';
import { fixtureDir } from '../helpers/fixtures';
import { maxAbsDiff } from '../helpers/random';
import { dotRef, hammingRef, topKRef } from '../helpers/search_refs';

let engine: Engine;
const texts = sentences(150, 3);
let reference: Float32Array;
let D: number;

beforeAll(async () => {
  engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), backend: 'cpu' });
  D = engine.info.embeddingSize;
  const { embeddings } = await engine.embed(texts);
  reference = new Float32Array(texts.length * D);
  embeddings.forEach((e, i) => reference.set(e, i * D));
});
afterAll(async () => {
  await engine?.dispose();
});

/** Binary search as the kernels' CPU references compose it: Hamming top-C, then exact top-k over those rows. */
function binaryRef(corpus: Float32Array, query: Float32Array, k: number, candidates: number): number[] {
  const N = corpus.length / D;
  const C = Math.max(k, Math.min(candidates, N));
  const cand = topKRef(hammingRef(query, corpus, 1, N, D), null, 1, N, C).ids;
  const exact = Float32Array.from(dotRef(query, corpus, 1, D, [Array.from(cand)]));
  return Array.from(topKRef(exact, cand, 1, C, Math.min(k, N)).ids);
}

describe('VectorIndex on the CPU backend', () => {
  it('runs on a CPU-backend engine: addTexts, float and binary search, removal', async () => {
    expect(engine.gpu.backend).toBe('cpu');
    const index = await VectorIndex.create({ engine, capacity: 16 });
    await index.addTexts(texts.map((text, i) => ({ id: `t${i}`, text })), { batchSize: 40 });
    expect(index.size).toBe(150);
    const snap = await index.snapshot();
    expect(maxAbsDiff(snap.vectors, reference)).toBeLessThan(1e-6);

    const queries = ['river music in the city', texts[17], 'winter garden'];
    const qv = (await engine.embed(queries)).embeddings.map((e) => Float32Array.from(e));
    const float = await index.searchBatch(queries, { k: 10 });
    const binary = await index.searchBatch(queries, { k: 5, mode: 'binary', candidates: 20 });
    qv.forEach((q, i) => {
      const want = flatSearch(reference, D, q, 10);
      expect(float[i].map((h) => h.id)).toEqual(want.map((w) => `t${w.row}`));
      float[i].forEach((h, j) => expect(Math.abs(h.score - want[j].score)).toBeLessThan(1e-5));
      expect(binary[i].map((h) => h.id)).toEqual(binaryRef(reference, q, 5, 20).map((r) => `t${r}`));
    });
    expect(float[1][0].id).toBe('t17');
    // Vector queries answer as the same texts do.
    expect((await index.searchBatch(qv, { k: 10 })).map((h) => h.map((x) => x.id))).toEqual(float.map((h) => h.map((x) => x.id)));

    // Removal fills the holes from the tail (row copies): search follows the index's new rows.
    await index.remove(['t3', 't17', 't99']);
    const after = await index.snapshot();
    expect(after.ids.length).toBe(147);
    for (const q of qv) {
      const got = await index.search(q, { k: 10 });
      expect(got.map((h) => h.id)).toEqual(flatSearch(after.vectors, D, q, 10).map((w) => after.ids[w.row]));
      const bin = await index.search(q, { k: 5, mode: 'binary', candidates: 20 });
      expect(bin.map((h) => h.id)).toEqual(binaryRef(after.vectors, q, 5, 20).map((r) => after.ids[r]));
    }
  });

  it('an empty index, one vector with k > corpus, and tied scores', async () => {
    const empty = await VectorIndex.create({ gpu: engine.gpu, dimensions: 5 });
    expect(await empty.search([1, 0, 0, 0, 0])).toEqual([]);
    expect(await empty.search([1, 0, 0, 0, 0], { mode: 'binary' })).toEqual([]);

    const one = await VectorIndex.create({ gpu: engine.gpu, dimensions: 2 });
    await one.addVectors([{ id: 'v0', vector: [3, 4] }]);
    const hits = await one.search([4, 3], { k: 10 });
    expect(hits.map((h) => h.id)).toEqual(['v0']);
    expect(hits[0].score).toBeCloseTo(24 / 25, 6);
    expect((await one.search([4, 3], { k: 10, mode: 'binary' })).map((h) => h.id)).toEqual(['v0']);

    // Five copies of two vectors: equal scores rank by row, as flatSearch (and the WGSL top_k) do.
    const tied = await VectorIndex.create({ gpu: engine.gpu, dimensions: 3 });
    const vecs = [[1, 0, 0], [0, 1, 0]];
    await tied.addVectors(Array.from({ length: 10 }, (_, i) => ({ id: `r${i}`, vector: vecs[i % 2] })));
    const rows = Float32Array.from(Array.from({ length: 10 }, (_, i) => vecs[i % 2]).flat());
    const q = [0.6, 0.8, 0];
    const want = flatSearch(rows, 3, q, 7).map((w) => `r${w.row}`);
    expect(want).toEqual(['r1', 'r3', 'r5', 'r7', 'r9', 'r0', 'r2']);
    expect((await tied.search(q, { k: 7 })).map((h) => h.id)).toEqual(want);
    expect((await tied.search(q, { k: 7, mode: 'binary', candidates: 10 })).map((h) => h.id)).toEqual(want);
  });
});
