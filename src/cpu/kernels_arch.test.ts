// The CPU twins of the kernel options the newer architectures need — GLU (SwiGLU / GeGLU, either
// half activated), Gemma's (1 + w) and residual RMSNorm, the (1 + w) q/k norm before RoPE, sliding-
// window attention (bidirectional and causal) and MPNet's relative position bias — against float64
// plain-loop references on awkward shapes, for every SIMD build this engine validates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erf64 } from '../../test/helpers/erf';
import { maxAbsDiff, randomF32 } from '../../test/helpers/random';
import { packed } from '../../test/helpers/packed';
import { AttentionKernel, REL_BIAS_BUCKETS } from '../kernels/attention';
import { GluKernel, type GluActivation } from '../kernels/glu';
import { RmsNormKernel } from '../kernels/rms_norm';
import { RopeKernel } from '../kernels/rope';
import { CpuContext } from './context';
import { threadsUnavailable } from './threads';
import { detectSimd, type SimdLevel } from './wasm';

const LEVELS: SimdLevel[] = detectSimd() === 'relaxed-simd' ? ['simd128', 'relaxed-simd'] : ['simd128'];
/** One thread, and three (an odd split: 2 workers + the caller) where shared memory exists. */
const THREADS = threadsUnavailable() ? [1] : [1, 3];

const GLU_ACTS: Record<GluActivation, (v: number) => number> = {
  silu: (v) => v / (1 + Math.exp(-v)),
  gelu: (v) => 0.5 * v * (1 + erf64(v / Math.SQRT2)),
  gelu_tanh: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
};

/** HF MPNet's relative_position_bucket (32 buckets, max distance 128) for query i, key j, in float64. */
function bucket(i: number, j: number): number {
  const n = i - j;
  const a = Math.abs(n);
  // log(a / 8) / log(128 / 8) · 8 = 2·log2(a / 8), exact at the powers of two where flooring is delicate.
  const v = a < 8 ? a : Math.min(15, 8 + Math.floor(2 * Math.log2(a / 8)));
  return (n < 0 ? 16 : 0) + v;
}

