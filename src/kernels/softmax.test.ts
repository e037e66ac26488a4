import { describe, expect, it } from 'vitest';
import { SoftmaxKernel, type SoftmaxShape } from './softmax';
import { reductionsOf, type Reduction } from './reduction';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32 } from '../../test/helpers/random';

const SENTINEL = 7;

function softmaxRef(x: Float32Array, s: SoftmaxShape, totalRows: number): Float64Array {
  const out = new Float64Array(totalRows * s.n).fill(SENTINEL);
  for (let r = s.rowOffset; r < s.rowOffset + s.rows; r++) {
    const row = Array.from(x.subarray(r * s.n, (r + 1) * s.n));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, v) => a + v, 0);
    e.forEach((v, i) => (out[r * s.n + i] = v / sum));
  }
  return out;
}

describe('softmax', async () => {
  const gpu = await testGpu();

  async function check(s: SoftmaxShape, wg: number, x: Float32Array, reduction: Reduction = 'workgroup') {
    const totalRows = s.rowOffset + s.rows + 1; // the row after the range must stay untouched
    const k = await SoftmaxKernel.create(gpu, { workgroupSize: wg, reduction });
    const bufs = { x: gpu.upload(x, 'x'), out: gpu.upload(new Float32Array(totalRows * s.n).fill(SENTINEL), 'out') };
    await gpu.run([k.bind(bufs).update(s)]);
    const got = new Float32Array(await gpu.read(bufs.out, totalRows * s.n * 4));
    expect(maxAbsDiff(got, softmaxRef(x, s, totalRows))).toBeLessThan(1e-6);
  }

  const shapes: SoftmaxShape[] = [
    { rows: 1, rowOffset: 0, n: 1 },
    { rows: 1, rowOffset: 0, n: 2 },
    { rows: 3, rowOffset: 2, n: 7 },
    { rows: 17, rowOffset: 0, n: 65 },
    { rows: 2, rowOffset: 5, n: 1000 },
  ];
  for (const reduction of reductionsOf(gpu)) {
    for (const wg of [1, 32, 64, 256]) {
      for (const s of shapes) {
        it(`${reduction} wg=${wg} ${JSON.stringify(s)}`, () => {
          const total = (s.rowOffset + s.rows + 1) * s.n;
          return check(s, wg, randomF32(total, s.n * 7 + s.rows + wg, 4), reduction);
        });
      }
    }

    it(`${reduction}: large logits do not overflow (max subtracted)`, async () => {
      const s = { rows: 2, rowOffset: 0, n: 3 };
      await check(s, 32, new Float32Array([1000, 999, -1000, 88.8, 89, 90, 0, 0, 0]), reduction);
    });

    it(`${reduction}: the max is found wherever it sits among the subgroups`, async () => {
      // One big logit per row, at a different lane each time: a wrong subgroup max would leak mass.
      const n = 256;
      const x = new Float32Array(4 * n).fill(-5);
      [0, 3, 129, 255].forEach((at, r) => (x[r * n + at] = 60));
      await check({ rows: 3, rowOffset: 0, n }, 64, x, reduction);
    });
  }
});
