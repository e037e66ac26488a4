import { describe, expect, it } from 'vitest';
import { LayerNormKernel } from './layer_norm';
import { reductionsOf } from './reduction';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32 } from '../../test/helpers/random';

function layerNormRef(x: Float32Array, r: Float32Array | null, g: Float32Array, b: Float32Array, rows: number, n: number, eps: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let row = 0; row < rows; row++) {
    const v = Array.from({ length: n }, (_, i) => x[row * n + i] + (r ? r[row * n + i] : 0));
    const mean = v.reduce((a, c) => a + c, 0) / n;
    const variance = v.reduce((a, c) => a + (c - mean) ** 2, 0) / n;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < n; i++) y[row * n + i] = (v[i] - mean) * inv * g[i] + b[i];
  }
  return y;
}

describe('layer_norm', async () => {
  const gpu = await testGpu();
  const shapes: [number, number][] = [[1, 1], [1, 64], [3, 7], [17, 384], [5, 1000], [2, 129]];
  // Every reduction the device has (workgroup tree; subgroups on SwiftShader, lavapipe, GPUs).
  const variants = [
    ...reductionsOf(gpu).flatMap((reduction) => [32, 64, 128, 256].map((wg) => ['workgroup', wg, reduction] as const)),
    ['thread', 1, 'workgroup'],
    ['thread', 64, 'workgroup'],
  ] as const;
  for (const [schedule, wg, reduction] of variants) {
    for (const residual of [false, true]) {
      for (const [rows, n] of shapes) {
        it(`${schedule} ${schedule === 'workgroup' ? reduction : ''} wg=${wg} residual=${residual} rows=${rows} n=${n}`, async () => {
          const seed = rows * 1000 + n + wg + (residual ? 7 : 0);
          // An offset mean checks the two-pass variance.
          const x = randomF32(rows * n, seed, 1, 3);
          const r = randomF32(rows * n, seed + 1);
          const g = randomF32(n, seed + 2, 0.1, 1);
          const b = randomF32(n, seed + 3, 0.1);
          const eps = 1e-12;
          const k = await LayerNormKernel.create(gpu, { workgroupSize: wg, residual, schedule, reduction });
          expect(k.reduction).toBe(reduction);
          const bufs = { x: gpu.upload(x, 'x'), residual: gpu.upload(r, 'r'), gamma: gpu.upload(g, 'g'), beta: gpu.upload(b, 'b'), y: gpu.storage(rows * n * 4, 'y') };
          const d = k.bind(bufs).update({ rows, n, eps });
          await gpu.run([d]);
          const got = new Float32Array(await gpu.read(bufs.y, rows * n * 4));
          const want = layerNormRef(x, residual ? r : null, g, b, rows, n, eps);
          expect(maxAbsDiff(got, want)).toBeLessThan(n === 1 ? 1e-5 : 2e-5);
        });
      }
    }
  }
});
