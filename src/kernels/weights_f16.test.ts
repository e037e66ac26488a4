// The f16-weight variants of the kernels that read weights (matmul's three variants with their
// epilogue, the embedding gather), built from the same WGSL as the f32 ones with WEIGHT_T = f16,
// against float64 references over the f16-rounded weights: the kernels must add no error of their
// own beyond f32 accumulation. Needs shader-f16 (lavapipe here: scripts/test.sh); skipped with a
// message on adapters without it (SwiftShader).
import { describe, expect, it } from 'vitest';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32, rng } from '../../test/helpers/random';
import { erf64 } from '../../test/helpers/erf';
import { f32ToHalf, roundToHalf } from '../loading/half';
import { EmbeddingKernel } from './embedding';
import { MatmulKernel, MATMUL_VARIANTS, type Activation, type MatmulVariant } from './matmul';

const gpu = await testGpu();
if (!gpu.hasF16) console.warn(`weights_f16.test.ts: SKIPPED, adapter "${gpu.adapter.description || gpu.adapter.vendor}" has no shader-f16 (run on lavapipe: VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json)`);

const act64 = (a: Activation, v: number) => (a === 'gelu' ? 0.5 * v * (1 + erf64(v / Math.SQRT2)) : a === 'relu' ? Math.max(v, 0) : v);

describe.skipIf(!gpu.hasF16)('matmul with f16 weights', () => {
  async function runCase(variant: MatmulVariant, epi: { bias: boolean; activation: Activation; residual: boolean }, M: number, N: number, K: number, seed: number): Promise<number> {
    const x = randomF32(M * K, seed);
    const w = randomF32(N * K, seed + 1);
    const bias = randomF32(N, seed + 2);
    const residual = randomF32(M * N, seed + 3);
    const k = await MatmulKernel.create(gpu, { variant, ...epi, weightDtype: 'f16' });
    const bufs = {
      x: gpu.upload(x, 'x'),
      w: gpu.upload(f32ToHalf(w).bits, 'w', 'f16'),
      bias: epi.bias ? gpu.upload(bias, 'bias') : undefined,
      residual: epi.residual ? gpu.upload(residual, 'residual') : undefined,
      y: gpu.storage(M * N * 4, 'y'),
    };
    gpu.write(bufs.y, new Float32Array(M * N).fill(Number.NaN));
    const d = k.bind(bufs).update({ M, N, K });
    await gpu.run([d]);
    const got = new Float32Array(await gpu.read(bufs.y, M * N * 4));
    d.destroy();
    for (const b of [bufs.x, bufs.w, bufs.bias, bufs.residual]) b?.destroy();
    gpu.pool.release(bufs.y);
    const wh = roundToHalf(w);
    const want = new Float64Array(M * N);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = epi.bias ? bias[n] : 0;
        for (let kk = 0; kk < K; kk++) s += x[m * K + kk] * wh[n * K + kk];
        want[m * N + n] = act64(epi.activation, s) + (epi.residual ? residual[m * N + n] : 0);
      }
    }
    return maxAbsDiff(got, want);
  }

  const plain = { bias: false, activation: 'none' as const, residual: false };
  // Ones, primes, odd K (regblock's any-K entry and scalar f16 reads), K % 4 == 0 (its vec4<f16>
  // reads), sizes just past the 64-output tiles and the 16-deep slabs.
  const shapes: [number, number, number][] = [[1, 1, 1], [7, 13, 29], [5, 9, 4], [65, 67, 33], [2, 70, 132]];
  for (const variant of MATMUL_VARIANTS) {
    for (const [M, N, K] of shapes) {
      it(`${variant} M=${M} N=${N} K=${K}`, async () => {
        expect(await runCase(variant, plain, M, N, K, M * 7 + N * 3 + K)).toBeLessThan(1e-4);
      });
    }
    // The epilogue is the f32 code of matmul_epilogue.wgsl either way (matmul.test.ts covers its
    // matrix); ReLU rather than GELU here because lavapipe compiles regblock's 64 inlined erf
    // polynomials for ~2 minutes.
    it(`${variant} bias + relu + residual M=17 N=35 K=20`, async () => {
      expect(await runCase(variant, { bias: true, activation: 'relu', residual: true }, 17, 35, 20, 5)).toBeLessThan(1e-4);
    });
  }

  it('refuses an f32 buffer bound as f16 weights (and the reverse)', async () => {
    const k16 = await MatmulKernel.create(gpu, { variant: 'naive', weightDtype: 'f16' });
    const k32 = await MatmulKernel.create(gpu, { variant: 'naive' });
    const x = gpu.upload(new Float32Array(4), 'x');
    const w32 = gpu.upload(new Float32Array(4), 'w32');
    const w16 = gpu.upload(new Uint16Array(4), 'w16', 'f16');
    const y = gpu.storage(16, 'y');
    expect(() => k16.bind({ x, w: w32, y })).toThrow(/w is stored as f32, but this kernel reads f16 weights/);
    expect(() => k32.bind({ x, w: w16, y })).toThrow(/w is stored as f16, but this kernel reads f32 weights/);
    [x, w32, w16].forEach((b) => b.destroy());
    gpu.pool.release(y);
  });
});

describe.skipIf(!gpu.hasF16)('embedding with f16 tables', () => {
  it.each([
    [{ positions: true, tokenTypes: true }, 37, 19, 11],
    [{ positions: false, tokenTypes: false }, 5, 3, 65],
  ])('%o tokens=%i hidden=%i vocab=%i', async (opts, T, H, V) => {
    const r = rng(T + H);
    const ids = Uint32Array.from({ length: T }, () => Math.floor(r() * V));
    const positions = Uint32Array.from({ length: T }, (_, i) => i % 9);
    const types = Uint32Array.from({ length: T }, (_, i) => i % 2);
    const word = randomF32(V * H, 1);
    const pos = randomF32(9 * H, 2);
    const typ = randomF32(2 * H, 3);
    const k = await EmbeddingKernel.create(gpu, { ...opts, tableDtype: 'f16' });
    const half = (a: Float32Array, label: string) => gpu.upload(f32ToHalf(a).bits, label, 'f16');
    const bufs = {
      ids: gpu.upload(ids, 'ids'),
      positions: gpu.upload(positions, 'positions'),
      tokenTypes: gpu.upload(types, 'types'),
      word: half(word, 'word'),
      position: half(pos, 'pos'),
      tokenType: half(typ, 'typ'),
      out: gpu.storage(T * H * 4, 'out'),
    };
    const d = k.bind(bufs).update({ tokens: T, hidden: H, vocab: V, maxPositions: 9, typeVocab: 2 });
    await gpu.run([d]);
    const got = new Float32Array(await gpu.read(bufs.out, T * H * 4));
    d.destroy();
    const [wh, ph, th] = [roundToHalf(word), roundToHalf(pos), roundToHalf(typ)];
    const want = new Float64Array(T * H);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < H; i++) {
        let v = wh[ids[t] * H + i];
        if (opts.positions) v = Math.fround(v + ph[positions[t] * H + i]);
        if (opts.tokenTypes) v = Math.fround(v + th[types[t] * H + i]);
        want[t * H + i] = v;
      }
    }
    expect(maxAbsDiff(got, want)).toBe(0);
    expect(() => k.bind({ ...bufs, word: gpu.upload(word, 'word32') })).toThrow(/word is stored as f32, but this kernel reads f16 tables/);
  });
});
