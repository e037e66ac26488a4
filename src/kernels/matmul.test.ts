import { describe, expect, it } from 'vitest';
import {
  flops,
  MatmulKernel,
  MATMUL_VARIANTS,
  pickMatmulVariant,
  type Activation,
  type MatmulOptions,
  type MatmulVariant,
} from './matmul';
import type { AdapterReport } from '../gpu/device';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32 } from '../../test/helpers/random';
import { erf64 } from '../../test/helpers/erf';

// ---- float64 references, independent of the shaders' polynomial fits

function act64(act: Activation, v: number): number {
  switch (act) {
    case 'none':
      return v;
    case 'gelu':
      return 0.5 * v * (1 + erf64(v / Math.SQRT2));
    case 'silu':
      return v / (1 + Math.exp(-v));
    case 'tanh':
      return Math.tanh(v);
    case 'relu':
      return Math.max(v, 0);
  }
}

function matmulRef(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  residual: Float32Array | null,
  act: Activation,
  M: number,
  N: number,
  K: number,
): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = act64(act, s) + (residual ? residual[m * N + n] : 0);
    }
  }
  return y;
}

describe('erf64 reference', () => {
  it('matches tabulated erf values', () => {
    // Abramowitz & Stegun table 7.1 / high-precision values.
    const table: [number, number][] = [
      [0, 0],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.9, 0.9999589021219005],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
      [5, 0.9999999999984626],
    ];
    for (const [x, want] of table) {
      expect(Math.abs(erf64(x) - want)).toBeLessThan(1e-15);
      expect(erf64(-x) + erf64(x)).toBe(0);
    }
  });
});

describe('pickMatmulVariant / flops', () => {
  const adapter = (isSoftware: boolean): AdapterReport => ({
    vendor: '',
    architecture: '',
    device: '',
    description: '',
    isSoftware,
    features: [],
    limits: {},
    source: 'node',
  });
  it('picks regblock for software adapters and tiled for GPUs', () => {
    expect(pickMatmulVariant(adapter(true))).toBe('regblock');
    expect(pickMatmulVariant(adapter(false))).toBe('tiled');
  });
  it('counts a multiply and an add per term', () => {
    expect(flops({ M: 64, N: 384, K: 384 })).toBe(2 * 64 * 384 * 384);
  });
});

