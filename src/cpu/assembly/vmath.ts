// vmath.ts — f32x4 building blocks shared by the kernels: fused multiply-add (relaxed-SIMD where
// the build enables it), exp, and the matmul epilogue's activations, four lanes at a time.
//
// The activations follow shaders/matmul_epilogue.wgsl term for term (same minimax coefficients and
// branch points), so the CPU and WebGPU backends round alike: erf to ~1e-7 absolute, tanh by
// (1 − t)/(1 + t) with t = exp(−2|x|), SiLU from exp(−|x|) so nothing overflows. Branches become
// lane selects: both sides are computed and each lane keeps its own.

// a·b + c. relaxed_madd may fuse (one rounding) or not, per the engine; both are within f32 tolerance.
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

@inline function splat(x: f32): v128 {
  return f32x4.splat(x);
}

// exp(x) per lane, Cephes expf: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact
// product), a degree-6 polynomial for e^r, and 2^n built in the exponent bits. Inputs are clamped
// to [−87.3, 88], so e^x neither overflows nor goes denormal (exp(−87.3) ≈ 1.2e-38 stands in for 0).
export function vexp(x0: v128): v128 {
  const x1 = f32x4.min(f32x4.max(x0, splat(-87.33654)), splat(88.0));
  const n = f32x4.nearest(f32x4.mul(x1, splat(1.44269504088896341)));
  let r = f32x4.sub(x1, f32x4.mul(n, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, splat(-2.12194440e-4)));
  let p = splat(1.9875691500e-4);
  p = madd(p, r, splat(1.3981999507e-3));
  p = madd(p, r, splat(8.3334519073e-3));
  p = madd(p, r, splat(4.1665795894e-2));
  p = madd(p, r, splat(1.6666665459e-1));
  p = madd(p, r, splat(5.0000001201e-1));
  p = madd(p, f32x4.mul(r, r), f32x4.add(r, splat(1.0)));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2n);
}

export function verf(x: v128): v128 {
  const a = f32x4.abs(x);
  const s = f32x4.mul(a, a);
  let p = splat(7.647139864e-05);
  p = madd(p, s, splat(-7.942364318e-04));
  p = madd(p, s, splat(5.179750733e-03));
  p = madd(p, s, splat(-2.684859186e-02));
  p = madd(p, s, splat(1.128343046e-01));
  p = madd(p, s, splat(-3.761260509e-01));
  p = madd(p, s, splat(1.283791512e-01));
  const small = madd(a, p, a);
  let q = splat(1.068425481e-04);
  q = madd(q, a, splat(-1.911791856e-03));
  q = madd(q, a, splat(1.530222408e-02));
  q = madd(q, a, splat(-7.275903225e-02));
  q = madd(q, a, splat(2.305705249e-01));
  q = madd(q, a, splat(-5.188600421e-01));
  q = madd(q, a, splat(8.627205491e-01));
  q = madd(q, a, splat(-1.079844475e+00));
  q = madd(q, a, splat(9.922587872e-01));
  const mid = f32x4.sub(splat(1.0), f32x4.mul(vexp(f32x4.neg(s)), q));
  let r = v128.bitselect(small, mid, f32x4.lt(a, splat(1.0)));
  r = v128.bitselect(r, splat(1.0), f32x4.lt(a, splat(4.0)));
  r = v128.bitselect(x, r, f32x4.ne(x, x)); // NaN passes through
  // Copy x's sign onto |erf|.
  return v128.or(v128.and(r, i32x4.splat(0x7fffffff)), v128.and(x, i32x4.splat(0x80000000)));
}

export function vgelu(x: v128): v128 {
  const e = verf(f32x4.mul(x, splat(0.7071067811865476)));
  return f32x4.mul(f32x4.mul(splat(0.5), x), f32x4.add(splat(1.0), e));
}

export function vtanh(x: v128): v128 {
  const a = f32x4.abs(x);
  const s = f32x4.mul(a, a);
  let p = splat(2.147541149e-03);
  p = madd(p, s, splat(-8.182679303e-03));
  p = madd(p, s, splat(2.170296945e-02));
  p = madd(p, s, splat(-5.394720659e-02));
  p = madd(p, s, splat(1.333321035e-01));
  p = madd(p, s, splat(-3.333333135e-01));
  const small = madd(a, f32x4.mul(s, p), a);
  const t = vexp(f32x4.mul(splat(-2.0), a));
  const big = f32x4.div(f32x4.sub(splat(1.0), t), f32x4.add(splat(1.0), t));
  let r = v128.bitselect(small, big, f32x4.lt(a, splat(0.625)));
  r = v128.bitselect(x, r, f32x4.ne(x, x));
  return v128.or(v128.and(r, i32x4.splat(0x7fffffff)), v128.and(x, i32x4.splat(0x80000000)));
}

export function vsilu(x: v128): v128 {
  const e = vexp(f32x4.neg(f32x4.abs(x)));
  const num = v128.bitselect(splat(1.0), e, f32x4.ge(x, splat(0.0)));
  return f32x4.div(f32x4.mul(x, num), f32x4.add(splat(1.0), e));
}

// GELU's tanh approximation (gelu_pytorch_tanh) as x·sigmoid(2z), z = √(2/π)·(x + 0.044715·x³),
// from e^−2|z| ∈ (0, 1] — shaders/activations.wgsl's gelu_tanh_f32; the literal 0.5·x·(1 + tanh z)
// cancels for negative x.
export function vgeluTanh(x: v128): v128 {
  const z = f32x4.mul(splat(0.7978845608028654), f32x4.add(x, f32x4.mul(f32x4.mul(f32x4.mul(splat(0.044715), x), x), x)));
  const e = vexp(f32x4.mul(splat(-2.0), f32x4.abs(z)));
  const num = v128.bitselect(x, f32x4.mul(x, e), f32x4.ge(z, splat(0.0)));
  return f32x4.div(num, f32x4.add(splat(1.0), e));
}

// 1 / (1 + e^−x) from e^−|x| ∈ (0, 1] (no overflow): x ≥ 0 → 1/(1+e), x < 0 → e/(1+e).
export function vsigmoid(x: v128): v128 {
  const e = vexp(f32x4.neg(f32x4.abs(x)));
  const num = v128.bitselect(splat(1.0), e, f32x4.ge(x, splat(0.0)));
  return f32x4.div(num, f32x4.add(splat(1.0), e));
}

/** Activation codes, as matmul.ts's ACT table: 0 none, 1 GELU(erf), 2 SiLU, 3 tanh, 4 ReLU. */
@inline export function activate(v: v128, act: i32): v128 {
  if (act == 1) return vgelu(v);
  if (act == 2) return vsilu(v);
  if (act == 3) return vtanh(v);
  if (act == 4) return f32x4.max(v, splat(0.0));
  return v;
}
