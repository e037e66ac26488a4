// The dtype conversions of the byte transport against a reference written differently: the nearest
// representable value found by searching the grid of each format in float64 (ties to the even
// code), not by bit manipulation.
import { describe, expect, it } from 'vitest';
import { bytesBody, decodeNumbers, encodeNumbers, toBfloat16Bits, toFloat16Bits, toFp8E4m3Bits, toFp8E5m2Bits, type EmbedDType } from './encoding';

interface Format {
  E: number;
  M: number;
  /** Largest finite value. */
  max: number;
}

const FORMATS: Record<'float16' | 'bfloat16' | 'fp8_e4m3' | 'fp8_e5m2', Format> = {
  float16: { E: 5, M: 10, max: 65504 },
  bfloat16: { E: 8, M: 7, max: 3.3895313892515355e38 },
  fp8_e4m3: { E: 4, M: 3, max: 448 },
  fp8_e5m2: { E: 5, M: 2, max: 57344 },
};

/** Round |x| to the format by searching its grid in float64; ties go to the even mantissa. */
function reference(x: number, f: Format): number {
  const a = Math.abs(x);
  const bias = 2 ** (f.E - 1) - 1;
  const minExp = 1 - bias;
  // The grid spacing at a's binade (subnormals share the smallest normal binade's spacing).
  const e = Math.max(minExp, a === 0 ? minExp : Math.floor(Math.log2(a)));
  let exp = e;
  // log2 may be off by one at binade edges: fix it.
  while (exp > minExp && 2 ** exp > a) exp--;
  while (2 ** (exp + 1) <= a) exp++;
  const ulp = 2 ** (exp - f.M);
  const lo = Math.floor(a / ulp) * ulp;
  const hi = lo + ulp;
  let r: number;
  if (a - lo < hi - a) r = lo;
  else if (hi - a < a - lo) r = hi;
  else r = Math.round(lo / ulp) % 2 === 0 ? lo : hi;
  return x < 0 || Object.is(x, -0) ? -r : r;
}

function samples(): number[] {
  const xs = [0, -0, 1, -1, 0.5, 1 / 3, -2 / 3, 1e-3, -1e-3, 6e-8, 3e-8, 1e-10, 65504, 65519, 300, 447, 449, 460, 464, 0.015625, 0.0009765625];
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 3000; i++) xs.push((rnd() * 2 - 1) * 10 ** (rnd() * 10 - 8));
  // Exact ties between neighbours of each format, to test ties-to-even.
  for (const f of Object.values(FORMATS)) for (let k = 1; k < 40; k++) xs.push((1 + (k + 0.5) / 2 ** f.M) * 2 ** -3, (1 + (k + 0.5) / 2 ** f.M) * 2 ** -1);
  return xs.map((x) => Math.fround(x));
}

const decodeOne = (bits: number, dtype: EmbedDType) => {
  const bytes = dtype.startsWith('fp8') ? new Uint8Array([bits]) : new Uint8Array([bits & 0xff, bits >> 8]);
  return decodeNumbers(bytes, dtype, 'little')[0];
};

describe('embed_dtype conversions round to nearest even, like torch .to(dtype)', () => {
  const encoders = { float16: toFloat16Bits, bfloat16: toBfloat16Bits, fp8_e4m3: toFp8E4m3Bits, fp8_e5m2: toFp8E5m2Bits } as const;
  for (const [dtype, f] of Object.entries(FORMATS) as [keyof typeof FORMATS, Format][]) {
    it(`${dtype}: every sample decodes to the grid-search reference`, () => {
      let checked = 0;
      for (const x of samples()) {
        const want = reference(x, f);
        if (Math.abs(want) > f.max) continue; // overflow is tested below
        const got = decodeOne(encoders[dtype](x), dtype);
        if (got !== want && !(got === 0 && want === 0)) throw new Error(`${dtype}(${x}) = ${got}, want ${want}`);
        checked++;
      }
      expect(checked).toBeGreaterThan(2000);
    });
  }

  it('overflows as torch does: float16 / bfloat16 / e5m2 to ±inf, e4m3fn to NaN', () => {
    expect(decodeOne(toFloat16Bits(70000), 'float16')).toBe(Infinity);
    expect(decodeOne(toFloat16Bits(-1e6), 'float16')).toBe(-Infinity);
    expect(decodeOne(toFloat16Bits(65519), 'float16')).toBe(65504);
    expect(decodeOne(toFp8E5m2Bits(1e5), 'fp8_e5m2')).toBe(Infinity);
    expect(decodeOne(toFp8E4m3Bits(500), 'fp8_e4m3')).toBeNaN();
    expect(decodeOne(toFp8E4m3Bits(464), 'fp8_e4m3')).toBe(448); // the tie goes to the even code
    expect(decodeOne(toFp8E4m3Bits(Infinity), 'fp8_e4m3')).toBeNaN();
    expect(decodeOne(toBfloat16Bits(NaN), 'bfloat16')).toBeNaN();
    expect(decodeOne(toFloat16Bits(NaN), 'float16')).toBeNaN();
    expect(decodeOne(toBfloat16Bits(3.4e38), 'bfloat16')).toBe(Infinity);
  });

  it('writes big-endian when asked and keeps float32 exact', () => {
    const v = Float32Array.from([1, -2.5, 0.1]);
    const le = encodeNumbers(v, 'float16', 'little');
    const be = encodeNumbers(v, 'float16', 'big');
    expect(Array.from(be)).toEqual([le[1], le[0], le[3], le[2], le[5], le[4]]);
    expect(Array.from(decodeNumbers(encodeNumbers(v, 'float32', 'big'), 'float32', 'big'))).toEqual(Array.from(v));
  });

  it('lays out a bytes body as vLLM does: outputs back to back, with start/end/shape', () => {
    const rows = [Float32Array.from([1, 2]), Float32Array.from([3, 4])];
    const { body, items } = bytesBody([Float32Array.from([1, 2, 3]), rows], 'bfloat16', 'native');
    expect(body.byteLength).toBe(14);
    expect(items).toEqual([
      { index: 0, embed_dtype: 'bfloat16', endianness: 'native', start: 0, end: 6, shape: [3] },
      { index: 1, embed_dtype: 'bfloat16', endianness: 'native', start: 6, end: 14, shape: [2, 2] },
    ]);
    expect(Array.from(decodeNumbers(body.subarray(6, 14), 'bfloat16', 'native'))).toEqual([1, 2, 3, 4]);
  });
});
