import { describe, expect, it } from 'vitest';
import { binaryFromUbinary, QuantizeBitsKernel, quantizedBytes, ubinaryRow, type QuantizeBitsShape } from './quantize_bits';
import { testGpu } from '../../test/helpers/gpu';
import { randomF32 } from '../../test/helpers/random';

/** numpy.packbits(x[:, :D] > 0, axis=-1): MSB first, the last byte zero-padded. */
function packbitsRef(x: Float32Array, s: QuantizeBitsShape): Uint8Array[] {
  const rows: Uint8Array[] = [];
  for (let r = 0; r < s.rows; r++) {
    const bytes = new Uint8Array(Math.ceil(s.dims / 8));
    for (let c = 0; c < s.dims; c++) if (x[r * s.inStride + c] > 0) bytes[c >> 3] |= 0x80 >> (c & 7);
    rows.push(bytes);
  }
  return rows;
}

describe('quantize_bits', async () => {
  const gpu = await testGpu();

  async function check(s: QuantizeBitsShape, x: Float32Array, opts: { workgroupSize: number; gridWidth?: number }) {
    const k = await QuantizeBitsKernel.create(gpu, opts);
    const bytes = quantizedBytes(s.rows, s.dims);
    // Garbage in the output proves every byte, padding included, is written.
    const bufs = { x: gpu.upload(x, 'x'), out: gpu.upload(new Uint8Array(bytes).fill(0xa5), 'out') };
    await gpu.run([k.bind(bufs).update(s)]);
    const got = new Uint8Array(await gpu.read(bufs.out, bytes));
    const want = packbitsRef(x, s);
    for (let r = 0; r < s.rows; r++) expect(Array.from(ubinaryRow(got, s.dims, r)), `row ${r}`).toEqual(Array.from(want[r]));
    const used = s.rows * Math.ceil(s.dims / 8);
    expect(Array.from(got.subarray(used)), 'tail of the last word').toEqual(new Array(bytes - used).fill(0));
  }

  const shapes: QuantizeBitsShape[] = [
    { rows: 1, dims: 1, inStride: 1 },
    { rows: 1, dims: 8, inStride: 8 },
    { rows: 3, dims: 7, inStride: 7 },
    { rows: 5, dims: 13, inStride: 20 },
    { rows: 2, dims: 384, inStride: 384 },
    { rows: 7, dims: 131, inStride: 137 },
    { rows: 4, dims: 1024, inStride: 1024 },
  ];
  for (const wg of [1, 32, 64, 256]) {
    for (const s of shapes) {
      it(`wg=${wg} ${JSON.stringify(s)}`, () =>
        check(s, randomF32(s.rows * s.inStride, s.rows * 101 + s.dims + wg), { workgroupSize: wg }));
    }
  }

  it('wraps a long grid into y', () => {
    const s = { rows: 9, dims: 77, inStride: 80 };
    return check(s, randomF32(9 * 80, 4), { workgroupSize: 1, gridWidth: 5 });
  });

  // Denormals are left out: GPUs may flush them to zero before the compare.
  it('zero, negative zero and NaN pack as 0; tiny positives as 1', () => {
    const x = new Float32Array([0, -0, NaN, 1e-30, -1e-30, 5, -5, 0, 2e-38]);
    return check({ rows: 1, dims: 9, inStride: 9 }, x, { workgroupSize: 32 });
  });

  it('binary is ubinary − 128 as int8', () => {
    expect(Array.from(binaryFromUbinary(new Uint8Array([0, 127, 128, 255])))).toEqual([-128, -1, 0, 127]);
  });
});
