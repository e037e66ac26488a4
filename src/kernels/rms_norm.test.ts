import { describe, expect, it } from 'vitest';
import { RmsNormKernel } from './rms_norm';
import { reductionsOf } from './reduction';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32 } from '../../test/helpers/random';

/** float64 reference; unitOffset scales by 1 + w (Gemma), residual is added after the scaling. */
function rmsNormRef(x: Float32Array, w: Float32Array, rows: number, n: number, eps: number, unitOffset = false, residual?: Float32Array): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let q = 0;
    for (let i = 0; i < n; i++) q += x[r * n + i] ** 2;
    const inv = 1 / Math.sqrt(q / n + eps);
    for (let i = 0; i < n; i++) y[r * n + i] = x[r * n + i] * inv * (unitOffset ? 1 + w[i] : w[i]) + (residual ? residual[r * n + i] : 0);
  }
  return y;
}

describe('rms_norm', async () => {
  const gpu = await testGpu();
  const shapes: [number, number][] = [[1, 1], [1, 64], [3, 7], [17, 384], [5, 1000], [2, 129]];
  const variants = [
    ...reductionsOf(gpu).flatMap((reduction) => [32, 64, 128, 256].map((wg) => ['workgroup', wg, reduction] as const)),
    ['thread', 1, 'workgroup'],
    ['thread', 64, 'workgroup'],
  ] as const;
  for (const [schedule, wg, reduction] of variants) {
    for (const [rows, n] of shapes) {
      it(`${schedule} ${schedule === 'workgroup' ? reduction : ''} wg=${wg} rows=${rows} n=${n}`, async () => {
        const seed = rows * 1000 + n + wg;
        // Per-row scales differ, so a row mix-up changes the result.
        const x = randomF32(rows * n, seed, 2, 0.5);
        for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) x[r * n + i] *= 1 + r;
        const w = randomF32(n, seed + 1, 0.5, 1);
        const eps = 1e-6;
        const k = await RmsNormKernel.create(gpu, { workgroupSize: wg, schedule, reduction });
        expect(k.reduction).toBe(reduction);
        const bufs = { x: gpu.upload(x, 'x'), w: gpu.upload(w, 'w'), y: gpu.storage(rows * n * 4, 'y') };
        await gpu.run([k.bind(bufs).update({ rows, n, eps })]);
        const got = new Float32Array(await gpu.read(bufs.y, rows * n * 4));
        expect(maxAbsDiff(got, rmsNormRef(x, w, rows, n, eps))).toBeLessThan(1e-5);
      });
    }
  }

  // Gemma3RMSNorm: (1 + w) with weights near 0, and the residual add of its sandwich norms.
  for (const [schedule, wg] of [['workgroup', 64], ['thread', 1], ['thread', 64]] as const) {
    for (const [unitOffset, residual] of [[true, false], [false, true], [true, true]] as const) {
      it(`${schedule} wg=${wg} unitOffset=${unitOffset} residual=${residual}`, async () => {
        const k = await RmsNormKernel.create(gpu, { workgroupSize: wg, schedule, unitOffset, residual });
        for (const [rows, n] of [[1, 1], [3, 7], [17, 384], [2, 129]] as const) {
          const seed = rows * 31 + n;
          const x = randomF32(rows * n, seed, 3, 0.2);
          const w = randomF32(n, seed + 1, 0.3);
          const res = randomF32(rows * n, seed + 2, 5);
          const bufs = { x: gpu.upload(x, 'x'), residual: residual ? gpu.upload(res, 'res') : undefined, w: gpu.upload(w, 'w'), y: gpu.storage(rows * n * 4, 'y') };
          await gpu.run([k.bind(bufs).update({ rows, n, eps: 1e-6 })]);
          const got = new Float32Array(await gpu.read(bufs.y, rows * n * 4));
          expect(maxAbsDiff(got, rmsNormRef(x, w, rows, n, 1e-6, unitOffset, residual ? res : undefined)), `rows=${rows} n=${n}`).toBeLessThan(1e-5);
        }
      });
    }
  }

  it('refuses a residual kernel bound without a residual buffer', async () => {
    const k = await RmsNormKernel.create(gpu, { residual: true });
    const b = gpu.storage(64, 'b');
    expect(() => k.bind({ x: b, w: b, y: gpu.storage(64, 'y') })).toThrow(/residual/);
  });

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
