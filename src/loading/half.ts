// IEEE binary16 ("half", f16) bit patterns from f32 and bfloat16 values, for weights stored as f16 on
// the GPU. Node 20 and older browsers have no Float16Array, so this is done by hand: f32 → f16
// rounds to nearest, ties to even, like a hardware conversion (and like PyTorch's .half()), with
// subnormal halves kept rather than flushed; |x| past the largest half (65504) is not rounded to
// infinity silently but reported, since an infinite weight would poison every output.

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Largest finite half. */
export const HALF_MAX = 65504;

/**
 * The f16 bits of `x`, rounded to nearest even. NaN stays NaN (quiet), ±inf stays ±inf; finite
 * values that round past HALF_MAX become ±inf (the caller checks for them: see toHalfBits).
 */
export function halfBits(x: number): number {
  F32[0] = x;
  const f = U32[0];
  return halfBitsOfF32Bits(f);
}

/** Same as halfBits, from the 32 bits of an f32. */
export function halfBitsOfF32Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15; // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // too big: inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-1 mantissa right, rounding to nearest even.
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    const up = rest > mid || (rest === mid && (half & 1) === 1);
    return sign | (half + (up ? 1 : 0));
  }
  // Normal: keep 10 of 23 mantissa bits, round to nearest even; a carry may bump the exponent (to inf).
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  const up = rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1);
  return sign | (half + (up ? 1 : 0));
}

/** True for the bits of ±inf (halfBits' overflow result). */
export function isHalfInf(h: number): boolean {
  return (h & 0x7fff) === 0x7c00;
}

export interface HalfConversion {
  bits: Uint16Array;
  /** Index of the first finite input that overflowed to ±inf, or -1. */
  overflowAt: number;
}

/** f32 values → f16 bits; reports the first finite value past the half range. */
export function f32ToHalf(values: Float32Array): HalfConversion {
  const bits = new Uint16Array(values.length);
  return { bits, overflowAt: f32ToHalfInto(values, values.length, bits, 0) };
}

/**
 * The first `n` f32 values → f16 bits written to `out` from `at`; returns the index (into
 * `values`) of the first finite value that overflowed to ±inf, or -1. The one f32 → f16 loop:
 * f32ToHalf (a whole host tensor) and the streaming upload (a piece at a time) both call it.
 */
export function f32ToHalfInto(values: Float32Array, n: number, out: Uint16Array, at: number): number {
  const words = new Uint32Array(values.buffer, values.byteOffset, n);
  let overflowAt = -1;
  for (let i = 0; i < n; i++) {
    const h = halfBitsOfF32Bits(words[i]);
    out[at + i] = h;
    if (overflowAt < 0 && (h & 0x7fff) === 0x7c00 && Number.isFinite(values[i])) overflowAt = i;
  }
  return overflowAt;
}

/**
 * bfloat16 bits (little-endian bytes) → f16 bits, one element at a time: no f32 copy of the tensor.
 * bfloat16 has f32's exponent range, so values past 65504 overflow (reported) and tiny ones round
 * to half subnormals or zero; its 7-bit mantissa fits in the half's 10 bits exactly.
 */
export function bf16ToHalf(bytes: Uint8Array, n: number): HalfConversion {
  const bits = new Uint16Array(n);
  return { bits, overflowAt: bf16ToHalfInto(bytes, n, bits, 0) };
}

/** bf16ToHalf for `n` elements of `bytes` into `out` from `at` (the streaming upload's piece loop). */
export function bf16ToHalfInto(bytes: Uint8Array, n: number, out: Uint16Array, at: number): number {
  let overflowAt = -1;
  for (let i = 0; i < n; i++) {
    const b = bytes[2 * i] | (bytes[2 * i + 1] << 8);
    const h = halfBitsOfF32Bits((b << 16) >>> 0);
    out[at + i] = h;
    if (overflowAt < 0 && (h & 0x7fff) === 0x7c00 && (b & 0x7f80) !== 0x7f80) overflowAt = i;
  }
  return overflowAt;
}

/** f16 bits → the f32 value (for tests and references). */
export function halfToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Round every value to the nearest half and back (the CPU reference for f16-stored weights). */
export function roundToHalf(values: Float32Array): Float32Array {
  const { bits } = f32ToHalf(values);
  return Float32Array.from(bits, halfToF32);
}
