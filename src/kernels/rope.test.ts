import { describe, expect, it } from 'vitest';
import { RopeKernel, ropeFrequencyTable, type RopeShape } from './rope';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32, rng } from '../../test/helpers/random';

/** float64 reference: the whole buffer after rotating (and normalizing) the selected heads. */
/** NTK inverse frequencies written out as the hub's NTKScalingRotaryEmbedding computes them. */
function ntkInvFreq(theta: number, hd: number, factor: number, mixedB: number | null, i: number): number {
  if (mixedB === null) return 1 / ((theta * factor) ** ((2 * i) / hd) * factor ** (2 / hd));
  return 1 / (theta ** ((2 * i) / hd) * Math.exp((Math.log(factor) / (hd / 2) ** mixedB) * (i + 1) ** mixedB));
}

function ropeRef(x: Float32Array, pos: Uint32Array, w: Float32Array | null, s: RopeShape, hd: number): Float64Array {
  const y = Float64Array.from(x);
  const half = hd / 2;
  for (let t = 0; t < s.tokens; t++) {
    for (let j = 0; j < s.numHeads; j++) {
      const base = t * s.stride + s.offset + j * hd;
      const v = Array.from({ length: hd }, (_, i) => x[base + i]);
      if (w) {
        const inv = 1 / Math.sqrt(v.reduce((a, c) => a + c * c, 0) / hd + s.eps);
        for (let i = 0; i < hd; i++) v[i] = v[i] * inv * w[i];
      }
      for (let i = 0; i < half; i++) {
        const inv = s.ntk && s.ntk.factor > 1 ? ntkInvFreq(s.theta, hd, s.ntk.factor, s.ntk.mixedB ?? null, i) : 1 / s.theta ** ((2 * i) / hd);
        const theta = pos[t] * inv;
        const c = Math.cos(theta);
        const sn = Math.sin(theta);
        y[base + i] = v[i] * c - v[i + half] * sn;
        y[base + i + half] = v[i + half] * c + v[i] * sn;
      }
    }
  }
  return y;
}

interface Case {
  hd: number;
  norm: boolean;
  /** Heads before the rotated range (the q heads when rotating k), rotated heads, heads after. */
  before: number;
  heads: number;
  after: number;
  tokens: number;
  maxPos: number;
  theta: number;
  ntk?: RopeShape['ntk'];
  /** Norm weight is an offset from 1 (Gemma 3's q_norm / k_norm). */
  unitOffset?: boolean;
}