describe('matmul', async () => {
  const gpu = await testGpu();
  const kernels = new Map<string, Promise<MatmulKernel>>();
  function kernel(opts: MatmulOptions): Promise<MatmulKernel> {
    const key = JSON.stringify(opts);
    if (!kernels.has(key)) kernels.set(key, MatmulKernel.create(gpu, opts));
    return kernels.get(key)!;
  }

  async function runCase(opts: Required<Omit<MatmulOptions, 'weightDtype'>>, M: number, N: number, K: number, seed: number): Promise<number> {
    const x = randomF32(M * K, seed);
    const w = randomF32(N * K, seed + 1);
    const bias = randomF32(N, seed + 2);
    const residual = randomF32(M * N, seed + 3);
    const k = await kernel(opts);
    const bufs = {
      x: gpu.upload(x, 'x'),
      w: gpu.upload(w, 'w'),
      bias: opts.bias ? gpu.upload(bias, 'bias') : undefined,
      residual: opts.residual ? gpu.upload(residual, 'residual') : undefined,
      y: gpu.storage(M * N * 4, 'y'),
    };
    // Stale values in a pooled y must not survive: poison it first.
    gpu.write(bufs.y, new Float32Array(M * N).fill(Number.NaN));
    const d = k.bind(bufs).update({ M, N, K });
    await gpu.run([d]);
    const got = new Float32Array(await gpu.read(bufs.y, M * N * 4));
    d.destroy();
    for (const b of [bufs.x, bufs.w, bufs.bias, bufs.residual]) b?.destroy();
    gpu.pool.release(bufs.y);
    const want = matmulRef(x, w, opts.bias ? bias : null, opts.residual ? residual : null, opts.activation, M, N, K);
    return maxAbsDiff(got, want);
  }

  // Awkward shapes: ones, primes, K not a multiple of 4 (regblock's any-K entry point) and a multiple
  // of 4 (its vec4 one), sizes just past the 8-thread / 64-output tiles, K past the 16-deep slabs.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [1, 1, 4],
    [1, 13, 7],
    [3, 1, 8],
    [7, 13, 29],
    [5, 9, 4],
    [17, 5, 3],
    [65, 67, 33],
    [130, 96, 64],
    [64, 64, 64],
    [2, 70, 129],
  ];
  // Every switch on and off in every variant, each activation with and without bias and residual.
  const epilogues: [boolean, Activation, boolean][] = [
    [true, 'none', false],
    [false, 'none', true],
    [true, 'none', true],
    [false, 'gelu', false],
    [true, 'gelu', true],
    [false, 'silu', true],
    [true, 'silu', false],
    [false, 'tanh', false],
    [true, 'tanh', true],
    [true, 'relu', false],
    [false, 'relu', true],
  ];

  for (const variant of MATMUL_VARIANTS) {
    describe(variant, () => {
      for (const [M, N, K] of shapes) {
        it(`plain M=${M} N=${N} K=${K}`, async () => {
          const opts = { variant, bias: false, activation: 'none' as const, residual: false };
          expect(await runCase(opts, M, N, K, M * 10007 + N * 101 + K)).toBeLessThan(1e-4);
        });
      }
      for (const [bias, activation, residual] of epilogues) {
        for (const [M, N, K] of [[65, 67, 33], [7, 13, 29], [130, 96, 64], [1, 5, 12]] as const) {
          it(`bias=${bias} act=${activation} residual=${residual} M=${M} N=${N} K=${K}`, async () => {
            const opts = { variant, bias, activation, residual };
            expect(await runCase(opts, M, N, K, M + N + K + (bias ? 1 : 0) + (residual ? 2 : 0))).toBeLessThan(1e-4);
          });
        }
      }
      activationGrid(variant);
    });
  }

  /**
   * Each activation on a grid of pre-activation values through a matmul that reproduces them exactly
   * (K = 4, x row = [v, 0, 0, 0], w = [1, 0, 0, 0]), so the outputs isolate the epilogue. The grid
   * crosses every branch point of the shaders' erf/tanh (|x/√2| = 1 and 4, |x| = 0.625) and reaches
   * values where a naive tanh/sigmoid would overflow.
   */
  function activationGrid(variant: MatmulVariant): void {
    const values: number[] = [];
    for (let i = -1200; i <= 1200; i++) values.push(i / 100);
    for (const v of [Math.SQRT2, 4 * Math.SQRT2, 0.625, 1e-3, 1e-20, 30, 90, 1e10, 1e30, 3e38]) values.push(v, -v);
    const v32 = Float32Array.from(values);
    const M = v32.length;
    const x = new Float32Array(M * 4);
    v32.forEach((v, i) => (x[i * 4] = v));
    const w = Float32Array.from([1, 0, 0, 0]);

    async function run(activation: Activation): Promise<Float32Array> {
      const k = await kernel({ variant, bias: false, activation, residual: false });
      const bufs = { x: gpu.upload(x, 'x'), w: gpu.upload(w, 'w'), y: gpu.storage(M * 4, 'y') };
      const d = k.bind(bufs).update({ M, N: 1, K: 4 });
      await gpu.run([d]);
      const got = new Float32Array(await gpu.read(bufs.y, M * 4));
      d.destroy();
      bufs.x.destroy();
      bufs.w.destroy();
      gpu.pool.release(bufs.y);
      return got;
    }

    it('gelu: the erf inside is accurate to ~1e-7 absolute', async () => {
      const got = await run('gelu');
      const ulp = (f: number) => 2 ** (Math.floor(Math.log2(Math.abs(f))) - 23);
      let worst = 0;
      for (let i = 0; i < M; i++) {
        const v = v32[i];
        const g = got[i];
        expect(Number.isFinite(g), `gelu(${v}) = ${g}`).toBe(true);
        if (Math.abs(v) > 1e6) {
          // erf has saturated: gelu(v) = v for large positive v, 0 for large negative v.
          expect(g + 0).toBe(v > 0 ? v : 0); // −0 and +0 both fine
          continue;
        }
        if (v === 0 || Math.abs(v) < 1e-6) {
          expect(Math.abs(g - act64('gelu', v))).toBeLessThanOrEqual(Math.abs(v) * 1e-6);
          continue;
        }
        // The shader computes (0.5·v)·(1 + erf(z)) with z = f32(v · f32(1/√2)). Recover 1 + erf(z) from
        // the f32 output and compare erf with the float64 one at that same z; the slack allowed beyond 1e-7 is
        // the rounding of (1 + erf) and of the final product, which no erf could avoid.
        const z = Math.fround(v * Math.fround(Math.SQRT1_2));
        const onePlusErf = g / (0.5 * v);
        const want = 1 + erf64(z);
        const rounding = ulp(want) / 2 + (ulp(g) / 2 / (0.5 * Math.abs(v)) || 0);
        const err = Math.abs(onePlusErf - want) - rounding;
        worst = Math.max(worst, err);
        expect(err, `erf(${z}) in gelu(${v})`).toBeLessThanOrEqual(1e-7);
      }
      expect(worst).toBeLessThan(1e-7);
    });

    it('silu: relative error within what exp allows, no overflow', async () => {
      const got = await run('silu');
      for (let i = 0; i < M; i++) {
        const v = v32[i];
        const want = act64('silu', v);
        // WGSL's exp may be off by 3 + 2|x| ulp (x = −|v| here); that is the bulk of it for large |v|.
        const rel = 4e-7 + (3 + 2 * Math.min(Math.abs(v), 100)) * 2 ** -24;
        expect(Math.abs(got[i] - want), `silu(${v}) = ${got[i]}, want ${want}`).toBeLessThanOrEqual(1e-37 + rel * Math.abs(want));
      }
    });

    it('tanh: absolute error ~1.5e-7, saturates to ±1 without NaN', async () => {
      const got = await run('tanh');
      for (let i = 0; i < M; i++) {
        const want = act64('tanh', v32[i]);
        expect(Math.abs(got[i] - want), `tanh(${v32[i]}) = ${got[i]}`).toBeLessThanOrEqual(1.5e-7);
        // Near 0 the polynomial branch keeps relative accuracy too.
        if (Math.abs(v32[i]) < 0.625 && v32[i] !== 0) expect(Math.abs(got[i] / want - 1)).toBeLessThan(3e-7);
      }
    });

    it('relu: exactly max(v, 0)', async () => {
      const got = await run('relu');
      for (let i = 0; i < M; i++) expect(got[i] + 0, `relu(${v32[i]})`).toBe(Math.max(v32[i], 0));
    });
  }

  describe('MatmulKernel', () => {
    it('defaults to the adapter pick and none/no bias/no residual', async () => {
      const k = await MatmulKernel.create(gpu);
      expect(k.variant).toBe(pickMatmulVariant(gpu.adapter));
      expect([k.bias, k.activation, k.residual]).toEqual([false, 'none', false]);
    });

    it('one bound dispatch serves shapes with K % 4 == 0 and K % 4 != 0 in turn', async () => {
      // regblock switches entry points per update; the others must not care.
      for (const variant of MATMUL_VARIANTS) {
        const k = await kernel({ variant, bias: false, activation: 'none', residual: false });
        const bufs = { x: gpu.storage(9 * 12 * 4, 'x'), w: gpu.storage(6 * 12 * 4, 'w'), y: gpu.storage(9 * 6 * 4, 'y') };
        const d = k.bind(bufs);
        for (const K of [12, 11, 8, 3]) {
          const x = randomF32(9 * K, K);
          const w = randomF32(6 * K, K + 100);
          gpu.write(bufs.x, x);
          gpu.write(bufs.w, w);
          d.update({ M: 9, N: 6, K });
          await gpu.run([d]);
          const got = new Float32Array(await gpu.read(bufs.y, 9 * 6 * 4));
          expect(maxAbsDiff(got, matmulRef(x, w, null, null, 'none', 9, 6, K)), `${variant} K=${K}`).toBeLessThan(1e-5);
        }
        d.destroy();
        Object.values(bufs).forEach((b) => gpu.pool.release(b));
      }
    });

    it('rejects missing and too-small buffers', async () => {
      const k = await kernel({ variant: 'naive', bias: true, activation: 'none', residual: true });
      const small = gpu.storage(16, 's');
      const big = gpu.storage(4096, 'b');
      expect(() => k.bind({ x: big, w: big, y: big })).toThrow(/bias buffer required/);
      expect(() => k.bind({ x: big, w: big, bias: big, y: big })).toThrow(/residual buffer required/);
      expect(() => k.bind({ x: big, w: big, bias: big, residual: big, y: big })).toThrow(/residual may not be y/);
      const out = gpu.storage(4096, 'y');
      const d = k.bind({ x: small, w: big, bias: big, residual: big, y: out });
      expect(() => d.update({ M: 20, N: 4, K: 20 })).toThrow(/x holds 256 bytes/);
      expect(() => d.update({ M: 1.5, N: 4, K: 4 })).toThrow(/M must be a non-negative integer/);
      d.destroy();
    });
  });
});
