// VectorIndex on Dawn: float search against the JS flat scan, awkward sizes, removal, growth,
// capacity refusal, batch = single, and binary mode's recall@10 against exact search.
import { describe, expect, it } from 'vitest';
import { IndexCapacityError } from './corpus';
import { flatSearch } from './flat';
import { VectorIndex } from './vector_index';
import { clusteredUnitVectors, randomUnitVectors, rows } from '../../test/helpers/corpus';
import { testGpu } from '../../test/helpers/gpu';

async function vectorIndex(data: Float32Array, dims: number, capacity?: number) {
  const gpu = await testGpu();
  const index = await VectorIndex.create({ gpu, dimensions: dims, capacity });
  await index.addVectors(rows(data, dims).map((vector, i) => ({ id: `v${i}`, vector, metadata: { i } })));
  return index;
}

/** Recall@k of binary search against exact search, averaged over queries. */
export async function recallAtK(index: VectorIndex, queries: Float32Array[], k: number, candidates?: number): Promise<number> {
  const exact = await index.searchBatch(queries, { k });
  const approx = await index.searchBatch(queries, { k, mode: 'binary', candidates });
  let hit = 0;
  exact.forEach((e, q) => {
    const want = new Set(e.map((h) => h.id));
    hit += approx[q].filter((h) => want.has(h.id)).length;
  });
  return hit / (queries.length * k);
}

