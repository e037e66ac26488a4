import { describe, expect, it } from 'vitest';
import { GluKernel, type GluActivation } from './glu';
import { testGpu } from '../../test/helpers/gpu';
import { erf64 } from '../../test/helpers/erf';
import { randomF32 } from '../../test/helpers/random';

function act64(act: GluActivation, v: number): number {
  switch (act) {
    case 'silu':
      return v / (1 + Math.exp(-v));
    case 'gelu':
      return 0.5 * v * (1 + erf64(v / Math.SQRT2));
    case 'gelu_tanh':
      return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  }
}

function gluRef(gu: Float32Array, T: number, I: number, act: GluActivation, second: boolean): Float64Array {
  const out = new Float64Array(T * I);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < I; j++) {
      const x = gu[t * 2 * I + j];
      const y = gu[t * 2 * I + I + j];
      out[t * I + j] = second ? act64(act, y) * x : act64(act, x) * y;
    }
  }
  return out;
}

/** max |got − want| / (1 + |want|): relative for large values, absolute near 0. */
function maxScaledDiff(got: Float32Array, want: Float64Array): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

describe('glu', async () => {
  const gpu = await testGpu();

  async function run(k: GluKernel, T: number, I: number, gu: Float32Array): Promise<Float32Array> {
    const bufs = { gateUp: gpu.upload(gu, 'gateUp'), out: gpu.storage(T * I * 4, 'out') };
    gpu.write(bufs.out, new Float32Array(T * I).fill(Number.NaN));
    const d = k.bind(bufs).update({ tokens: T, inter: I });
    await gpu.run([d]);
    const got = new Float32Array(await gpu.read(bufs.out, T * I * 4));
    d.destroy();
    bufs.gateUp.destroy();
    gpu.pool.release(bufs.out);
    return got;
  }

  const shapes: [number, number][] = [[1, 1], [3, 7], [17, 129], [2, 1000]];
  for (const activation of ['silu', 'gelu', 'gelu_tanh'] as const) {
    for (const activated of ['first', 'second'] as const) {
      for (const wg of [1, 64, 256]) {
        it(`${activation} on the ${activated} half, wg=${wg}`, async () => {
          const k = await GluKernel.create(gpu, { activation, activated, workgroupSize: wg });
          for (const [T, I] of shapes) {
            // Both halves over [-8, 8]: GELU's and SiLU's negative tails and the erf branch points.
            const gu = randomF32(T * 2 * I, T * 7919 + I + wg, 8);
            const got = await run(k, T, I, gu);
            expect(maxScaledDiff(got, gluRef(gu, T, I, activation, activated === 'second')), `T=${T} I=${I}`).toBeLessThan(1e-6);
          }
        });
      }
    }
  }

  // SwiGLU as Qwen3, Qwen2, Llama, Mistral and NomicBert run it (silu on the gate, the first half):
  // long and odd rows, 64 tokens of 33, gates over [-12, 12] reaching sigmoid's flat tails.
  const swigluShapes: [number, number][] = [[1, 1], [3, 7], [17, 129], [5, 1000], [2, 3072], [64, 33]];
  for (const wg of [32, 128]) {
    it(`silu on the first half, gates over [-12, 12], long and odd rows, wg=${wg}`, async () => {
      const k = await GluKernel.create(gpu, { activation: 'silu', activated: 'first', workgroupSize: wg });
      for (const [T, I] of swigluShapes) {
        const gu = randomF32(T * 2 * I, T * 7919 + I + wg);
        for (let t = 0; t < T; t++) for (let j = 0; j < I; j++) gu[t * 2 * I + j] *= 12;
        const got = await run(k, T, I, gu);
        expect(maxScaledDiff(got, gluRef(gu, T, I, 'silu', false)), `T=${T} I=${I}`).toBeLessThan(1e-6);
      }
    });
  }

  it('folds more than 65535 workgroups into a second grid dimension', async () => {
    const [T, I] = [2, 65535 * 16 + 77]; // > 65535 workgroups of 32 threads
    const k = await GluKernel.create(gpu, { activation: 'silu', activated: 'first', workgroupSize: 32 });
    const gu = randomF32(T * 2 * I, 3);
    expect(maxScaledDiff(await run(k, T, I, gu), gluRef(gu, T, I, 'silu', false))).toBeLessThan(1e-6);
  });

  it('stays finite for huge activated inputs (no exp overflow)', async () => {
    const big = [1e30, -1e30, 3e38, -3e38, 88.8, -88.8, 100, -100, 0, -0];
    const I = big.length;
    for (const activation of ['silu', 'gelu', 'gelu_tanh'] as const) {
      const k = await GluKernel.create(gpu, { activation, activated: 'first' });
      const gu = new Float32Array(2 * I);
      big.forEach((g, j) => {
        gu[j] = g;
        gu[I + j] = 0.5;
      });
      const got = await run(k, 1, I, gu);
      big.forEach((g, j) => {
        const want = g > 0 ? 0.5 * g : 0; // act(g) → g for large g, → 0 for very negative g
        expect(Number.isFinite(got[j]), `${activation}(${g})`).toBe(true);
        expect(Math.abs(got[j] - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-6 + 1e-30);
      });
    }
  });

  it('refuses out aliasing gateUp and undersized buffers', async () => {
    const k = await GluKernel.create(gpu, { activation: 'gelu', activated: 'first' });
    const b = gpu.storage(64, 'b');
    expect(() => k.bind({ gateUp: b, out: b })).toThrow(/may not be gateUp/);
    expect(() => k.bind({ gateUp: b, out: gpu.storage(64, 'o') }).update({ tokens: 1000, inter: 64 })).toThrow(/holds/);
  });
});
