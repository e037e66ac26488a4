// The CPU backend's vector-index kernels (dot_scores, hamming_scores, top_k) against the same CPU
// references and awkward shapes as the WebGPU tests in src/kernels/ (one vector, D = 1, primes,
// D not a multiple of 4 or 8, gather with a padding row, k > candidates, ties, explicit ids with
// padding, empty input), through the wrappers search.ts uses (XKernel.create(ctx) → bind/plan),
// for every SIMD build this engine validates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, randomF32, rng } from '../../test/helpers/random';
import { dotRef, hammingRef, topKRef } from '../../test/helpers/search_refs';
import { DotScoresKernel } from '../kernels/dot_scores';
import { HammingScoresKernel } from '../kernels/hamming_scores';
import { QuantizeBitsKernel, quantizedBytes } from '../kernels/quantize_bits';
import { NO_ID, TopKKernel } from '../kernels/top_k';
import { CpuContext } from './context';
import { detectSimd, type SimdLevel } from './wasm';

const LEVELS: SimdLevel[] = detectSimd() === 'relaxed-simd' ? ['simd128', 'relaxed-simd'] : ['simd128'];

/** dot_scores.wgsl's float32 order: four partial sums by d mod 4, the tail into s0, (s0+s1)+(s2+s3). */
function wgslDot(q: Float32Array, qo: number, c: Float32Array, co: number, D: number): number {
  const f = Math.fround;
  const s = [0, 0, 0, 0];
  let d = 0;
  for (; d + 4 <= D; d += 4) for (let l = 0; l < 4; l++) s[l] = f(s[l] + f(q[qo + d + l] * c[co + d + l]));
  for (; d < D; d++) s[0] = f(s[0] + f(q[qo + d] * c[co + d]));
  return f(f(s[0] + s[1]) + f(s[2] + s[3]));
}

