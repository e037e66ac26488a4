import { describe, expect, it } from 'vitest';
import { L2NormalizeKernel, type L2NormalizeShape } from './l2_normalize';
import { reductionsOf, type Reduction } from './reduction';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32 } from '../../test/helpers/random';

const SENTINEL = 7;

/** Expected out buffer: untouched cells keep SENTINEL. */
function l2Ref(x: Float32Array, s: L2NormalizeShape, outRows: number, normalize: boolean): Float64Array {
  const out = new Float64Array(outRows * s.outStride).fill(SENTINEL);
  for (let r = s.rowOffset; r < s.rowOffset + s.rows; r++) {
    let q = 0;
    for (let i = 0; i < s.dims; i++) q += x[r * s.inStride + i] ** 2;
    const scale = normalize ? 1 / Math.max(Math.sqrt(q), 1e-12) : 1;
    for (let i = 0; i < s.dims; i++) out[r * s.outStride + i] = x[r * s.inStride + i] * scale;
  }
  return out;
}

describe('l2_normalize', async () => {
  const gpu = await testGpu();

  async function check(s: L2NormalizeShape, wg: number, normalize: boolean, x?: Float32Array, reduction: Reduction = 'workgroup') {
    const totalRows = s.rowOffset + s.rows + 1; // one row past the range must stay untouched
    x ??= randomF32(totalRows * s.inStride, s.rows * 31 + s.dims + wg, 2, 0.3);
    const k = await L2NormalizeKernel.create(gpu, { normalize, workgroupSize: wg, reduction });
    const bufs = { x: gpu.upload(x, 'x'), out: gpu.upload(new Float32Array(totalRows * s.outStride).fill(SENTINEL), 'out') };
    await gpu.run([k.bind(bufs).update(s)]);
    const got = new Float32Array(await gpu.read(bufs.out, totalRows * s.outStride * 4));
    expect(maxAbsDiff(got, l2Ref(x, s, totalRows, normalize))).toBeLessThan(1e-6);
  }

  const shapes: L2NormalizeShape[] = [
    { rows: 1, rowOffset: 0, dims: 1, inStride: 1, outStride: 1 },
    { rows: 3, rowOffset: 0, dims: 7, inStride: 7, outStride: 7 },
    { rows: 5, rowOffset: 2, dims: 384, inStride: 384, outStride: 384 },
    // Matryoshka: truncate 1024 → 257 / 64 columns, out stride wider or exactly dims.
    { rows: 4, rowOffset: 1, dims: 257, inStride: 1024, outStride: 300 },
    { rows: 2, rowOffset: 3, dims: 64, inStride: 131, outStride: 64 },
  ];
  for (const reduction of reductionsOf(gpu)) {
    for (const wg of [32, 64, 128, 256]) {
      for (const normalize of [true, false]) {
        for (const s of shapes) {
          it(`${reduction} wg=${wg} normalize=${normalize} ${JSON.stringify(s)}`, () => check(s, wg, normalize, undefined, reduction));
        }
      }
    }
  }

  it('a zero row stays zero (norm clamped at 1e-12)', async () => {
    const s = { rows: 2, rowOffset: 0, dims: 5, inStride: 5, outStride: 5 };
    const x = new Float32Array(15);
    x.set([3, 4, 0, 0, 0], 5);
    await check(s, 64, true, x);
  });

  it('rejects dims wider than a stride', async () => {
    const k = await L2NormalizeKernel.create(gpu, { normalize: true });
    const b = k.bind({ x: gpu.storage(64, 'x'), out: gpu.storage(64, 'out') });
    expect(() => b.update({ rows: 1, rowOffset: 0, dims: 9, inStride: 8, outStride: 16 })).toThrow(/exceeds/);
  });
});