describe('VectorIndex (vectors)', async () => {
  const gpu = await testGpu();

  it('an empty index answers []', async () => {
    const index = await VectorIndex.create({ gpu, dimensions: 5 });
    expect(await index.search([1, 0, 0, 0, 0])).toEqual([]);
    expect(await index.search([1, 0, 0, 0, 0], { mode: 'binary' })).toEqual([]);
  });

  it('one vector, k > corpus', async () => {
    const index = await vectorIndex(Float32Array.from([3, 4]), 2);
    const hits = await index.search([4, 3], { k: 10 });
    expect(hits.map((h) => h.id)).toEqual(['v0']);
    expect(hits[0].score).toBeCloseTo(24 / 25, 6);
    expect(hits[0].metadata).toEqual({ i: 0 });
  });

  it('1013 random vectors of 37 dims: same rows and scores as the JS flat scan (grows from 64 rows)', async () => {
    const D = 37;
    const data = randomUnitVectors(1013, D, 3);
    const index = await vectorIndex(data, D, 64);
    expect(index.capacity.rows).toBeGreaterThanOrEqual(1013);
    const queries = rows(randomUnitVectors(5, D, 4), D);
    const batch = await index.searchBatch(queries, { k: 17 });
    for (const [q, query] of queries.entries()) {
      const want = flatSearch(data, D, query, 17);
      expect(batch[q].map((h) => h.id)).toEqual(want.map((w) => `v${w.row}`));
      batch[q].forEach((h, j) => expect(Math.abs(h.score - want[j].score)).toBeLessThan(1e-5));
      // A batch of queries answers like each query alone.
      expect((await index.search(query, { k: 17 })).map((h) => h.id)).toEqual(batch[q].map((h) => h.id));
    }
  });

  it('ties: duplicate vectors come back in insertion (row) order', async () => {
    const D = 8;
    const v = Float32Array.from({ length: D }, (_, i) => i + 1);
    const index = await VectorIndex.create({ gpu, dimensions: D });
    await index.addVectors([0, 1, 2, 3].map((i) => ({ id: `dup${i}`, vector: v })));
    await index.addVectors([{ id: 'other', vector: Float32Array.from({ length: D }, (_, i) => D - i) }]);
    const hits = await index.search(v, { k: 3 });
    expect(hits.map((h) => h.id)).toEqual(['dup0', 'dup1', 'dup2']);
  });

  it('remove fills holes from the tail; results match the flat scan over what is left', async () => {
    const D = 24;
    const data = randomUnitVectors(300, D, 9);
    const index = await vectorIndex(data, D);
    const gone = ['v0', 'v7', 'v150', 'v298', 'v299', 'nope'];
    expect(await index.remove(gone)).toBe(5);
    expect(index.size).toBe(295);
    expect(index.has('v7')).toBe(false);
    const keep = rows(data, D).map((r, i) => ({ r, id: `v${i}` })).filter((x) => !gone.includes(x.id));
    const left = new Float32Array(keep.length * D);
    keep.forEach((x, i) => left.set(x.r, i * D));
    const query = rows(randomUnitVectors(1, D, 10), D)[0];
    const got = await index.search(query, { k: 295 });
    expect(got.map((h) => h.id).sort()).toEqual(keep.map((x) => x.id).sort());
    const want = flatSearch(left, D, query, 20).map((w) => keep[w.row].id);
    expect(got.slice(0, 20).map((h) => h.id)).toEqual(want);
    // Removed ids can be added again.
    await index.addVectors([{ id: 'v7', vector: query }]);
    expect((await index.search(query, { k: 1 }))[0].id).toBe('v7');
  });

  it('refuses bad input with clear errors', async () => {
    const index = await vectorIndex(randomUnitVectors(3, 4), 4);
    await expect(index.addVectors([{ id: 'v1', vector: [1, 0, 0, 0] }])).rejects.toThrow(/already has id "v1"/);
    await expect(index.addVectors([{ id: 'z', vector: [0, 0, 0, 0] }])).rejects.toThrow(/all zeros/);
    await expect(index.addVectors([{ id: 'n', vector: [NaN, 0, 0, 1] }])).rejects.toThrow(/non-finite/);
    await expect(index.search([1, 0, 0])).rejects.toThrow(/3 dimensions; the index has 4/);
    await expect(index.search([1, 0, 0, 0], { k: 0 })).rejects.toThrow(/k must be/);
    await expect(index.search('text')).rejects.toThrow(/needs an engine/);
  });

  it('a corpus larger than the adapter allows is refused with the sizes', async () => {
    const limit = Math.min(gpu.device.limits.maxBufferSize, gpu.device.limits.maxStorageBufferBindingSize);
    const rowsMax = Math.floor(limit / (384 * 4));
    await expect(VectorIndex.create({ gpu, dimensions: 384, capacity: rowsMax + 1 })).rejects.toThrow(IndexCapacityError);
    await expect(VectorIndex.create({ gpu, dimensions: 384, capacity: rowsMax + 1 })).rejects.toThrow(new RegExp(`at most ${rowsMax} rows of 384 dimensions`));
  });

  it('binary mode: exact rescoring makes its scores cosines; rescoring every row is exact search', async () => {
    const D = 384;
    const N = 1000;
    const data = clusteredUnitVectors(N, D, 20, 0.5, 5);
    const index = await vectorIndex(data, D);
    const queries = rows(clusteredUnitVectors(8, D, 20, 0.5, 6), D);
    const hits = await index.search(queries[0], { k: 10, mode: 'binary' });
    const cos = new Map(flatSearch(data, D, queries[0], N).map((e) => [`v${e.row}`, e.score]));
    hits.forEach((h) => expect(Math.abs(h.score - cos.get(h.id)!)).toBeLessThan(1e-5));
    expect(await recallAtK(index, queries, 10, N)).toBe(1);
    const r64 = await recallAtK(index, queries, 10, 64);
    expect(await recallAtK(index, queries, 10, 512)).toBeGreaterThanOrEqual(r64);
  });

  it('binary mode: recall@10 against exact search (3000 × 384; random and clustered unit vectors)', async () => {
    const D = 384;
    const N = 3000;
    const out: Record<string, number> = {};
    for (const [name, data, queries] of [
      ['random', randomUnitVectors(N, D, 21), randomUnitVectors(10, D, 23)],
      ['clustered(spread 0.5)', clusteredUnitVectors(N, D, 40, 0.5, 22), clusteredUnitVectors(10, D, 40, 0.5, 22 + 1000)],
    ] as const) {
      const index = await vectorIndex(data, D);
      for (const c of [40, 100, 400]) out[`${name} candidates=${c}`] = await recallAtK(index, rows(queries, D), 10, c);
      await index.dispose();
    }
    console.log('binary recall@10:', JSON.stringify(out, null, 1));
    expect(out['random candidates=400']).toBeGreaterThanOrEqual(out['random candidates=40']);
  });
});
