import { describe, expect, it } from 'vitest';
import { HammingScoresKernel } from './hamming_scores';
import { QuantizeBitsKernel, quantizedBytes } from './quantize_bits';
import { testGpu } from '../../test/helpers/gpu';
import { randomF32 } from '../../test/helpers/random';
import { hammingRef } from '../../test/helpers/search_refs';

describe('hamming_scores', async () => {
  const gpu = await testGpu();

  async function check(Q: number, N: number, D: number, wg: number) {
    const q = randomF32(Q * D, Q * 5 + D, 1);
    const c = randomF32(N * D, N * 3 + D, 1);
    const pack = await QuantizeBitsKernel.create(gpu);
    const ham = await HammingScoresKernel.create(gpu, { workgroupSize: wg, gridWidth: 5 });
    const qx = gpu.upload(q, 'q');
    const cx = gpu.upload(c, 'c');
    const qb = gpu.storage(quantizedBytes(Q, D), 'qb');
    const cb = gpu.storage(quantizedBytes(N, D), 'cb');
    const scores = gpu.storage(Q * N * 4, 'scores');
    await gpu.run([
      pack.bind({ x: qx, out: qb }).update({ rows: Q, dims: D, inStride: D }),
      pack.bind({ x: cx, out: cb }).update({ rows: N, dims: D, inStride: D }),
      ham.bind({ queryBits: qb, corpusBits: cb, scores }).update({ queries: Q, count: N, dims: D }),
    ]);
    const got = new Float32Array(await gpu.read(scores, Q * N * 4));
    expect(Array.from(got)).toEqual(Array.from(hammingRef(q, c, Q, N, D)));
  }

  for (const wg of [32, 64, 256]) {
    it(`word path (D = 384): 2 queries × 701 rows, wg = ${wg}`, () => check(2, 701, 384, wg));
    it(`byte path (D = 37, rows start mid-word): 3 queries × 333 rows, wg = ${wg}`, () => check(3, 333, 37, wg));
  }
  it('one vector, D = 1', () => check(1, 1, 1, 64));
  it('D = 64 (two words) and D = 8 (one byte)', async () => {
    await check(2, 129, 64, 64);
    await check(2, 129, 8, 64);
  });
});
