import { describe, expect, it } from 'vitest';
import { AttentionKernel, defaultKvTile, type AttentionOptions, type AttentionShape } from './attention';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32 } from '../../test/helpers/random';
// ?raw, not node:fs: this suite also runs inside Chromium (vitest browser mode).
import mpnetGolden from '../../test/fixtures/goldens/tiny-mpnet-embed.json?raw';

interface Packed {
  cu: Uint32Array;
  seqOf: Uint32Array;
  tokens: number;
}

function pack(lens: readonly number[]): Packed {
  const cu = new Uint32Array(lens.length + 1);
  lens.forEach((l, i) => (cu[i + 1] = cu[i] + l));
  const tokens = cu[lens.length];
  const seqOf = new Uint32Array(tokens);
  lens.forEach((_, b) => seqOf.fill(b, cu[b], cu[b + 1]));
  return { cu, seqOf, tokens };
}

/**
 * float64 reference: plain softmax over each query's own sequence (cut at itself when causal), and
 * with s.window = W > 0 over the keys with |t − j| < W only, tested key by key (not as a range).
 */
/**
 * MPNet's relative position bucket of key − query, by counting: |n| < 8 exact, then one bucket per
 * doubling of n² past 64 (8 + floor(log2(n² / 64))), capped at 15; keys after the query add 16.
 * Checked below against the oracle's table from HF's float32 log formula.
 */
function relBucketRef(keyMinusQuery: number): number {
  const n = -keyMinusQuery;
  const a = Math.abs(n);
  let b = a;
  if (a >= 8) {
    b = 8;
    for (let sq = (a * a) / 64; sq >= 2 && b < 15; sq /= 2) b++;
  }
  return (n < 0 ? 16 : 0) + b;
}

function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, p: Packed, s: AttentionShape, hd: number, causal: boolean, relBias?: Float32Array): Float64Array {
  const out = new Float64Array(s.tokens * s.numHeads * hd);
  const group = s.numHeads / s.numKvHeads;
  for (let t = 0; t < s.tokens; t++) {
    const b = p.seqOf[t];
    const start = p.cu[b];
    const end = causal ? t + 1 : p.cu[b + 1];
    const W = s.window ?? 0;
    const allowed = (j: number) => W === 0 || Math.abs(t - j) < W;
    for (let h = 0; h < s.numHeads; h++) {
      const g = Math.floor(h / group);
      const scores: number[] = [];
      for (let j = start; j < end; j++) {
        if (!allowed(j)) {
          scores.push(-Infinity);
          continue;
        }
        let dot = 0;
        for (let d = 0; d < hd; d++) dot += q[t * s.qStride + s.qOffset + h * hd + d] * k[j * s.kStride + s.kOffset + g * hd + d];
        scores.push(dot * s.scale + (relBias ? relBias[relBucketRef(j - t) * s.numHeads + h] : 0));
      }
      const m = Math.max(...scores);
      const w = scores.map((x) => Math.exp(x - m));
      const sum = w.reduce((a, x) => a + x, 0);
      for (let d = 0; d < hd; d++) {
        let o = 0;
        for (let j = start; j < end; j++) if (allowed(j)) o += w[j - start] * v[j * s.vStride + s.vOffset + g * hd + d];
        out[(t * s.numHeads + h) * hd + d] = o / sum;
      }
    }
  }
  return out;
}

interface Case {
  name: string;
  lens: number[];
  heads: number;
  kvHeads: number;
  hd: number;
  /** One fused QKV buffer bound three times, or three separate buffers with padded strides. */
  fused: boolean;
  /** Multiplies q so that scores span a wide range (peaked softmax, many max updates). */
  qScale?: number;
}

type Variant = { label: string } & Omit<AttentionOptions, 'causal' | 'headDim'>;

