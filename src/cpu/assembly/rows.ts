// rows.ts — the row kernels: LayerNorm, RMSNorm (plain and Gemma's), L2 normalize (with matryoshka truncation),
// softmax, sigmoid. CPU twins of shaders/layer_norm.wgsl, rms_norm.wgsl, l2_normalize.wgsl,
// softmax.wgsl and sigmoid.wgsl with the same formulas; one row at a time, f32x4 across the row
// with a scalar tail for lengths that are not multiples of 4 (rows need not be 16-byte aligned:
// WebAssembly loads have no alignment requirement).
// Numerics: f32 accumulation in four lanes, summed at the end; LayerNorm's variance is two-pass
// (Σ(x − mean)², not E[x²] − mean², which cancels badly for rows with a large mean).

import { hmax, hsum, madd, vexp, vsigmoid } from './vmath';

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

function sumOf(p: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, v128.load(at(p, i)));
  let s = hsum(acc);
  for (; i < n; i++) s += load<f32>(at(p, i));
  return s;
}

function sumSquares(p: usize, n: i32, shift: f32): f32 {
  const c = f32x4.splat(shift);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = f32x4.sub(v128.load(at(p, i)), c);
    acc = madd(d, d, acc);
  }
  let s = hsum(acc);
  for (; i < n; i++) {
    const d = load<f32>(at(p, i)) - shift;
    s += d * d;
  }
  return s;
}

/** y = LayerNorm(x (+ residual)) · gamma + beta over rows [r0, r1); residual 0 when absent. */
export function layerNorm(x: usize, res: usize, gamma: usize, beta: usize, y: usize, n: i32, eps: f32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * <usize>n) << 2;
    let src = x + off;
    const dst = y + off;
    if (res) {
      // x + residual lands in y first; y is then normalized in place.
      let i = 0;
      for (; i + 4 <= n; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(src, i)), v128.load(at(res + off, i))));
      for (; i < n; i++) store<f32>(at(dst, i), load<f32>(at(src, i)) + load<f32>(at(res + off, i)));
      src = dst;
    }
    const mean = sumOf(src, n) / <f32>n;
    const inv = <f32>1 / Mathf.sqrt(sumSquares(src, n, mean) / <f32>n + eps);
    const m = f32x4.splat(mean);
    const s = f32x4.splat(inv);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = f32x4.mul(f32x4.sub(v128.load(at(src, i)), m), s);
      v128.store(at(dst, i), madd(v, v128.load(at(gamma, i)), v128.load(at(beta, i))));
    }
    for (; i < n; i++) store<f32>(at(dst, i), (load<f32>(at(src, i)) - mean) * inv * load<f32>(at(gamma, i)) + load<f32>(at(beta, i)));
  }
}

/**
 * y = x · rsqrt(mean(x²) + eps) · g (+ residual) over rows [r0, r1), g = w (Qwen3RMSNorm: w
 * multiplies directly) or, with unitOffset, g = 1 + w rounded to f32 (Gemma3RMSNorm); residual
 * (0 when absent) is added after the scaling, Gemma's sandwich norms in one pass.
 */
export function rmsNorm(x: usize, res: usize, w: usize, y: usize, n: i32, eps: f32, unitOffset: i32, r0: i32, r1: i32): void {
  const one = f32x4.splat(unitOffset ? 1 : 0);
  const oneS: f32 = unitOffset ? 1 : 0;
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * <usize>n) << 2;
    const src = x + off;
    const dst = y + off;
    const inv = <f32>1 / Mathf.sqrt(sumSquares(src, n, 0) / <f32>n + eps);
    const s = f32x4.splat(inv);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      let v = f32x4.mul(f32x4.mul(v128.load(at(src, i)), s), f32x4.add(v128.load(at(w, i)), one));
      if (res) v = f32x4.add(v, v128.load(at(res + off, i)));
      v128.store(at(dst, i), v);
    }
    for (; i < n; i++) {
      let v = load<f32>(at(src, i)) * inv * (load<f32>(at(w, i)) + oneS);
      if (res) v += load<f32>(at(res + off, i));
      store<f32>(at(dst, i), v);
    }
  }
}

/**
 * out[r, 0..dims) = x[r, 0..dims) / max(‖x[r, 0..dims)‖₂, 1e-12) for r in [rowOffset, rowOffset + rows)
 * (torch F.normalize); a plain truncating copy when normalize is 0.
 */
export function l2Normalize(x: usize, out: usize, rows: i32, rowOffset: i32, dims: i32, inStride: i32, outStride: i32, normalize: i32): void {
  for (let r = rowOffset; r < rowOffset + rows; r++) {
    const src = x + ((<usize>r * <usize>inStride) << 2);
    const dst = out + ((<usize>r * <usize>outStride) << 2);
    let scale: f32 = 1;
    if (normalize) scale = <f32>1 / max(Mathf.sqrt(sumSquares(src, dims, 0)), <f32>1e-12);
    const s = f32x4.splat(scale);
    let i = 0;
    for (; i + 4 <= dims; i += 4) v128.store(at(dst, i), f32x4.mul(v128.load(at(src, i)), s));
    for (; i < dims; i++) store<f32>(at(dst, i), load<f32>(at(src, i)) * scale);
  }
}

/** Numerically stable softmax of rows [rowOffset, rowOffset + rows) of x [*, n] into out. */
export function softmax(x: usize, out: usize, rows: i32, rowOffset: i32, n: i32): void {
  for (let r = rowOffset; r < rowOffset + rows; r++) {
    const src = x + ((<usize>r * <usize>n) << 2);
    const dst = out + ((<usize>r * <usize>n) << 2);
    expShifted(src, dst, n);
  }
}

/** dst = exp(src − max) / Σ exp(src − max) over n values (also attention's probabilities). */
export function expShifted(src: usize, dst: usize, n: i32): void {
  let mv = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) mv = f32x4.max(mv, v128.load(at(src, i)));
  let mx = hmax(mv);
  for (; i < n; i++) mx = max(mx, load<f32>(at(src, i)));
  const m = f32x4.splat(mx);
  let acc = f32x4.splat(0);
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const e = vexp(f32x4.sub(v128.load(at(src, i)), m));
    v128.store(at(dst, i), e);
    acc = f32x4.add(acc, e);
  }
  let sum = hsum(acc);
  for (; i < n; i++) {
    const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(at(src, i)) - mx)), 0);
    store<f32>(at(dst, i), e);
    sum += e;
  }
  const inv = f32x4.splat(<f32>1 / sum);
  i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(dst, i), f32x4.mul(v128.load(at(dst, i)), inv));
  const s = <f32>1 / sum;
  for (; i < n; i++) store<f32>(at(dst, i), load<f32>(at(dst, i)) * s);
}

/** out[i] = sigmoid(x[i]) for i in [offset, offset + count). */
export function sigmoid(x: usize, out: usize, count: i32, offset: i32): void {
  let i = offset;
  const end = offset + count;
  for (; i + 4 <= end; i += 4) v128.store(at(out, i), vsigmoid(v128.load(at(x, i))));
  for (; i < end; i++) store<f32>(at(out, i), f32x4.extract_lane(vsigmoid(f32x4.splat(load<f32>(at(x, i)))), 0));
}