for (const [simd, threads] of LEVELS.flatMap((l) => THREADS.map((t) => [l, t] as const))) {
  describe(`CPU kernels, newer architectures [${simd}, ${threads} thread${threads > 1 ? 's' : ''}]`, () => {
    let ctx: CpuContext;
    beforeAll(async () => {
      // minSplitFlops 0: with threads, every call that has two parts is split, however small.
      ctx = await CpuContext.load({ simd, threads, minSplitFlops: 0 });
    });
    afterAll(() => ctx?.destroy());

    const f32 = async (buf: GPUBuffer, n: number) => new Float32Array(await ctx.read(buf, n * 4));
    const up = (a: Float32Array | Uint32Array) => ctx.upload(a, 'test');

    for (const act of ['silu', 'gelu', 'gelu_tanh'] as GluActivation[]) {
      for (const activated of ['first', 'second'] as const) {
        it(`glu ${act} activated=${activated}, I = 1, 7, 33, |x| up to 12`, async () => {
          for (const I of [1, 7, 33]) {
            const T = 5;
            const gu = randomF32(T * 2 * I, I * 3 + 1, 12);
            const out = ctx.storage(T * I * 4, 'out');
            const k = await GluKernel.create(ctx, { activation: act, activated });
            await ctx.run([k.bind({ gateUp: up(gu), out }).update({ tokens: T, inter: I })]);
            const got = await f32(out, T * I);
            for (let t = 0; t < T; t++) {
              for (let j = 0; j < I; j++) {
                const [x, y] = [gu[t * 2 * I + j], gu[t * 2 * I + I + j]];
                const want = activated === 'first' ? GLU_ACTS[act](x) * y : GLU_ACTS[act](y) * x;
                expect(Math.abs(got[t * I + j] - want)).toBeLessThan(2e-6 * (1 + Math.abs(want)));
              }
            }
          }
        });
      }
    }

    it('glu: out aliasing gateUp and unknown activations are errors', async () => {
      const b = ctx.storage(64, 'b');
      const k = await GluKernel.create(ctx, { activation: 'silu', activated: 'first' });
      expect(() => k.bind({ gateUp: b, out: b })).toThrow(/may not be gateUp/);
      await expect(GluKernel.create(ctx, { activation: 'relu' as GluActivation, activated: 'first' })).rejects.toThrow(/unknown activation "relu"/);
    });

    for (const n of [1, 6, 129]) {
      for (const [unitOffset, residual] of [[true, false], [true, true], [false, true]] as [boolean, boolean][]) {
        it(`rms_norm n=${n} unitOffset=${unitOffset} residual=${residual}`, async () => {
          const rows = 4;
          const x = randomF32(rows * n, n + 2, 3);
          const r = randomF32(rows * n, n + 3, 2);
          const w = randomF32(n, n + 4, 0.5);
          const y = ctx.storage(rows * n * 4, 'y');
          const k = await RmsNormKernel.create(ctx, { unitOffset, residual });
          await ctx.run([k.bind({ x: up(x), residual: residual ? up(r) : undefined, w: up(w), y }).update({ rows, n, eps: 1e-6 })]);
          const want = new Float64Array(rows * n);
          for (let i = 0; i < rows; i++) {
            let ss = 0;
            for (let j = 0; j < n; j++) ss += x[i * n + j] ** 2;
            const inv = 1 / Math.sqrt(ss / n + 1e-6);
            for (let j = 0; j < n; j++) want[i * n + j] = x[i * n + j] * inv * (unitOffset ? 1 + w[j] : w[j]) + (residual ? r[i * n + j] : 0);
          }
          expect(maxAbsDiff(await f32(y, rows * n), want)).toBeLessThan(1e-5);
        });
      }
    }

    it('rms_norm: residual required when created with it', async () => {
      const k = await RmsNormKernel.create(ctx, { residual: true });
      const b = ctx.storage(64, 'b');
      expect(() => k.bind({ x: b, w: b, y: ctx.storage(64, 'y') })).toThrow(/residual buffer required/);
    });

    for (const hd of [6, 16]) {
      it(`rope with Gemma's (1 + w) q/k norm, hd=${hd}`, async () => {
        const [T, heads] = [7, 3];
        const stride = heads * hd + 3;
        const x = randomF32(T * stride, hd + 7, 2);
        const w = randomF32(hd, hd + 8, 0.5);
        const pos = Uint32Array.from({ length: T }, (_, t) => t * 97);
        const buf = up(x);
        const k = await RopeKernel.create(ctx, { norm: true, normUnitOffset: true, headDim: hd });
        await ctx.run([k.bind({ x: buf, positions: up(pos), normWeight: up(w) }).update({ tokens: T, numHeads: heads, stride, offset: 1, theta: 1e4, eps: 1e-6 })]);
        const want = Float64Array.from(x);
        const half = hd / 2;
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < heads; j++) {
            const o = t * stride + 1 + j * hd;
            const v = Array.from({ length: hd }, (_, i) => x[o + i]);
            const r = 1 / Math.sqrt(v.reduce((a, c) => a + c * c, 0) / hd + 1e-6);
            v.forEach((e, i) => (v[i] = e * r * (1 + w[i])));
            for (let i = 0; i < half; i++) {
              const th = pos[t] * 1e4 ** ((-2 * i) / hd);
              want[o + i] = v[i] * Math.cos(th) - v[i + half] * Math.sin(th);
              want[o + i + half] = v[i + half] * Math.cos(th) + v[i] * Math.sin(th);
            }
          }
        }
        expect(maxAbsDiff(await f32(buf, T * stride), want)).toBeLessThan(1e-5);
      });
    }

    for (const ntk of [{ factor: 2 }, { factor: 4, mixedB: 0.75 }]) {
      it(`rope with GTE v1.5's NTK scaling ${JSON.stringify(ntk)}`, async () => {
        const [T, heads, hd, theta] = [6, 2, 8, 500];
        const stride = heads * hd;
        const x = randomF32(T * stride, 31, 1);
        const pos = Uint32Array.from({ length: T }, (_, t) => t * 301);
        const buf = up(x);
        const k = await RopeKernel.create(ctx, { norm: false, headDim: hd });
        await ctx.run([k.bind({ x: buf, positions: up(pos) }).update({ tokens: T, numHeads: heads, stride, offset: 0, theta, eps: 0, ntk })]);
        const half = hd / 2;
        const inv = Array.from({ length: half }, (_, i) =>
          ntk.mixedB === undefined
            ? (theta * ntk.factor) ** ((-2 * i) / hd) / ntk.factor ** (2 / hd)
            : theta ** ((-2 * i) / hd) / Math.exp((Math.log(ntk.factor) / half ** ntk.mixedB) * (i + 1) ** ntk.mixedB),
        );
        const want = Float64Array.from(x);
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < heads; j++) {
            const o = t * stride + j * hd;
            for (let i = 0; i < half; i++) {
              const th = pos[t] * inv[i];
              want[o + i] = x[o + i] * Math.cos(th) - x[o + i + half] * Math.sin(th);
              want[o + i + half] = x[o + i + half] * Math.cos(th) + x[o + i] * Math.sin(th);
            }
          }
        }
        expect(maxAbsDiff(await f32(buf, T * stride), want)).toBeLessThan(1e-5);
      });
    }

    // [headDim, causal, window, relativeBias, heads, kvHeads, segment lengths]
    const cases: [number, boolean, number, boolean, number, number, number[]][] = [
      [8, false, 3, false, 2, 2, [1, 9, 4]],
      [5, true, 4, false, 4, 2, [11, 2, 7]],
      [12, false, 1, false, 3, 1, [6, 3]],
      [16, true, 40, false, 2, 1, [13, 5]],
      [7, false, 0, true, 3, 3, [1, 20, 150]],
      [8, false, 5, true, 2, 2, [9, 17]],
    ];
    for (const [hd, causal, window, relativeBias, heads, kvHeads, lens] of cases) {
      it(`attention hd=${hd} causal=${causal} window=${window} relBias=${relativeBias} heads=${heads}/${kvHeads} segments ${lens.join(',')}`, async () => {
        const p = packed(lens);
        const width = (heads + 2 * kvHeads) * hd + 3;
        const qkv = randomF32(p.T * width, hd * 5 + heads + window, 1.5);
        const table = randomF32(REL_BIAS_BUCKETS * heads, 77, 2);
        const out = ctx.storage(p.T * heads * hd * 4, 'out');
        const k = await AttentionKernel.create(ctx, { causal, headDim: hd, relativeBias });
        const s = { tokens: p.T, numHeads: heads, numKvHeads: kvHeads, qStride: width, kStride: width, vStride: width, qOffset: 3, kOffset: 3 + heads * hd, vOffset: 3 + (heads + kvHeads) * hd, scale: 1 / Math.sqrt(hd), window };
        const buf = up(qkv);
        await ctx.run([k.bind({ q: buf, k: buf, v: buf, seqOf: up(p.seqOf), cuSeqLens: up(p.cu), out, relBias: relativeBias ? up(table) : undefined }).update(s)]);
        const want = new Float64Array(p.T * heads * hd);
        for (let b = 0; b + 1 < p.cu.length; b++) {
          for (let h = 0; h < heads; h++) {
            const g = Math.floor(h / (heads / kvHeads));
            for (let i = p.cu[b]; i < p.cu[b + 1]; i++) {
              const keys: number[] = [];
              for (let j = p.cu[b]; j < p.cu[b + 1]; j++) {
                if (causal && j > i) continue;
                if (window > 0 && Math.abs(i - j) >= window) continue;
                keys.push(j);
              }
              const sc = keys.map((j) => {
                let d = 0;
                for (let e = 0; e < hd; e++) d += qkv[i * width + s.qOffset + h * hd + e] * qkv[j * width + s.kOffset + g * hd + e];
                return d * s.scale + (relativeBias ? table[bucket(i - p.cu[b], j - p.cu[b]) * heads + h] : 0);
              });
              const mx = Math.max(...sc);
              const ex = sc.map((v) => Math.exp(v - mx));
              const z = ex.reduce((a, c) => a + c, 0);
              for (let e = 0; e < hd; e++) {
                let acc = 0;
                keys.forEach((j, jj) => (acc += (ex[jj] / z) * qkv[j * width + s.vOffset + g * hd + e]));
                want[i * heads * hd + h * hd + e] = acc;
              }
            }
          }
        }
        expect(maxAbsDiff(await f32(out, p.T * heads * hd), want)).toBeLessThan(1e-5);
      });
    }

    it('attention: relBias required with relativeBias, and a bad window is an error', async () => {
      const b = ctx.storage(4096, 'b');
      const withBias = await AttentionKernel.create(ctx, { causal: false, headDim: 4, relativeBias: true });
      expect(() => withBias.bind({ q: b, k: b, v: b, seqOf: b, cuSeqLens: b, out: ctx.storage(64, 'o') })).toThrow(/relBias buffer required/);
      const plain = await AttentionKernel.create(ctx, { causal: false, headDim: 4 });
      const step = plain.bind({ q: b, k: b, v: b, seqOf: b, cuSeqLens: b, out: ctx.storage(64, 'o') });
      expect(() => step.update({ tokens: 1, numHeads: 1, numKvHeads: 1, qStride: 12, kStride: 12, vStride: 12, qOffset: 0, kOffset: 4, vOffset: 8, scale: 1, window: 1.5 })).toThrow(/window 1.5/);
    });
  });
}
