// How pooling outputs travel: JSON floats, base64 of packed numbers, or raw bytes (vLLM's
// `encoding_format` float / base64 / bytes / bytes_only), each number stored as `embed_dtype`
// (float32, float16, bfloat16, fp8_e4m3, fp8_e5m2) in the asked `endianness`.
//
// Conversions round to nearest, ties to even, from the float32 the GPU produced — what torch's
// `.to(dtype)` does, which is how vLLM converts — with torch's overflow rules: float16, bfloat16
// and fp8_e5m2 overflow to ±inf; fp8_e4m3 (the "fn" variant: no infinities) overflows to NaN.
// 'native' byte order is little-endian: every platform WebGPU and Node run on is.
//
// `binary` / `ubinary` (sign bits packed 8 per byte, sentence-transformers' quantize_embeddings) are
// wgpool's extension, kept as they were.

export const EMBED_DTYPES = ['float32', 'float16', 'bfloat16', 'fp8_e4m3', 'fp8_e5m2'] as const;
export type EmbedDType = (typeof EMBED_DTYPES)[number];
export const ENDIANNESS = ['native', 'little', 'big'] as const;
export type Endianness = (typeof ENDIANNESS)[number];

/** Bytes per number of each dtype. */
export const DTYPE_BYTES: Record<EmbedDType, number> = { float32: 4, float16: 2, bfloat16: 2, fp8_e4m3: 1, fp8_e5m2: 1 };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

/**
 * Round a float32 (given as its bits, sign removed) to a binary minifloat with `E` exponent and `M`
 * mantissa bits (IEEE layout, bias 2^(E-1)-1), round-to-nearest-even, subnormals included. The
 * result is exponent<<M | mantissa and may exceed the largest finite code; the caller decides what
 * overflow becomes. f32 subnormals (< 2^-126) are far below every target's smallest subnormal.
 */
function roundMinifloat(bits: number, E: number, M: number): number {
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0) return 0;
  const bias = (1 << (E - 1)) - 1;
  const e = exp - 127 + bias;
  const drop = 23 - M;
  if (e <= 0) {
    // Subnormal target: shift the full significand (with its hidden 1) down to the 2^(1-bias-M) grid.
    const shift = drop + 1 - e;
    if (shift >= 25) return 0; // below half the smallest subnormal
    const full = mant | 0x800000;
    let q = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && q & 1)) q++;
    return q;
  }
  let h = (e << M) | (mant >>> drop);
  const rem = mant & ((1 << drop) - 1);
  const half = 1 << (drop - 1);
  // A carry out of the mantissa correctly bumps the exponent (and may reach the overflow codes).
  if (rem > half || (rem === half && h & 1)) h++;
  return h;
}

/** IEEE binary16 bits of a float32. */
export function toFloat16Bits(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  if (((b >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | ((b & 0x7fffff) !== 0 ? 0x200 : 0);
  const h = roundMinifloat(b & 0x7fffffff, 5, 10);
  return sign | Math.min(h, 0x7c00);
}

/** bfloat16 bits of a float32: the top half, rounded to nearest even. */
export function toBfloat16Bits(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float8 e4m3fn bits (bias 7, no infinities, largest 448; NaN = 0x7f). */
export function toFp8E4m3Bits(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 24) & 0x80;
  if (((b >>> 23) & 0xff) === 0xff) return sign | 0x7f;
  const h = roundMinifloat(b & 0x7fffffff, 4, 3);
  return sign | (h > 0x7e ? 0x7f : h);
}

/** float8 e5m2 bits (bias 15, IEEE-like: overflow is inf 0x7c). */
export function toFp8E5m2Bits(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 24) & 0x80;
  if (((b >>> 23) & 0xff) === 0xff) return sign | 0x7c | ((b & 0x7fffff) !== 0 ? 0x2 : 0);
  const h = roundMinifloat(b & 0x7fffffff, 5, 2);
  return sign | Math.min(h, 0x7c);
}

/** Numbers → bytes as `dtype`, in `endianness`. */
export function encodeNumbers(values: ArrayLike<number>, dtype: EmbedDType, endianness: Endianness): Uint8Array {
  const n = values.length;
  const bytes = new Uint8Array(n * DTYPE_BYTES[dtype]);
  const view = new DataView(bytes.buffer);
  const little = endianness !== 'big';
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i], little);
      break;
    case 'float16':
      for (let i = 0; i < n; i++) view.setUint16(i * 2, toFloat16Bits(values[i]), little);
      break;
    case 'bfloat16':
      for (let i = 0; i < n; i++) view.setUint16(i * 2, toBfloat16Bits(values[i]), little);
      break;
    case 'fp8_e4m3':
      for (let i = 0; i < n; i++) bytes[i] = toFp8E4m3Bits(values[i]);
      break;
    case 'fp8_e5m2':
      for (let i = 0; i < n; i++) bytes[i] = toFp8E5m2Bits(values[i]);
      break;
  }
  return bytes;
}

