import { describe, expect, it } from 'vitest';
import { SiluMulKernel } from './silu_mul';
import { testGpu } from '../../test/helpers/gpu';
import { randomF32 } from '../../test/helpers/random';

function siluMulRef(gu: Float32Array, T: number, I: number): Float64Array {
  const out = new Float64Array(T * I);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < I; j++) {
      const g = gu[t * 2 * I + j];
      out[t * I + j] = (g / (1 + Math.exp(-g))) * gu[t * 2 * I + I + j];
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

describe('silu_mul', async () => {
  const gpu = await testGpu();

  async function runCase(T: number, I: number, wg: number | undefined, gu: Float32Array): Promise<Float32Array> {
    const k = await SiluMulKernel.create(gpu, { workgroupSize: wg });
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

  const shapes: [number, number][] = [[1, 1], [3, 7], [17, 129], [5, 1000], [2, 3072], [64, 33]];
  for (const wg of [32, 64, 128, 256]) {
    for (const [T, I] of shapes) {
      it(`wg=${wg} T=${T} I=${I}`, async () => {
        // Gates over [-12, 12] reach sigmoid's flat tails; ups in [-1, 1].
        const gu = randomF32(T * 2 * I, T * 7919 + I + wg);
        for (let t = 0; t < T; t++) for (let j = 0; j < I; j++) gu[t * 2 * I + j] *= 12;
        const got = await runCase(T, I, wg, gu);
        expect(maxScaledDiff(got, siluMulRef(gu, T, I))).toBeLessThan(1e-6);
      });
    }
  }

  it('stays finite for huge gates (no exp overflow)', async () => {
    const gates = [1e30, -1e30, 3e38, -3e38, 88.8, -88.8, 100, -100, 0, -0];
    const I = gates.length;
    const gu = new Float32Array(2 * I);
    gates.forEach((g, j) => {
      gu[j] = g;
      gu[I + j] = 0.5;
    });
    const got = await runCase(1, I, 64, gu);
    const want = siluMulRef(gu, 1, I);
    for (let j = 0; j < I; j++) {
      expect(Number.isFinite(got[j]), `silu(${gates[j]})·0.5 = ${got[j]}`).toBe(true);
      expect(Math.abs(got[j] - want[j])).toBeLessThanOrEqual(1e-6 * Math.abs(want[j]) + 1e-30);
    }
  });

  it('folds more than 65535 workgroups into a second grid dimension', async () => {
    const T = 2;
    const I = 65535 * 16 + 77; // > 65535 workgroups of 32 threads
    const gu = randomF32(T * 2 * I, 3);
    const got = await runCase(T, I, 32, gu);
    expect(maxScaledDiff(got, siluMulRef(gu, T, I))).toBeLessThan(1e-6);
  });

  it('rejects out aliasing gateUp and too-small buffers', async () => {
    const k = await SiluMulKernel.create(gpu);
    const buf = gpu.storage(256, 'b');
    expect(() => k.bind({ gateUp: buf, out: buf })).toThrow(/out may not be gateUp/);
    const d = k.bind({ gateUp: buf, out: gpu.storage(256, 'o') });
    expect(() => d.update({ tokens: 4, inter: 16 })).toThrow(/gateUp holds 256 bytes, needs 512/);
    d.destroy();
  });
});
