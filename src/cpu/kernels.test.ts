// The CPU backend's kernels against float64 plain-loop references on awkward shapes (1, primes,
// non-multiples of 4 and of the 6×8 matmul tile), through the same wrappers the models call
// (XKernel.create(ctx) → bind → update → run), for every SIMD build this engine validates.
// Runs in Node (vite.config.ts gives Node 20 the relaxed-SIMD flag) and in Chromium
// (vitest.browser.config.ts), each with every build the engine validates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomF32, maxAbsDiff } from '../../test/helpers/random';
import { packed } from '../../test/helpers/packed';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { L2NormalizeKernel } from '../kernels/l2_normalize';
import { LayerNormKernel } from '../kernels/layer_norm';
import { MatmulKernel, type Activation } from '../kernels/matmul';
import { PoolKernel, poolModes, type PoolMode } from '../kernels/pool';
import { QuantizeBitsKernel } from '../kernels/quantize_bits';
import { RmsNormKernel } from '../kernels/rms_norm';
import { RopeKernel } from '../kernels/rope';
import { SigmoidKernel } from '../kernels/sigmoid';
import { SoftmaxKernel } from '../kernels/softmax';
import { CpuContext } from './context';
import { threadsUnavailable } from './threads';
import { detectSimd, type SimdLevel } from './wasm';

const LEVELS: SimdLevel[] = detectSimd() === 'relaxed-simd' ? ['simd128', 'relaxed-simd'] : ['simd128'];
/** One thread, and three (an odd split: 2 workers + the caller) where shared memory exists. */
const THREADS = threadsUnavailable() ? [1] : [1, 3];

