import { describe, expect, it } from 'vitest';
import { RmsNormKernel } from './rms_norm';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32 } from '../../test/helpers/random';

function rmsNormRef(x: Float32Array, w: Float32Array, rows: number, n: number, eps: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let q = 0;
    for (let i = 0; i < n; i++) q += x[r * n + i] ** 2;
    const inv = 1 / Math.sqrt(q / n + eps);
    for (let i = 0; i < n; i++) y[r * n + i] = x[r * n + i] * inv * w[i];
  }
  return y;
}

describe('rms_norm', async () => {
  const gpu = await testGpu();
  const shapes: [number, number][] = [[1, 1], [1, 64], [3, 7], [17, 384], [5, 1000], [2, 129]];
  for (const [schedule, wg] of [['workgroup', 32], ['workgroup', 64], ['workgroup', 128], ['workgroup', 256], ['thread', 1], ['thread', 64]] as const) {
    for (const [rows, n] of shapes) {
      it(`${schedule} wg=${wg} rows=${rows} n=${n}`, async () => {
        const seed = rows * 1000 + n + wg;
        // Per-row scales differ, so a row mix-up changes the result.
        const x = randomF32(rows * n, seed, 2, 0.5);
        for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) x[r * n + i] *= 1 + r;
        const w = randomF32(n, seed + 1, 0.5, 1);
        const eps = 1e-6;
        const k = await RmsNormKernel.create(gpu, { workgroupSize: wg, schedule });
        const bufs = { x: gpu.upload(x, 'x'), w: gpu.upload(w, 'w'), y: gpu.storage(rows * n * 4, 'y') };
        await gpu.run([k.bind(bufs).update({ rows, n, eps })]);
        const got = new Float32Array(await gpu.read(bufs.y, rows * n * 4));
        expect(maxAbsDiff(got, rmsNormRef(x, w, rows, n, eps))).toBeLessThan(1e-5);
      });
    }
  }

  it('eps dominates an all-zero row', async () => {
    const n = 5;
    const x = new Float32Array(n);
    const w = new Float32Array(n).fill(1);
    const k = await RmsNormKernel.create(gpu);
    const bufs = { x: gpu.upload(x, 'x'), w: gpu.upload(w, 'w'), y: gpu.storage(n * 4, 'y') };
    await gpu.run([k.bind(bufs).update({ rows: 1, n, eps: 1e-6 })]);
    expect(Array.from(new Float32Array(await gpu.read(bufs.y, n * 4)))).toEqual([0, 0, 0, 0, 0]);
  });

  it('rejects a workgroup size that is not a power of two', async () => {
    await expect(RmsNormKernel.create(gpu, { workgroupSize: 48 })).rejects.toThrow(/power of two/);
  });
});
