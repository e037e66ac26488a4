// The CPU backend's thread pool: results are bit-identical for 1 and N threads (the split never
// changes a row's arithmetic, so batch invariance survives threading), bad counts are clear errors,
// and a destroyed context refuses work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomF32 } from '../../test/helpers/random';
import { AttentionKernel } from '../kernels/attention';
import { MatmulKernel } from '../kernels/matmul';
import { CpuContext } from './context';
import { chunks, matmulParts } from './split';
import { MAX_ITEMS, threadsUnavailable } from './threads';

describe('split', () => {
  it('chunks cover [0, n) in aligned pieces', () => {
    expect(chunks(50, 3, 6)).toEqual([[0, 18], [18, 36], [36, 50]]);
    expect(chunks(2, 4)).toEqual([[0, 1], [1, 2]]);
    expect(chunks(0, 3)).toEqual([]);
  });
  it('matmul splits rows for batches, panels for a short query, nothing when small', () => {
    const args = (m0: number, m1: number, p0: number, p1: number) => [m0, m1, p0, p1];
    const policy = { threads: 2, minSplitFlops: 1 << 18 };
    // ITEMS_PER_THREAD items per thread, on 6-row tiles
    expect(matmulParts(policy, 64, 384, 384, args)).toEqual([[0, 12, 0, 48], [12, 24, 0, 48], [24, 36, 0, 48], [36, 48, 0, 48], [48, 60, 0, 48], [60, 64, 0, 48]]);
    expect(matmulParts(policy, 7, 384, 384, args)).toEqual([0, 6, 12, 18, 24, 30, 36, 42].map((p) => [0, 7, p, p + 6]));
    expect(matmulParts(policy, 2, 16, 16, args)).toEqual([[0, 2, 0, 2]]);
    expect(matmulParts({ threads: 1, minSplitFlops: 0 }, 64, 384, 384, args)).toEqual([[0, 64, 0, 48]]);
  });
  it('a big batch is cut into cache-block items, never more than MAX_ITEMS', () => {
    const args = (m0: number, m1: number, p0: number, p1: number) => [m0, m1, p0, p1];
    const policy = { threads: 2, minSplitFlops: 0 };
    for (const M of [1504, 20000, 100003]) {
      const items = matmulParts(policy, M, 384, 384, args) as number[][];
      expect(items.length).toBeLessThanOrEqual(MAX_ITEMS);
      expect(items[0][0]).toBe(0);
      expect(items.at(-1)![1]).toBe(M);
      items.forEach(([m0, m1], i) => {
        expect(m0 % 6).toBe(0);
        if (i > 0) expect(m0).toBe(items[i - 1][1]);
        expect(m1 - m0).toBeLessThanOrEqual(M === 1504 ? 48 : Math.ceil(M / MAX_ITEMS / 6) * 6);
      });
    }
    expect(matmulParts(policy, 1504, 384, 384, args)).toHaveLength(32);
  });
});

describe.skipIf(threadsUnavailable() !== null)('CPU thread pool', () => {
  let one: CpuContext;
  let four: CpuContext;
  beforeAll(async () => {
    [one, four] = await Promise.all([CpuContext.load({ threads: 1 }), CpuContext.load({ threads: 4, minSplitFlops: 0 })]);
  });
  afterAll(() => {
    one?.destroy();
    four?.destroy();
  });

  async function matmul(ctx: CpuContext, M: number, N: number, K: number): Promise<Float32Array> {
    const k = await MatmulKernel.create(ctx, { bias: true, activation: 'gelu' });
    const y = ctx.storage(M * N * 4, 'y');
    const bind = { x: ctx.upload(randomF32(M * K, 1, 1), 'x'), w: ctx.upload(randomF32(N * K, 2, 0.3), 'w'), bias: ctx.upload(randomF32(N, 3, 1), 'b'), y };
    await ctx.run([k.bind(bind).update({ M, N, K })]);
    return new Float32Array(await ctx.read(y, M * N * 4));
  }

  for (const [M, N, K] of [[61, 37, 45], [301, 70, 33], [3, 100, 64], [1, 9, 5]]) {
    it(`matmul ${M}×${N}×${K}: 4 threads give the 1-thread result bit for bit`, async () => {
      expect(four.threads).toBe(4);
      expect(Array.from(await matmul(four, M, N, K))).toEqual(Array.from(await matmul(one, M, N, K)));
    });
  }

  it('attention over 7 heads of segments 3, 30, 1: 4 threads give the 1-thread result bit for bit', async () => {
    const [heads, hd] = [7, 8];
    const cu = Uint32Array.from([0, 3, 33, 34]);
    const T = 34;
    const width = 3 * heads * hd;
    const qkv = randomF32(T * width, 9, 1);
    const run = async (ctx: CpuContext) => {
      const k = await AttentionKernel.create(ctx, { causal: false, headDim: hd });
      const buf = ctx.upload(qkv, 'qkv');
      const out = ctx.storage(T * heads * hd * 4, 'out');
      const seqOf = ctx.upload(new Uint32Array(T), 'seqOf');
      await ctx.run([k.bind({ q: buf, k: buf, v: buf, seqOf, cuSeqLens: ctx.upload(cu, 'cu'), out }).update({ tokens: T, numHeads: heads, numKvHeads: heads, qStride: width, kStride: width, vStride: width, qOffset: 0, kOffset: heads * hd, vOffset: 2 * heads * hd, scale: 0.3, window: 5 })]);
      return Array.from(new Float32Array(await ctx.read(out, T * heads * hd * 4)));
    };
    expect(await run(four)).toEqual(await run(one));
  });

  it('bad thread counts are clear errors', async () => {
    await expect(CpuContext.load({ threads: 0 })).rejects.toThrow(/threads must be an integer in \[1, 64\], got 0/);
    await expect(CpuContext.load({ threads: 2.5 })).rejects.toThrow(/got 2.5/);
  });

  it('a destroyed context with threads refuses split work', async () => {
    const ctx = await CpuContext.load({ threads: 2, minSplitFlops: 0 });
    const k = await MatmulKernel.create(ctx, {});
    const step = k.bind({ x: ctx.storage(4096, 'x'), w: ctx.storage(4096, 'w'), y: ctx.storage(4096, 'y') }).update({ M: 16, N: 16, K: 16 });
    ctx.destroy();
    await expect(ctx.run([step])).rejects.toThrow(/destroyed/);
  });
});
