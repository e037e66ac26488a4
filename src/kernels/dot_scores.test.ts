import { describe, expect, it } from 'vitest';
import { DotScoresKernel } from './dot_scores';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32, rng } from '../../test/helpers/random';
import { dotRef } from '../../test/helpers/search_refs';

describe('dot_scores', async () => {
  const gpu = await testGpu();

  async function check(Q: number, N: number, D: number, wg: number, gather: number | null = null, vec4 = true) {
    const q = randomF32(Q * D, Q * 13 + D, 1);
    const c = randomF32(N * D, N * 17 + D, 1);
    const k = await DotScoresKernel.create(gpu, { workgroupSize: wg, gridWidth: 3, vec4 });
    let rows: number[][];
    let rowsBuf: GPUBuffer | undefined;
    if (gather !== null) {
      // Candidate lists per query, including a padding row (N + 5) past the corpus.
      const r = rng(N + gather);
      rows = Array.from({ length: Q }, () => Array.from({ length: gather }, (_, i) => (i === gather - 1 ? N + 5 : Math.floor(r() * N))));
      rowsBuf = gpu.upload(Uint32Array.from(rows.flat()), 'rows');
    } else {
      rows = Array.from({ length: Q }, () => Array.from({ length: N }, (_, i) => i));
    }
    const count = rows[0].length;
    const bufs = { queries: gpu.upload(q, 'q'), corpus: gpu.upload(c, 'c'), rows: rowsBuf, scores: gpu.storage(Q * count * 4, 'scores') };
    await gpu.run([k.bind(bufs, D).update({ queries: Q, count, dims: D, rowLimit: N })]);
    const got = new Float32Array(await gpu.read(bufs.scores, Q * count * 4));
    const want = dotRef(q, c, Q, D, rows);
    const pad = want.map((v) => (v === -3.4e38 ? 1 : 0));
    expect(maxAbsDiff(got.map((v, i) => (pad[i] ? 0 : v)), want.map((v, i) => (pad[i] ? 0 : v)))).toBeLessThan(1e-5);
    got.forEach((v, i) => pad[i] && expect(v).toBeCloseTo(-3.4e38, -33));
  }

  for (const wg of [32, 64, 128, 256]) {
    it(`dense: one vector, D = 1, wg = ${wg}`, () => check(1, 1, 1, wg));
    it(`dense: 3 queries × 1013 rows, D = 37 (grid wraps), wg = ${wg}`, () => check(3, 1013, 37, wg));
  }
  for (const vec4 of [true, false]) {
    it(`dense: 2 queries × 500 rows, D = 384 (vec4 ${vec4})`, () => check(2, 500, 384, 64, null, vec4));
    it(`dense: 3 queries × 77 rows, D = 4 (vec4 ${vec4})`, () => check(3, 77, 4, 32, null, vec4));
    it(`gather: 2 queries × 19 candidates from 90 rows, D = 36 (vec4 ${vec4})`, () => check(2, 90, 36, 64, 19, vec4));
  }
  it('the vec4 scan equals the scalar scan bit for bit (D = 384, dense and gather with a padding row)', async () => {
    const [Q, N, D] = [2, 300, 384];
    const q = gpu.upload(randomF32(Q * D, 5, 1), 'q');
    const c = gpu.upload(randomF32(N * D, 6, 1), 'c');
    const rows = gpu.upload(Uint32Array.from({ length: Q * 50 }, (_, i) => (i % 50 === 49 ? N + 1 : (i * 37) % N)), 'rows');
    for (const gather of [false, true]) {
      const count = gather ? 50 : N;
      const got: Float32Array[] = [];
      for (const vec4 of [true, false]) {
        const k = await DotScoresKernel.create(gpu, { vec4 });
        const scores = gpu.storage(Q * count * 4, 'scores');
        await gpu.run([k.bind({ queries: q, corpus: c, rows: gather ? rows : undefined, scores }, D).update({ queries: Q, count, dims: D, rowLimit: N })]);
        got.push(new Float32Array(await gpu.read(scores, Q * count * 4)));
      }
      expect(Array.from(got[0]), `gather ${gather}`).toEqual(Array.from(got[1]));
    }
  });
  it('gather: 2 queries × 41 candidates from 300 rows, D = 33, padding row scores -3.4e38', () => check(2, 300, 33, 64, 41));
  it('zero queries encodes nothing', async () => {
    const k = await DotScoresKernel.create(gpu);
    const b = gpu.storage(16, 'x');
    expect(k.bind({ queries: b, corpus: b, scores: gpu.storage(16, 's') }, 1).update({ queries: 0, count: 3, dims: 1 }).dispatch.workgroups[0]).toBe(0);
  });
});