describe('attention', async () => {
  const gpu = await testGpu();

  interface Data {
    q: Float32Array;
    k: Float32Array;
    v: Float32Array;
    shape: AttentionShape;
    packed: Packed;
  }

  function makeData(c: Case, seed: number): Data {
    const packed = pack(c.lens);
    const T = packed.tokens;
    const qw = c.heads * c.hd;
    const kvw = c.kvHeads * c.hd;
    const scale = 1 / Math.sqrt(c.hd);
    if (c.fused) {
      const stride = qw + 2 * kvw;
      const qkv = randomF32(T * stride, seed, 1);
      if (c.qScale) for (let t = 0; t < T; t++) for (let i = 0; i < qw; i++) qkv[t * stride + i] *= c.qScale;
      const shape = { tokens: T, numHeads: c.heads, numKvHeads: c.kvHeads, qStride: stride, kStride: stride, vStride: stride, qOffset: 0, kOffset: qw, vOffset: qw + kvw, scale };
      return { q: qkv, k: qkv, v: qkv, shape, packed };
    }
    // Separate buffers, each with a padded stride and an odd column offset.
    const shape = { tokens: T, numHeads: c.heads, numKvHeads: c.kvHeads, qStride: qw + 5, kStride: kvw + 3, vStride: kvw + 7, qOffset: 3, kOffset: 1, vOffset: 7, scale };
    const q = randomF32(T * shape.qStride, seed, c.qScale ?? 1);
    const k = randomF32(T * shape.kStride, seed + 1, 1);
    const v = randomF32(T * shape.vStride, seed + 2, 1);
    return { q, k, v, shape, packed };
  }

  async function runAttention(kernel: AttentionKernel, d: Data, fused: boolean, relBias?: Float32Array): Promise<Float32Array> {
    const qb = gpu.upload(d.q, 'q');
    const bufs = {
      relBias: relBias ? gpu.upload(relBias, 'relBias') : undefined,
      q: qb,
      k: fused ? qb : gpu.upload(d.k, 'k'),
      v: fused ? qb : gpu.upload(d.v, 'v'),
      seqOf: gpu.upload(d.packed.seqOf, 'seqOf'),
      cuSeqLens: gpu.upload(d.packed.cu, 'cu'),
      out: gpu.upload(new Float32Array(d.shape.tokens * d.shape.numHeads * kernel.headDim).fill(7), 'out'),
    };
    await gpu.run([kernel.bind(bufs).update(d.shape)]);
    const bytes = d.shape.tokens * d.shape.numHeads * kernel.headDim * 4;
    const got = new Float32Array(await gpu.read(bufs.out, bytes));
    for (const b of new Set([bufs.q, bufs.k, bufs.v, bufs.seqOf, bufs.cuSeqLens, bufs.out, bufs.relBias])) b?.destroy();
    return got;
  }

  const cases: Case[] = [
    { name: 'one token', lens: [1], heads: 1, kvHeads: 1, hd: 16, fused: true },
    { name: 'sequences of length 1', lens: [1, 1, 1], heads: 2, kvHeads: 1, hd: 16, fused: false },
    { name: 'B=4 lengths 1,2,17,40, GQA 4/2', lens: [1, 2, 17, 40], heads: 4, kvHeads: 2, hd: 32, fused: true },
    { name: 'GQA 8/1, padded strides', lens: [5, 1, 13], heads: 8, kvHeads: 1, hd: 16, fused: false },
    { name: 'MHA hd=24', lens: [3, 11, 2], heads: 3, kvHeads: 3, hd: 24, fused: true },
    { name: 'hd=40, peaked scores', lens: [9, 23], heads: 2, kvHeads: 2, hd: 40, fused: false, qScale: 8 },
    { name: 'hd=64, lengths 40,1,7', lens: [40, 1, 7], heads: 2, kvHeads: 1, hd: 64, fused: true, qScale: 3 },
    { name: 'hd=128, GQA 2/1', lens: [6, 19], heads: 2, kvHeads: 1, hd: 128, fused: true },
  ];
  // Tiled variants use small tiles: SwiftShader's pipeline build time grows with kvTile · headDim.
  const variants: Variant[] = [
    { label: 'thread wg=1', workgroupSize: 1, vec4: false },
    { label: 'thread wg=64', workgroupSize: 64, vec4: false },
    { label: 'thread vec4 wg=1', workgroupSize: 1, vec4: true, queryBlock: false },
    { label: 'thread vec4 wg=64', workgroupSize: 64, vec4: true, queryBlock: false },
    { label: 'qblock wg=1', workgroupSize: 1, vec4: true, queryBlock: true },
    { label: 'qblock wg=16', workgroupSize: 16, vec4: true, queryBlock: true },
    { label: 'tiled wg=8 kvTile=3', tiled: true, workgroupSize: 8, kvTile: 3 },
    { label: 'tiled wg=32 kvTile=5', tiled: true, workgroupSize: 32, kvTile: 5 },
  ];

  for (const variant of variants) {
    for (const causal of [false, true]) {
      for (const c of cases) {
        it(`${variant.label} causal=${causal} ${c.name}`, async () => {
          const { label: _, ...opts } = variant;
          const kernel = await AttentionKernel.create(gpu, { ...opts, causal, headDim: c.hd });
          const d = makeData(c, c.hd * 13 + c.lens.length);
          const sh = d.shape;
          if (variant.vec4 && [sh.qStride, sh.kStride, sh.vStride, sh.qOffset, sh.kOffset, sh.vOffset].some((x) => x % 4 !== 0)) {
            // Misaligned rows cannot be read as vec4: a clear error, never a wrong answer.
            await expect(runAttention(kernel, d, c.fused)).rejects.toThrow(/multiples of 4/);
            return;
          }
          const got = await runAttention(kernel, d, c.fused);
          const want = attentionRef(d.q, d.k, d.v, d.packed, d.shape, c.hd, causal);
          expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
        });
      }

      it(`${variant.label} causal=${causal} no leakage across sequences`, async () => {
        const { label: _, ...opts } = variant;
        // vec4 reads need aligned rows: the fused layout has them.
        const fused = !!variant.vec4;
        const c: Case = { name: 'leak', lens: [7, 5, 9], heads: 2, kvHeads: 1, hd: 16, fused };
        const kernel = await AttentionKernel.create(gpu, { ...opts, causal, headDim: c.hd });
        const d = makeData(c, 5);
        const before = await runAttention(kernel, d, fused);
        // Change sequence 0's keys and values (tokens 0..6): only its own outputs may change.
        // (Fused: q, k and v of a token share its row of d.q.)
        const changed = { ...d, q: d.q.slice(), k: d.k.slice(), v: d.v.slice() };
        if (fused) for (let i = 0; i < 7 * d.shape.qStride; i++) changed.q[i] = changed.q[i] * 3 + 1;
        for (let i = 0; i < 7 * d.shape.kStride; i++) changed.k[i] = changed.k[i] * 3 + 1;
        for (let i = 0; i < 7 * d.shape.vStride; i++) changed.v[i] = -changed.v[i];
        const after = await runAttention(kernel, changed, fused);
        const row = d.shape.numHeads * c.hd;
        expect(Array.from(after.subarray(7 * row))).toEqual(Array.from(before.subarray(7 * row)));
        expect(maxAbsDiff(after.subarray(0, 7 * row), before.subarray(0, 7 * row))).toBeGreaterThan(0.1);
      });
    }
  }

  // Sliding windows: W = 1 (only itself), windows shorter than some sequences and longer than all,
  // over packed sequences whose blocks straddle sequence ends, in every schedule.
  for (const variant of variants) {
    for (const causal of [false, true]) {
      it(`${variant.label} causal=${causal} sliding windows 1, 2, 5, 16, 100`, async () => {
        const { label: _, ...opts } = variant;
        const c: Case = { name: 'window', lens: [1, 2, 17, 40, 6], heads: 4, kvHeads: 2, hd: 16, fused: true, qScale: 2 };
        const kernel = await AttentionKernel.create(gpu, { ...opts, causal, headDim: c.hd });
        const d = makeData(c, 23);
        for (const window of [1, 2, 5, 16, 100]) {
          const shape = { ...d.shape, window };
          const got = await runAttention(kernel, { ...d, shape }, true);
          const want = attentionRef(d.q, d.k, d.v, d.packed, shape, c.hd, causal);
          expect(maxAbsDiff(got, want), `window ${window}`).toBeLessThan(1e-4);
        }
        // A window longer than every sequence is the same as none.
        const none = await runAttention(kernel, d, true);
        const wide = await runAttention(kernel, { ...d, shape: { ...d.shape, window: 100 } }, true);
        expect(Array.from(wide)).toEqual(Array.from(none));
      });
    }
  }

  it('the bucket reference equals HF relative_position_bucket (the MPNet golden table, |n| ≤ 160)', () => {
    const g = JSON.parse(mpnetGolden) as {
      relative_position_buckets: { key_minus_query: number[]; bucket: number[] };
    };
    const { key_minus_query: rel, bucket } = g.relative_position_buckets;
    expect(rel.length).toBeGreaterThan(300);
    expect(rel.map(relBucketRef)).toEqual(bucket);
  });

  // MPNet's relative position bias: a 160-token sequence reaches the capped buckets (|n| ≥ 128),
  // short ones only the exact ones; packed so that the bias must use in-sequence distances.
  for (const variant of variants) {
    it(`${variant.label} relative position bias (MPNet buckets)`, async () => {
      const { label: _, ...opts } = variant;
      const c: Case = { name: 'relbias', lens: [3, 160, 1, 20], heads: 2, kvHeads: 2, hd: 16, fused: true };
      const kernel = await AttentionKernel.create(gpu, { ...opts, causal: false, headDim: c.hd, relativeBias: true });
      const d = makeData(c, 41);
      const table = randomF32(32 * c.heads, 43, 3);
      const got = await runAttention(kernel, d, true, table);
      expect(maxAbsDiff(got, attentionRef(d.q, d.k, d.v, d.packed, d.shape, c.hd, false, table))).toBeLessThan(1e-4);
    });
  }

  it('tiled with the default tile (32 keys at hd=16), blocks spanning sequences', async () => {
    const c: Case = { name: 'default tile', lens: [3, 70, 1, 33], heads: 2, kvHeads: 1, hd: 16, fused: true, qScale: 2 };
    for (const causal of [false, true]) {
      const kernel = await AttentionKernel.create(gpu, { causal, headDim: 16, tiled: true, workgroupSize: 16 });
      const d = makeData(c, 31);
      const got = await runAttention(kernel, d, true);
      expect(maxAbsDiff(got, attentionRef(d.q, d.k, d.v, d.packed, d.shape, 16, causal))).toBeLessThan(1e-4);
    }
  });

  it('large scores do not overflow (running max subtracted)', async () => {
    for (const [tiled, vec4] of [[false, false], [false, true], [true, false]]) {
      const c: Case = { name: 'big', lens: [4, 9], heads: 1, kvHeads: 1, hd: 16, fused: vec4, qScale: 200 };
      const kernel = await AttentionKernel.create(gpu, { causal: false, headDim: 16, tiled, vec4, workgroupSize: 8 });
      const d = makeData(c, 77);
      const got = await runAttention(kernel, d, vec4);
      expect(maxAbsDiff(got, attentionRef(d.q, d.k, d.v, d.packed, d.shape, 16, false))).toBeLessThan(1e-4);
    }
  });

  it('validates head counts, strides and workgroup memory', async () => {
    const kernel = await AttentionKernel.create(gpu, { causal: false, headDim: 16 });
    const buf = gpu.storage(64, 'b');
    const bound = kernel.bind({ q: buf, k: buf, v: buf, seqOf: buf, cuSeqLens: buf, out: gpu.storage(64, 'o') });
    const ok: AttentionShape = { tokens: 1, numHeads: 4, numKvHeads: 2, qStride: 64, kStride: 32, vStride: 32, qOffset: 0, kOffset: 0, vOffset: 0, scale: 0.25 };
    expect(() => bound.update({ ...ok, numKvHeads: 3 })).toThrow(/multiple/);
    expect(() => bound.update({ ...ok, kOffset: 1 })).toThrow(/overrun/);
    expect(() => bound.update({ ...ok, window: -1 })).toThrow(/window/);
    const withBias = await AttentionKernel.create(gpu, { causal: false, headDim: 16, relativeBias: true });
    expect(() => withBias.bind({ q: buf, k: buf, v: buf, seqOf: buf, cuSeqLens: buf, out: gpu.storage(64, 'o') })).toThrow(/relBias/);
    await expect(AttentionKernel.create(gpu, { causal: false, headDim: 300 })).rejects.toThrow(/headDim/);
    await expect(AttentionKernel.create(gpu, { causal: false, headDim: 128, tiled: true, kvTile: 64 })).rejects.toThrow(/workgroup memory/);
    await expect(AttentionKernel.create(gpu, { causal: false, headDim: 16, tiled: true, kvTile: 0 })).rejects.toThrow(/kvTile/);
    expect(defaultKvTile(128)).toBe(15);
    expect(defaultKvTile(64)).toBe(31);
    expect(defaultKvTile(16)).toBe(32);
  });
});
