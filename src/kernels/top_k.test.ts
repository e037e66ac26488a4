import { describe, expect, it } from 'vitest';
import { NO_ID, TopKKernel } from './top_k';
import { testGpu } from '../../test/helpers/gpu';
import { rng } from '../../test/helpers/random';
import { topKRef } from '../../test/helpers/search_refs';

describe('top_k', async () => {
  const gpu = await testGpu();

  async function check(Q: number, count: number, k: number, opts: { wg?: number; chunk?: number; ties?: boolean; ids?: boolean; seed?: number } = {}) {
    const r = rng(opts.seed ?? count * 7 + k);
    // Ties: scores from a handful of values, so many candidates share one.
    const scores = Float32Array.from({ length: Q * count }, () => (opts.ties ? Math.floor(r() * 4) / 4 : r() * 2 - 1));
    let ids: Uint32Array | null = null;
    if (opts.ids) {
      // A permutation of sparse ids per query, with some padding entries mixed in.
      ids = Uint32Array.from({ length: Q * count }, (_, j) => (j % 11 === 5 ? NO_ID : ((j % count) * 37 + 3) % 100_003));
    }
    const kernel = await TopKKernel.create(gpu, { workgroupSize: opts.wg, chunk: opts.chunk });
    const bufs = {
      scores: gpu.upload(scores, 'scores'),
      ids: ids ? gpu.upload(ids, 'ids') : undefined,
      outScores: gpu.storage(Q * k * 4, 'outScores'),
      outIds: gpu.storage(Q * k * 4, 'outIds'),
    };
    const run = kernel.plan(bufs, { queries: Q, count, k });
    await gpu.run([run]);
    const want = topKRef(scores, ids, Q, count, k);
    const gotS = new Float32Array(await gpu.read(bufs.outScores, Q * k * 4));
    const gotI = new Uint32Array(await gpu.read(bufs.outIds, Q * k * 4));
    expect(Array.from(gotI)).toEqual(Array.from(want.ids));
    expect(Array.from(gotS)).toEqual(Array.from(want.scores));
    run.destroy();
    return run.passes;
  }

  it('one vector, k = 1', () => check(1, 1, 1));
  it('k larger than the candidates pads with NO_ID', () => check(2, 5, 9));
  it('a prime count, not a multiple of the workgroup', () => check(3, 1009, 10));
  it('ties break by lower id (a stable sort)', () => check(2, 777, 25, { ties: true }));
  it('explicit ids with padding entries (rescoring candidates)', () => check(2, 300, 12, { ids: true, ties: true }));
  for (const wg of [32, 64, 128, 256]) {
    it(`multi-pass: 3 queries × 20011 candidates, k = 10, wg = ${wg}`, async () => {
      const passes = await check(3, 20011, 10, { wg, chunk: 256 });
      expect(passes).toBeGreaterThan(1);
    });
  }
  it('large k uses a chunk of at least 4k', () => check(1, 5000, 300, { ties: true }));
  it('empty input encodes nothing', async () => {
    const kernel = await TopKKernel.create(gpu);
    const b = gpu.storage(16, 'x');
    expect(kernel.plan({ scores: b, outScores: b, outIds: b }, { queries: 1, count: 0, k: 5 }).passes).toBe(0);
  });
  it('rejects k outside 1..MAX_K and a non power-of-two workgroup', async () => {
    const kernel = await TopKKernel.create(gpu);
    const b = gpu.storage(16, 'x');
    expect(() => kernel.plan({ scores: b, outScores: b, outIds: b }, { queries: 1, count: 3, k: 0 })).toThrow(/k must be/);
    await expect(TopKKernel.create(gpu, { workgroupSize: 48 })).rejects.toThrow(/power of two/);
  });
});
