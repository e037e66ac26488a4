// f32 / bfloat16 → f16 bits against an exhaustive check: every one of the 65536 half patterns, and
// the midpoints between neighbouring halves (round to nearest, ties to even).
import { describe, expect, it } from 'vitest';
import { bf16ToHalf, f32ToHalf, halfBits, halfToF32, HALF_MAX, roundToHalf } from './half';
import { parseSafetensors, toStorageDtype } from './safetensors';

describe('f16 conversion', () => {
  it('every half value converts to itself (normals, subnormals, ±0, ±inf)', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = halfToF32(h);
      const ok = Number.isNaN(v) ? (halfBits(v) & 0x7c00) === 0x7c00 && (halfBits(v) & 0x3ff) !== 0 : halfBits(v) === h;
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest, ties to even, between every pair of neighbouring finite halves', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const lo = halfToF32(h);
      const hi = halfToF32(h + 1);
      const mid = (lo + hi) / 2; // exact in f32 (halves have 11 significant bits)
      const even = h % 2 === 0 ? h : h + 1;
      const ok =
        halfBits(mid) === even &&
        halfBits(Math.fround(mid + (hi - lo) / 64)) === h + 1 &&
        halfBits(Math.fround(mid - (hi - lo) / 64)) === h &&
        halfBits(-mid) === (even | 0x8000);
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('overflow past 65504 is reported, tiny values go to zero', () => {
    expect(f32ToHalf(Float32Array.of(1, HALF_MAX, -2)).overflowAt).toBe(-1);
    expect(f32ToHalf(Float32Array.of(1, 70000)).overflowAt).toBe(1);
    expect(f32ToHalf(Float32Array.of(Infinity)).overflowAt).toBe(-1); // already infinite: not an overflow
    expect(halfBits(1e-9)).toBe(0);
    expect(halfBits(-1e-9)).toBe(0x8000);
    expect(Array.from(roundToHalf(Float32Array.of(0.1, 1 / 3)))).toEqual([halfToF32(halfBits(0.1)), halfToF32(halfBits(1 / 3))]);
  });

  it('bfloat16 converts like its f32 value', () => {
    const vals = Float32Array.of(1, -2.5, 0.1, 3e-6, 1e-9, 60000, -0);
    const words = new Uint32Array(vals.buffer);
    const bytes = new Uint8Array(vals.length * 2);
    words.forEach((w, i) => {
      bytes[2 * i] = (w >>> 16) & 0xff;
      bytes[2 * i + 1] = w >>> 24;
    });
    const { bits, overflowAt } = bf16ToHalf(bytes, vals.length);
    expect(overflowAt).toBe(-1);
    const truncated = Float32Array.from(words, (w) => new Float32Array(Uint32Array.of(w & 0xffff0000).buffer)[0]);
    expect(Array.from(bits)).toEqual(Array.from(truncated, halfBits));
  });
});

describe('toStorageDtype', () => {
  /** A one-tensor safetensors file. */
  function file(dtype: string, shape: number[], data: Uint8Array): Uint8Array {
    const header = new TextEncoder().encode(JSON.stringify({ t: { dtype, shape, data_offsets: [0, data.byteLength] } }));
    const out = new Uint8Array(8 + header.byteLength + data.byteLength);
    new DataView(out.buffer).setUint32(0, header.byteLength, true);
    out.set(header, 8);
    out.set(data, 8 + header.byteLength);
    return out;
  }
  const f32 = Float32Array.of(0.5, -1.25, 3.1415927, 1e-5);

  it('F16 data passes through, F32 and BF16 are rounded, f32 storage converts as before', () => {
    const half = Uint16Array.from(f32, halfBits);
    const t16 = parseSafetensors(file('F16', [4], new Uint8Array(half.buffer)), 'a', 'm').tensors.get('t')!;
    expect(Array.from(toStorageDtype(t16, 'f16', 'm'))).toEqual(Array.from(half));
    const t32 = parseSafetensors(file('F32', [2, 2], new Uint8Array(f32.buffer)), 'a', 'm').tensors.get('t')!;
    expect(Array.from(toStorageDtype(t32, 'f16', 'm'))).toEqual(Array.from(half));
    expect(Array.from(toStorageDtype(t32, 'f32', 'm'))).toEqual(Array.from(f32));
    const big = parseSafetensors(file('F32', [2], new Uint8Array(Float32Array.of(1, 1e5).buffer)), 'a', 'm').tensors.get('t')!;
    expect(() => toStorageDtype(big, 'f16', 'm')).toThrow(/tensor "t" has 100000 at index 1 beyond the f16 range/);
  });
});