function minifloatValue(bits: number, E: number, M: number): number {
  const bias = (1 << (E - 1)) - 1;
  const e = (bits >>> M) & ((1 << E) - 1);
  const m = bits & ((1 << M) - 1);
  return e === 0 ? m * 2 ** (1 - bias - M) : (1 + m / (1 << M)) * 2 ** (e - bias);
}

/** The value of one encoded number (the inverse of encodeNumbers, for clients and tests). */
export function decodeNumbers(bytes: Uint8Array, dtype: EmbedDType, endianness: Endianness): Float64Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const out = new Float64Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = endianness !== 'big';
  for (let i = 0; i < n; i++) {
    if (dtype === 'float32') {
      out[i] = view.getFloat32(i * 4, little);
      continue;
    }
    if (dtype === 'bfloat16') {
      u32[0] = view.getUint16(i * 2, little) << 16;
      out[i] = f32[0];
      continue;
    }
    const bits = dtype === 'float16' ? view.getUint16(i * 2, little) : bytes[i];
    const [E, M, width] = dtype === 'float16' ? [5, 10, 16] : dtype === 'fp8_e5m2' ? [5, 2, 8] : [4, 3, 8];
    const sign = bits >>> (width - 1) ? -1 : 1;
    const mag = bits & ((1 << (width - 1)) - 1);
    const top = ((1 << E) - 1) << M;
    if (dtype === 'fp8_e4m3' ? mag === 0x7f : (mag & top) === top) out[i] = dtype !== 'fp8_e4m3' && (mag & ((1 << M) - 1)) === 0 ? sign * Infinity : NaN;
    else out[i] = sign * minifloatValue(mag, E, M);
  }
  return out;
}

export function base64(bytes: Uint8Array): string {
  let s = '';
  // String.fromCharCode takes its arguments on the stack: go in slices well under engines' limits.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Sign bits packed 8 per byte, MSB first, last byte zero-padded (numpy packbits, as
 * sentence-transformers quantize_embeddings does); binary is ubinary − 128. Used when an engine
 * hands back floats for a binary request instead of packing on the GPU.
 */
export function packBits(values: Float32Array, signed: boolean): number[] {
  const out: number[] = new Array(Math.ceil(values.length / 8)).fill(0);
  for (let i = 0; i < values.length; i++) if (values[i] > 0) out[i >> 3] |= 0x80 >> (i & 7);
  return signed ? out.map((b) => b - 128) : out;
}

/** One pooling output: a vector, or per-token rows; flattened row-major for the byte forms. */
export type PoolingOutput = Float32Array | number[] | Float32Array[];

/** vLLM's MetadataItem of the `bytes` response: where output `index` lies in the body. */
export interface BytesItem {
  index: number;
  embed_dtype: EmbedDType;
  endianness: Endianness;
  start: number;
  end: number;
  shape: number[];
}

export function shapeOf(o: PoolingOutput): number[] {
  if (Array.isArray(o) && o.length > 0 && o[0] instanceof Float32Array) return [o.length, (o[0] as Float32Array).length];
  return [o.length];
}

export function flatten(o: PoolingOutput): ArrayLike<number> {
  if (!(Array.isArray(o) && o.length > 0 && o[0] instanceof Float32Array)) return o as ArrayLike<number>;
  const rows = o as Float32Array[];
  const flat = new Float32Array(rows.reduce((s, r) => s + r.length, 0));
  let at = 0;
  for (const r of rows) {
    flat.set(r, at);
    at += r.length;
  }
  return flat;
}

/** JSON form of one output: float lists (nested for per-token rows), or base64 of the packed numbers. */
export function jsonOutput(o: PoolingOutput, format: 'float' | 'base64', dtype: EmbedDType, endianness: Endianness): number[] | number[][] | string {
  if (format === 'base64') return base64(encodeNumbers(flatten(o), dtype, endianness));
  if (Array.isArray(o) && o.length > 0 && o[0] instanceof Float32Array) return (o as Float32Array[]).map((r) => Array.from(r));
  return Array.from(o as ArrayLike<number>);
}

/** The `bytes` body (outputs back to back) and its metadata items. */
export function bytesBody(outputs: PoolingOutput[], dtype: EmbedDType, endianness: Endianness): { body: Uint8Array; items: BytesItem[] } {
  const parts = outputs.map((o) => encodeNumbers(flatten(o), dtype, endianness));
  const body = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  const items: BytesItem[] = [];
  let offset = 0;
  parts.forEach((p, index) => {
    body.set(p, offset);
    items.push({ index, embed_dtype: dtype, endianness, start: offset, end: offset + p.byteLength, shape: shapeOf(outputs[index]) });
    offset += p.byteLength;
  });
  return { body, items };
}