for (const simd of LEVELS) {
  describe(`CPU index kernels [${simd}]`, () => {
    let ctx: CpuContext;
    beforeAll(async () => {
      ctx = await CpuContext.load({ simd, threads: 1 });
    });
    afterAll(() => ctx?.destroy());

    async function dot(Q: number, N: number, D: number, gather: number | null = null) {
      const q = randomF32(Q * D, Q * 13 + D, 1);
      const c = randomF32(N * D, N * 17 + D, 1);
      const k = await DotScoresKernel.create(ctx);
      let rows: number[][];
      let rowsBuf: GPUBuffer | undefined;
      if (gather !== null) {
        const r = rng(N + gather);
        rows = Array.from({ length: Q }, () => Array.from({ length: gather }, (_, i) => (i === gather - 1 ? N + 5 : Math.floor(r() * N))));
        rowsBuf = ctx.upload(Uint32Array.from(rows.flat()), 'rows');
      } else {
        rows = Array.from({ length: Q }, () => Array.from({ length: N }, (_, i) => i));
      }
      const count = rows[0].length;
      const bufs = { queries: ctx.upload(q, 'q'), corpus: ctx.upload(c, 'c'), rows: rowsBuf, scores: ctx.storage(Q * count * 4, 'scores') };
      await ctx.run([k.bind(bufs, D).update({ queries: Q, count, dims: D, rowLimit: N })]);
      const got = new Float32Array(await ctx.read(bufs.scores, Q * count * 4));
      const want = dotRef(q, c, Q, D, rows);
      const pad = want.map((v) => (v === -3.4e38 ? 1 : 0));
      expect(maxAbsDiff(got.map((v, i) => (pad[i] ? 0 : v)), want.map((v, i) => (pad[i] ? 0 : v)))).toBeLessThan(1e-5);
      // Bit for bit the WGSL kernel's float32 summation order, and padding exactly −3.4e38 as f32.
      const wgsl = rows.flatMap((list, qi) => list.map((row) => (row >= N ? Math.fround(-3.4e38) : wgslDot(q, qi * D, c, row * D, D))));
      expect(Array.from(got)).toEqual(wgsl);
      expect(pad.some(Boolean)).toBe(gather !== null);
    }

    it('dot_scores dense: one vector, D = 1', () => dot(1, 1, 1));
    it('dot_scores dense: 3 queries × 1013 rows, D = 37', () => dot(3, 1013, 37));
    it('dot_scores dense: 2 queries × 500 rows, D = 384', () => dot(2, 500, 384));
    it('dot_scores dense: 3 queries × 77 rows, D = 4', () => dot(3, 77, 4));
    it('dot_scores gather: 2 queries × 19 candidates from 90 rows, D = 36', () => dot(2, 90, 36, 19));
    it('dot_scores gather: 2 queries × 41 candidates from 300 rows, D = 33, padding row', () => dot(2, 300, 33, 41));
    it('dot_scores: dims other than the bound ones, and a short buffer, are clear errors', async () => {
      const k = await DotScoresKernel.create(ctx);
      const b = ctx.upload(new Float32Array(4), 'x'); // exactly 16 bytes (pooled storage rounds up)
      const step = k.bind({ queries: b, corpus: b, scores: b }, 4);
      expect(() => step.update({ queries: 1, count: 1, dims: 5 })).toThrow(/bound for 4 dims/);
      expect(() => step.update({ queries: 1, count: 1, dims: 4 })).not.toThrow();
      expect(() => step.update({ queries: 1, count: 2, dims: 4 })).toThrow(/corpus holds 16 bytes, needs 32/);
    });

    async function hamming(Q: number, N: number, D: number) {
      const q = randomF32(Q * D, Q * 5 + D, 1);
      const c = randomF32(N * D, N * 3 + D, 1);
      const pack = await QuantizeBitsKernel.create(ctx);
      const ham = await HammingScoresKernel.create(ctx);
      const qb = ctx.storage(quantizedBytes(Q, D), 'qb');
      const cb = ctx.storage(quantizedBytes(N, D), 'cb');
      const scores = ctx.storage(Q * N * 4, 'scores');
      await ctx.run([
        pack.bind({ x: ctx.upload(q, 'q'), out: qb }).update({ rows: Q, dims: D, inStride: D }),
        pack.bind({ x: ctx.upload(c, 'c'), out: cb }).update({ rows: N, dims: D, inStride: D }),
        ham.bind({ queryBits: qb, corpusBits: cb, scores }).update({ queries: Q, count: N, dims: D }),
      ]);
      expect(Array.from(new Float32Array(await ctx.read(scores, Q * N * 4)))).toEqual(Array.from(hammingRef(q, c, Q, N, D)));
    }

    it('hamming_scores: D = 384 (64-bit words), 2 queries × 701 rows', () => hamming(2, 701, 384));
    it('hamming_scores: D = 37 (rows start mid-word), 3 queries × 333 rows', () => hamming(3, 333, 37));
    it('hamming_scores: one vector, D = 1', () => hamming(1, 1, 1));
    it('hamming_scores: D = 64, D = 8, D = 72 (a word and a byte)', async () => {
      await hamming(2, 129, 64);
      await hamming(2, 129, 8);
      await hamming(2, 65, 72);
    });

    async function topK(Q: number, count: number, k: number, opts: { ties?: boolean; ids?: boolean } = {}) {
      const r = rng(count * 7 + k);
      const scores = Float32Array.from({ length: Q * count }, () => (opts.ties ? Math.floor(r() * 4) / 4 : r() * 2 - 1));
      const ids = opts.ids ? Uint32Array.from({ length: Q * count }, (_, j) => (j % 11 === 5 ? NO_ID : ((j % count) * 37 + 3) % 100_003)) : null;
      const kernel = await TopKKernel.create(ctx);
      const bufs = {
        scores: ctx.upload(scores, 'scores'),
        ids: ids ? ctx.upload(ids, 'ids') : undefined,
        outScores: ctx.storage(Q * k * 4, 'outScores'),
        outIds: ctx.storage(Q * k * 4, 'outIds'),
      };
      const run = kernel.plan(bufs, { queries: Q, count, k });
      await ctx.run([run]);
      const want = topKRef(scores, ids, Q, count, k);
      expect(Array.from(new Uint32Array(await ctx.read(bufs.outIds, Q * k * 4)))).toEqual(Array.from(want.ids));
      expect(Array.from(new Float32Array(await ctx.read(bufs.outScores, Q * k * 4)))).toEqual(Array.from(want.scores));
      expect(run.passes).toBe(1);
      run.destroy();
    }

    it('top_k: one vector, k = 1', () => topK(1, 1, 1));
    it('top_k: k larger than the candidates pads with NO_ID', () => topK(2, 5, 9));
    it('top_k: a prime count', () => topK(3, 1009, 10));
    it('top_k: ties break by lower id (a stable sort)', () => topK(2, 777, 25, { ties: true }));
    it('top_k: explicit ids with padding entries (rescoring candidates)', () => topK(2, 300, 12, { ids: true, ties: true }));
    it('top_k: 3 queries × 20011 candidates, k = 10, and k = 300 of 5000 with ties', async () => {
      await topK(3, 20011, 10);
      await topK(1, 5000, 300, { ties: true });
    });
    it('top_k: empty input records nothing; k outside 1..MAX_K is refused', async () => {
      const kernel = await TopKKernel.create(ctx);
      const b = ctx.storage(16, 'x');
      expect(kernel.plan({ scores: b, outScores: b, outIds: b }, { queries: 1, count: 0, k: 5 }).passes).toBe(0);
      expect(kernel.plan({ scores: b, outScores: b, outIds: b }, { queries: 0, count: 3, k: 5 }).passes).toBe(0);
      expect(() => kernel.plan({ scores: b, outScores: b, outIds: b }, { queries: 1, count: 3, k: 0 })).toThrow(/k must be/);
      const exact = ctx.upload(new Float32Array(4), 'x');
      expect(() => kernel.plan({ scores: exact, outScores: exact, outIds: exact }, { queries: 1, count: 5, k: 2 })).toThrow(/scores holds 16 bytes, needs 20/);
    });
  });
}
