import { describe, expect, it } from 'vitest';
import { POOL_MODE, PoolKernel, poolModes, type PoolMode } from './pool';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32 } from '../../test/helpers/random';

function cumulative(lens: readonly number[]): Uint32Array {
  const cu = new Uint32Array(lens.length + 1);
  lens.forEach((l, i) => (cu[i + 1] = cu[i] + l));
  return cu;
}

function poolRef(x: Float32Array, cu: Uint32Array, modes: readonly PoolMode[], h: number): Float64Array {
  const out = new Float64Array(modes.length * h);
  modes.forEach((mode, b) => {
    const start = cu[b];
    const end = cu[b + 1];
    const len = end - start;
    if (len === 0) return;
    for (let c = 0; c < h; c++) {
      const col = Array.from({ length: len }, (_, i) => x[(start + i) * h + c]);
      const sum = col.reduce((a, v) => a + v, 0);
      out[b * h + c] =
        mode === 'cls' ? col[0] :
        mode === 'last' ? col[len - 1] :
        mode === 'max' ? Math.max(...col) :
        mode === 'mean' ? sum / len :
        sum / Math.sqrt(len);
    }
  });
  return out;
}

describe('pool', async () => {
  const gpu = await testGpu();
  const all: PoolMode[] = ['cls', 'mean', 'max', 'last', 'mean_sqrt_len'];
  // Very different lengths, an empty segment, and a single one-token batch.
  const batches: number[][] = [[1], [1, 7, 0, 33, 2], [40, 1, 17, 2, 5, 3]];

  async function runPool(k: PoolKernel, lens: number[], modes: PoolMode[], h: number, seed: number) {
    const cu = cumulative(lens);
    const t = cu[lens.length];
    const x = randomF32(Math.max(1, t * h), seed, 3);
    const bufs = {
      hidden: gpu.upload(x, 'hidden'),
      cuSeqLens: gpu.upload(cu, 'cu'),
      modes: gpu.upload(poolModes(modes), 'modes'),
      // Pre-filled with garbage so that an unwritten (empty) row shows up.
      out: gpu.upload(new Float32Array(modes.length * h).fill(7), 'out'),
    };
    await gpu.run([k.bind(bufs).update({ batch: lens.length, hidden: h })]);
    const got = new Float32Array(await gpu.read(bufs.out, modes.length * h * 4));
    return { got, want: poolRef(x, cu, modes, h) };
  }

  for (const wg of [32, 64, 128]) {
    for (const h of [1, 13, 64, 130]) {
      for (const mode of all) {
        for (const lens of batches) {
          it(`wg=${wg} h=${h} ${mode} lens=[${lens}]`, async () => {
            const k = await PoolKernel.create(gpu, { workgroupSize: wg });
            const { got, want } = await runPool(k, lens, lens.map(() => mode), h, wg + h + lens.length);
            expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
          });
        }
      }
      it(`wg=${wg} h=${h} mixed modes per sequence`, async () => {
        const lens = [3, 1, 9, 0, 4, 12, 2];
        const modes: PoolMode[] = ['last', 'mean', 'max', 'mean', 'cls', 'mean_sqrt_len', 'last'];
        const k = await PoolKernel.create(gpu, { workgroupSize: wg });
        const { got, want } = await runPool(k, lens, modes, h, 99 + h);
        expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
      });
    }
  }

  it('mode values match the WGSL constants', () => {
    expect(POOL_MODE).toEqual({ cls: 0, mean: 1, max: 2, last: 3, mean_sqrt_len: 4 });
  });

  it('writes zeros for an unknown mode', async () => {
    const k = await PoolKernel.create(gpu);
    const h = 5;
    const bufs = {
      hidden: gpu.upload(randomF32(2 * h, 3), 'hidden'),
      cuSeqLens: gpu.upload(new Uint32Array([0, 2]), 'cu'),
      modes: gpu.upload(new Uint32Array([9]), 'modes'),
      out: gpu.upload(new Float32Array(h).fill(7), 'out'),
    };
    await gpu.run([k.bind(bufs).update({ batch: 1, hidden: h })]);
    expect(Array.from(new Float32Array(await gpu.read(bufs.out, h * 4)))).toEqual([0, 0, 0, 0, 0]);
  });
});