describe('rope', async () => {
  const gpu = await testGpu();

  async function check(c: Case, wg: number, gridWidth?: number): Promise<number> {
    const stride = (c.before + c.heads + c.after) * c.hd;
    const s: RopeShape = { tokens: c.tokens, numHeads: c.heads, stride, offset: c.before * c.hd, theta: c.theta, eps: 1e-6, ntk: c.ntk };
    const seed = c.hd * 7 + c.tokens + wg + c.maxPos;
    const x = randomF32(c.tokens * stride, seed, 2);
    const w = randomF32(c.hd, seed + 1, 0.5, c.unitOffset ? 0 : 1);
    const r = rng(seed + 2);
    const pos = Uint32Array.from({ length: c.tokens }, (_, t) => (t === 0 ? c.maxPos : Math.floor(r() * (c.maxPos + 1))));
    const k = await RopeKernel.create(gpu, { norm: c.norm, normUnitOffset: c.unitOffset, headDim: c.hd, workgroupSize: wg, gridWidth });
    const bufs = { x: gpu.upload(x, 'x'), positions: gpu.upload(pos, 'pos'), normWeight: gpu.upload(w, 'w') };
    await gpu.run([k.bind(bufs).update(s)]);
    const got = new Float32Array(await gpu.read(bufs.x, x.byteLength));
    // The whole buffer is compared: heads outside the range must come back untouched.
    const err = maxAbsDiff(got, ropeRef(x, pos, c.norm ? (c.unitOffset ? w.map((v) => 1 + v) : w) : null, s, c.hd));
    expect(err).toBeLessThan(1e-5);
    return err;
  }

  const cases: Case[] = [
    { hd: 16, norm: false, before: 0, heads: 1, after: 0, tokens: 1, maxPos: 0, theta: 1e4 },
    { hd: 32, norm: false, before: 0, heads: 3, after: 2, tokens: 7, maxPos: 511, theta: 1e4 },
    { hd: 64, norm: true, before: 0, heads: 4, after: 4, tokens: 13, maxPos: 2000, theta: 1e6 },
    // k heads of a fused QKV row: q heads before, v heads after.
    { hd: 128, norm: true, before: 4, heads: 2, after: 2, tokens: 9, maxPos: 2047, theta: 1e6 },
    { hd: 24, norm: true, before: 3, heads: 5, after: 1, tokens: 11, maxPos: 1999, theta: 1e6 },
    { hd: 40, norm: false, before: 1, heads: 3, after: 0, tokens: 5, maxPos: 997, theta: 1e4 },
    { hd: 2, norm: true, before: 0, heads: 7, after: 0, tokens: 3, maxPos: 100, theta: 1e4 },
  ];
  for (const wg of [1, 32, 64, 256]) {
    for (const c of cases) {
      it(`wg=${wg} hd=${c.hd} norm=${c.norm} heads=${c.before}+${c.heads}+${c.after} T=${c.tokens} pos≤${c.maxPos}`, () => check(c, wg));
    }
  }

  it('wraps a long grid into y', () =>
    check({ hd: 16, norm: true, before: 1, heads: 3, after: 1, tokens: 17, maxPos: 300, theta: 1e6 }, 2, 4));

  it('keeps f32 precision at long positions (to 32767)', async () => {
    const err = await check({ hd: 128, norm: true, before: 0, heads: 2, after: 0, tokens: 16, maxPos: 32767, theta: 1e6 }, 64);
    expect(err).toBeLessThan(3e-6);
  });

  it('frequency table is inv_freq / 2π as 64-bit fixed point', () => {
    const hd = 64;
    const table = ropeFrequencyTable(1e6, hd);
    for (let i = 0; i < hd / 2; i++) {
      const turns = (table[2 * i] * 2 ** 32 + table[2 * i + 1]) / 2 ** 64;
      expect(Math.abs(turns * 2 * Math.PI - 1e6 ** ((-2 * i) / hd))).toBeLessThan(1e-15);
    }
  });

  it('q/k norm with 1 + w (Gemma 3), GQA-like k heads after q heads', async () => {
    for (const wg of [1, 64]) {
      await check({ hd: 32, norm: true, unitOffset: true, before: 4, heads: 2, after: 2, tokens: 13, maxPos: 77, theta: 1e4 }, wg);
      await check({ hd: 24, norm: true, unitOffset: true, before: 0, heads: 3, after: 0, tokens: 5, maxPos: 2047, theta: 1e6 }, wg);
    }
  });

  it('NTK-scaled frequencies (GTE v1.5), plain and mixed_b; factor ≤ 1 is plain', async () => {
    for (const ntk of [{ factor: 2 }, { factor: 8, mixedB: 0.5 }, { factor: 1 }]) {
      await check({ hd: 16, norm: false, before: 0, heads: 4, after: 8, tokens: 13, maxPos: 8191, theta: 5e5, ntk }, 64);
      await check({ hd: 64, norm: false, before: 2, heads: 2, after: 0, tokens: 7, maxPos: 154, theta: 1e4, ntk }, 1);
    }
  });

  it('rejects odd or oversized head dims and a missing norm weight', async () => {
    await expect(RopeKernel.create(gpu, { norm: false, headDim: 15 })).rejects.toThrow(/even/);
    await expect(RopeKernel.create(gpu, { norm: false, headDim: 512 })).rejects.toThrow(/even/);
    const k = await RopeKernel.create(gpu, { norm: true, headDim: 16 });
    expect(() => k.bind({ x: gpu.storage(64, 'x'), positions: gpu.storage(64, 'p') })).toThrow(/normWeight/);
  });
});
