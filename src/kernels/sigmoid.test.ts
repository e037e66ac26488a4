import { describe, expect, it } from 'vitest';
import { elementwiseGrid, SigmoidKernel, type SigmoidShape } from './sigmoid';
import { testGpu } from '../../test/helpers/gpu';
import { randomF32 } from '../../test/helpers/random';

const SENTINEL = 7;

function sigmoidRef(x: Float32Array, s: SigmoidShape): Float64Array {
  const out = new Float64Array(x.length).fill(SENTINEL);
  for (let i = s.offset; i < s.offset + s.count; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
  return out;
}

/** Max relative error (outputs range over many magnitudes near 0). */
function maxRelDiff(got: Float32Array, want: Float64Array): number {
  let m = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-30);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

describe('sigmoid', async () => {
  const gpu = await testGpu();

  async function check(s: SigmoidShape, x: Float32Array, opts: { workgroupSize: number; gridWidth?: number }) {
    const k = await SigmoidKernel.create(gpu, opts);
    const bufs = { x: gpu.upload(x, 'x'), out: gpu.upload(new Float32Array(x.length).fill(SENTINEL), 'out') };
    await gpu.run([k.bind(bufs).update(s)]);
    const got = new Float32Array(await gpu.read(bufs.out, x.length * 4));
    expect(maxRelDiff(got, sigmoidRef(x, s))).toBeLessThan(1e-5);
  }

  const shapes: SigmoidShape[] = [
    { count: 1, offset: 0 },
    { count: 7, offset: 3 },
    { count: 64, offset: 0 },
    { count: 1013, offset: 11 },
  ];
  for (const wg of [1, 32, 64, 256]) {
    for (const s of shapes) {
      it(`wg=${wg} ${JSON.stringify(s)}`, () =>
        check(s, randomF32(s.offset + s.count + 2, s.count + wg, 12), { workgroupSize: wg }));
    }
  }

  it('wraps a long grid into y (row-major) without gaps or repeats', () =>
    check({ count: 1000, offset: 5 }, randomF32(1010, 5, 12), { workgroupSize: 32, gridWidth: 7 }));

  it('is stable for large |x|', () =>
    check({ count: 8, offset: 0 }, new Float32Array([-100, -88, -30, -1e-8, 0, 30, 88, 1000]), { workgroupSize: 32 }));

  it('grid geometry', () => {
    expect(elementwiseGrid(0, 64, 65535)).toEqual([0, 1]);
    expect(elementwiseGrid(65, 64, 65535)).toEqual([2, 1]);
    expect(elementwiseGrid(64 * 65535 + 1, 64, 65535)).toEqual([65535, 2]);
  });
});