function erf64(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for a reference; a series / continued fraction is exact enough.
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let sum = 0;
    let term = a;
    for (let n = 0; n < 200; n++) {
      sum += term / (2 * n + 1);
      term *= (-a * a) / (n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = 0;
    for (let n = 60; n >= 1; n--) f = (n / 2) / (a + f);
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  }
  return x < 0 ? -r : r;
}

const ACTS: Record<Activation, (v: number) => number> = {
  none: (v) => v,
  gelu: (v) => 0.5 * v * (1 + erf64(v / Math.SQRT2)),
  silu: (v) => v / (1 + Math.exp(-v)),
  tanh: Math.tanh,
  relu: (v) => Math.max(v, 0),
};

for (const [simd, threads] of LEVELS.flatMap((l) => THREADS.map((t) => [l, t] as const))) {
  describe(`CPU kernels [${simd}, ${threads} thread${threads > 1 ? 's' : ''}]`, () => {
    let ctx: CpuContext;
    beforeAll(async () => {
      // minSplitFlops 0: with threads, every call that has two parts is split, however small.
      ctx = await CpuContext.load({ simd, threads, minSplitFlops: 0 });
    });
    afterAll(() => ctx?.destroy());

    const f32 = async (buf: GPUBuffer, n: number) => new Float32Array(await ctx.read(buf, n * 4));
    const up = (a: Float32Array | Uint32Array) => ctx.upload(a, 'test');

    it('reports its SIMD level and threads', () => {
      expect(ctx.threads).toBe(threads);
      expect(ctx.adapter.description).toBe(`WebAssembly ${simd}, ${threads} thread${threads > 1 ? 's' : ''}`);
      expect(ctx.simd).toBe(simd);
      expect(ctx.backend).toBe('cpu');
      expect(ctx.adapter.features).toEqual([simd]);
    });

    // With threads, [50, 70, 129] and [97, 33, 64] split by 6-row tiles, the short ones by 8-column panels.
    const shapes: [number, number, number][] = [[1, 1, 1], [1, 9, 3], [7, 13, 5], [13, 8, 17], [6, 16, 4], [50, 70, 129], [97, 33, 64], [1, 203, 30], [5, 41, 300]];
    for (const [M, N, K] of shapes) {
      for (const [act, bias, residual] of [['none', false, false], ['gelu', true, false], ['silu', false, true], ['tanh', true, true]] as [Activation, boolean, boolean][]) {
        it(`matmul M=${M} N=${N} K=${K} act=${act} bias=${bias} residual=${residual}`, async () => {
          const x = randomF32(M * K, M * 7 + K, 1);
          const w = randomF32(N * K, N * 11 + K, 0.5);
          const b = randomF32(N, N, 0.5);
          const r = randomF32(M * N, M + N, 1);
          const kernel = await MatmulKernel.create(ctx, { bias, activation: act, residual });
          const y = ctx.storage(M * N * 4, 'y');
          const step = kernel.bind({ x: up(x), w: up(w), bias: bias ? up(b) : undefined, residual: residual ? up(r) : undefined, y }, 'mm').update({ M, N, K });
          await ctx.run([step]);
          const want = new Float64Array(M * N);
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) {
              let s = bias ? b[n] : 0;
              for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
              want[m * N + n] = ACTS[act](s) + (residual ? r[m * N + n] : 0);
            }
          }
          expect(maxAbsDiff(await f32(y, M * N), want)).toBeLessThan(1e-4 * Math.max(1, Math.sqrt(K) / 4));
          // Packed once per weight: a second batch (other M) reuses the panels.
          step.update({ M: Math.max(1, M - 1), N, K });
          await ctx.run([step]);
          const again = await f32(y, Math.max(1, M - 1) * N);
          expect(maxAbsDiff(again, want.subarray(0, again.length))).toBeLessThan(1e-4 * Math.max(1, Math.sqrt(K) / 4));
        });
      }
    }

    it('matmul: a row gives bit-identical results in a 6-row tile and alone (batch invariance)', async () => {
      const K = 37;
      const N = 19;
      const x = randomF32(13 * K, 3, 1);
      const w = up(randomF32(N * K, 4, 1));
      const kernel = await MatmulKernel.create(ctx, { activation: 'gelu' });
      const yAll = ctx.storage(13 * N * 4, 'all');
      const yOne = ctx.storage(N * 4, 'one');
      await ctx.run([kernel.bind({ x: up(x), w, y: yAll }).update({ M: 13, N, K })]);
      const all = await f32(yAll, 13 * N);
      for (const row of [0, 5, 12]) {
        await ctx.run([kernel.bind({ x: up(x.slice(row * K, (row + 1) * K)), w, y: yOne }).update({ M: 1, N, K })]);
        expect(Array.from(await f32(yOne, N))).toEqual(Array.from(all.subarray(row * N, (row + 1) * N)));
      }
    });

    it('matmul: a short buffer is a clear error', async () => {
      const kernel = await MatmulKernel.create(ctx, {});
      const step = kernel.bind({ x: ctx.storage(16, 'x'), w: ctx.storage(16, 'w'), y: ctx.storage(16, 'y') }, 'short');
      expect(() => step.update({ M: 16, N: 16, K: 16 })).toThrow(/short: x holds 256 bytes, M=16 N=16 K=16 needs 1024|short: x holds/);
    });

    for (const n of [1, 3, 7, 64, 129]) {
      for (const residual of [false, true]) {
        it(`layer_norm n=${n} residual=${residual}`, async () => {
          const rows = 5;
          const x = randomF32(rows * n, n, 2, 3);
          const r = randomF32(rows * n, n + 1, 1);
          const g = randomF32(n, 2, 1, 1);
          const be = randomF32(n, 3, 0.5);
          const y = ctx.storage(rows * n * 4, 'y');
          const k = await LayerNormKernel.create(ctx, { residual });
          await ctx.run([k.bind({ x: up(x), residual: residual ? up(r) : undefined, gamma: up(g), beta: up(be), y }).update({ rows, n, eps: 1e-12 })]);
          const want = new Float64Array(rows * n);
          for (let i = 0; i < rows; i++) {
            const v = Array.from({ length: n }, (_, j) => x[i * n + j] + (residual ? r[i * n + j] : 0));
            const mean = v.reduce((a, b) => a + b, 0) / n;
            const vr = v.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
            v.forEach((e, j) => (want[i * n + j] = ((e - mean) / Math.sqrt(vr + 1e-12)) * g[j] + be[j]));
          }
          expect(maxAbsDiff(await f32(y, rows * n), want)).toBeLessThan(1e-5 * (n === 1 ? 1 : 10));
        });
      }
      it(`rms_norm n=${n}`, async () => {
        const rows = 3;
        const x = randomF32(rows * n, n + 5, 2);
        const w = randomF32(n, 9, 1, 1);
        const y = ctx.storage(rows * n * 4, 'y');
        const k = await RmsNormKernel.create(ctx);
        await ctx.run([k.bind({ x: up(x), w: up(w), y }).update({ rows, n, eps: 1e-6 })]);
        const want = new Float64Array(rows * n);
        for (let i = 0; i < rows; i++) {
          let ss = 0;
          for (let j = 0; j < n; j++) ss += x[i * n + j] ** 2;
          for (let j = 0; j < n; j++) want[i * n + j] = (x[i * n + j] / Math.sqrt(ss / n + 1e-6)) * w[j];
        }
        expect(maxAbsDiff(await f32(y, rows * n), want)).toBeLessThan(1e-5);
      });
    }

    for (const [hd, causal, heads, kvHeads] of [[3, false, 2, 2], [8, true, 4, 2], [32, false, 4, 4], [13, true, 6, 1]] as [number, boolean, number, number][]) {
      it(`attention hd=${hd} causal=${causal} heads=${heads}/${kvHeads} on a fused QKV, segments 1,5,17,3`, async () => {
        const p = packed([1, 5, 17, 3]);
        const width = (heads + 2 * kvHeads) * hd + 1; // an odd stride: rows never 16-byte aligned
        const qkv = randomF32(p.T * width, hd * 3 + heads, 1.5);
        const out = ctx.storage(p.T * heads * hd * 4, 'out');
        const k = await AttentionKernel.create(ctx, { causal, headDim: hd });
        const s = { tokens: p.T, numHeads: heads, numKvHeads: kvHeads, qStride: width, kStride: width, vStride: width, qOffset: 1, kOffset: 1 + heads * hd, vOffset: 1 + (heads + kvHeads) * hd, scale: 1 / Math.sqrt(hd) };
        await ctx.run([k.bind({ q: up(qkv), k: up(qkv), v: up(qkv), seqOf: up(p.seqOf), cuSeqLens: up(p.cu), out }).update(s)]);
        const want = new Float64Array(p.T * heads * hd);
        for (let b = 0; b + 1 < p.cu.length; b++) {
          for (let h = 0; h < heads; h++) {
            const g = Math.floor(h / (heads / kvHeads));
            for (let i = p.cu[b]; i < p.cu[b + 1]; i++) {
              const end = causal ? i + 1 : p.cu[b + 1];
              const sc: number[] = [];
              for (let j = p.cu[b]; j < end; j++) {
                let d = 0;
                for (let e = 0; e < hd; e++) d += qkv[i * width + s.qOffset + h * hd + e] * qkv[j * width + s.kOffset + g * hd + e];
                sc.push(d * s.scale);
              }
              const mx = Math.max(...sc);
              const ex = sc.map((v) => Math.exp(v - mx));
              const z = ex.reduce((a, c) => a + c, 0);
              for (let e = 0; e < hd; e++) {
                let acc = 0;
                ex.forEach((pj, jj) => (acc += (pj / z) * qkv[(p.cu[b] + jj) * width + s.vOffset + g * hd + e]));
                want[i * heads * hd + h * hd + e] = acc;
              }
            }
          }
        }
        expect(maxAbsDiff(await f32(out, p.T * heads * hd), want)).toBeLessThan(1e-5);
      });
    }

    it('attention: heads that overrun the row stride are an error', async () => {
      const k = await AttentionKernel.create(ctx, { causal: false, headDim: 8 });
      const b = ctx.storage(4096, 'b');
      const step = k.bind({ q: b, k: b, v: b, seqOf: b, cuSeqLens: b, out: ctx.storage(4096, 'o') }, 'att');
      expect(() => step.update({ tokens: 1, numHeads: 2, numKvHeads: 2, qStride: 8, kStride: 16, vStride: 16, qOffset: 0, kOffset: 0, vOffset: 8, scale: 1 })).toThrow(/q heads \[0, 16\) overrun/);
    });

    for (const [hd, norm, maxPos] of [[2, false, 7], [6, true, 2047], [64, true, 32767], [128, false, 2047]] as [number, boolean, number][]) {
      it(`rope hd=${hd} norm=${norm} positions up to ${maxPos}`, async () => {
        const T = 9;
        const heads = 3;
        const stride = heads * hd + 5;
        const offset = 2;
        const x = randomF32(T * stride, hd, 2);
        const w = randomF32(hd, hd + 1, 0.5, 1);
        const pos = Uint32Array.from({ length: T }, (_, t) => Math.round((t * maxPos) / (T - 1)));
        const buf = up(x);
        const k = await RopeKernel.create(ctx, { norm, headDim: hd });
        const s = { tokens: T, numHeads: heads, stride, offset, theta: 1e6, eps: 1e-6 };
        await ctx.run([k.bind({ x: buf, positions: up(pos), normWeight: norm ? up(w) : undefined }).update(s)]);
        const want = Float64Array.from(x);
        const half = hd / 2;
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < heads; j++) {
            const o = t * stride + offset + j * hd;
            const v = Array.from({ length: hd }, (_, i) => x[o + i]);
            if (norm) {
              const r = 1 / Math.sqrt(v.reduce((a, c) => a + c * c, 0) / hd + 1e-6);
              v.forEach((e, i) => (v[i] = e * r * w[i]));
            }
            for (let i = 0; i < half; i++) {
              const th = pos[t] * 1e6 ** ((-2 * i) / hd);
              want[o + i] = v[i] * Math.cos(th) - v[i + half] * Math.sin(th);
              want[o + i + half] = v[i + half] * Math.cos(th) + v[i] * Math.sin(th);
            }
          }
        }
        expect(maxAbsDiff(await f32(buf, T * stride), want)).toBeLessThan(1e-5);
      });
    }

    for (const [positions, tokenTypes, hidden] of [[true, true, 7], [false, false, 16], [true, false, 1]] as [boolean, boolean, number][]) {
      it(`embedding positions=${positions} tokenTypes=${tokenTypes} hidden=${hidden}`, async () => {
        const T = 11;
        const [vocab, maxPositions, typeVocab] = [23, 13, 2];
        const word = randomF32(vocab * hidden, 1, 1);
        const position = randomF32(maxPositions * hidden, 2, 1);
        const tokenType = randomF32(typeVocab * hidden, 3, 1);
        const ids = Uint32Array.from({ length: T }, (_, t) => (t * 7) % vocab);
        const pos = Uint32Array.from({ length: T }, (_, t) => t % maxPositions);
        const types = Uint32Array.from({ length: T }, (_, t) => t % 2);
        const out = ctx.storage(T * hidden * 4, 'out');
        const k = await EmbeddingKernel.create(ctx, { positions, tokenTypes });
        const dummy = up(ids);
        await ctx.run([
          k.bind({ ids: up(ids), positions: positions ? up(pos) : dummy, tokenTypes: tokenTypes ? up(types) : dummy, word: up(word), position: positions ? up(position) : dummy, tokenType: tokenTypes ? up(tokenType) : dummy, out }).update({ tokens: T, hidden, vocab, maxPositions, typeVocab }),
        ]);
        const want = new Float64Array(T * hidden);
        for (let t = 0; t < T; t++) {
          for (let c = 0; c < hidden; c++) {
            want[t * hidden + c] = word[ids[t] * hidden + c] + (positions ? position[pos[t] * hidden + c] : 0) + (tokenTypes ? tokenType[types[t] * hidden + c] : 0);
          }
        }
        expect(maxAbsDiff(await f32(out, T * hidden), want)).toBeLessThan(1e-6);
      });
    }

    it('pool: every mode, an empty segment, odd hidden', async () => {
      const lens = [3, 0, 1, 8, 5];
      const modes: PoolMode[] = ['mean', 'cls', 'max', 'last', 'mean_sqrt_len'];
      const p = packed(lens);
      const H = 13;
      const hidden = randomF32(p.T * H, 5, 2);
      const out = ctx.storage(lens.length * H * 4, 'out');
      const k = await PoolKernel.create(ctx);
      await ctx.run([k.bind({ hidden: up(hidden), cuSeqLens: up(p.cu), modes: up(poolModes(modes)), out }).update({ batch: lens.length, hidden: H })]);
      const want = new Float64Array(lens.length * H);
      lens.forEach((len, b) => {
        for (let c = 0; c < H; c++) {
          const col = Array.from({ length: len }, (_, i) => hidden[(p.cu[b] + i) * H + c]);
          const sum = col.reduce((a, v) => a + v, 0);
          const v = len === 0 ? 0 : { cls: col[0], last: col[len - 1], max: Math.max(...col), mean: sum / len, mean_sqrt_len: sum / Math.sqrt(len) }[modes[b]];
          want[b * H + c] = v;
        }
      });
      expect(maxAbsDiff(await f32(out, lens.length * H), want)).toBeLessThan(1e-5);
    });

    for (const normalize of [true, false]) {
      it(`l2_normalize normalize=${normalize}: matryoshka dims 5 of stride 9, rows from offset 2`, async () => {
        const [rows, rowOffset, dims, stride] = [3, 2, 5, 9];
        const x = randomF32((rowOffset + rows) * stride, 8, 3);
        const out = ctx.storage((rowOffset + rows) * 7 * 4, 'out');
        const k = await L2NormalizeKernel.create(ctx, { normalize });
        await ctx.run([k.bind({ x: up(x), out }).update({ rows, rowOffset, dims, inStride: stride, outStride: 7 })]);
        const got = await f32(out, (rowOffset + rows) * 7);
        for (let r = rowOffset; r < rowOffset + rows; r++) {
          const v = Array.from({ length: dims }, (_, i) => x[r * stride + i]);
          const n = normalize ? Math.sqrt(v.reduce((a, c) => a + c * c, 0)) : 1;
          expect(maxAbsDiff(got.subarray(r * 7, r * 7 + dims), v.map((e) => e / n))).toBeLessThan(1e-6);
        }
      });
    }

    it('softmax over rows of 1, 5 and 37 with large logits', async () => {
      for (const n of [1, 5, 37]) {
        const x = randomF32(4 * n, n, 80);
        const out = ctx.storage(4 * n * 4, 'out');
        const k = await SoftmaxKernel.create(ctx);
        await ctx.run([k.bind({ x: up(x), out }).update({ rows: 3, rowOffset: 1, n })]);
        const got = await f32(out, 4 * n);
        for (let r = 1; r < 4; r++) {
          const v = Array.from(x.subarray(r * n, (r + 1) * n));
          const mx = Math.max(...v);
          const z = v.reduce((a, c) => a + Math.exp(c - mx), 0);
          expect(maxAbsDiff(got.subarray(r * n, (r + 1) * n), v.map((c) => Math.exp(c - mx) / z))).toBeLessThan(1e-6);
        }
      }
    });

    it('sigmoid, including |x| up to 100', async () => {
      const x = randomF32(23, 9, 100);
      const out = ctx.storage(23 * 4, 'out');
      await ctx.run([(await SigmoidKernel.create(ctx)).bind({ x: up(x), out }).update({ count: 21, offset: 1 })]);
      const got = await f32(out, 23);
      expect(maxAbsDiff(got.subarray(1, 22), Array.from(x.subarray(1, 22), (v) => 1 / (1 + Math.exp(-v))))).toBeLessThan(1e-6);
    });

    it('quantize_bits: numpy.packbits per row for dims 13, 8 and 1', async () => {
      for (const dims of [13, 8, 1]) {
        const rows = 3;
        const stride = dims + 2;
        const x = randomF32(rows * stride, dims, 1);
        const nb = Math.ceil(dims / 8);
        const outBytes = Math.ceil((rows * nb) / 4) * 4;
        const out = ctx.storage(outBytes, 'bits');
        ctx.write(out, new Uint8Array(outBytes).fill(0xff));
        await ctx.run([(await QuantizeBitsKernel.create(ctx)).bind({ x: up(x), out }).update({ rows, dims, inStride: stride })]);
        const got = new Uint8Array(await ctx.read(out, outBytes));
        const want = new Uint8Array(outBytes);
        for (let r = 0; r < rows; r++) for (let c = 0; c < dims; c++) if (x[r * stride + c] > 0) want[r * nb + (c >> 3)] |= 0x80 >> (c & 7);
        expect(Array.from(got)).toEqual(Array.from(want));
      }
    });
  });
}
