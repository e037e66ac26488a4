// activations.wgsl — f32 activation functions shared by several kernels (WGSL has no includes: the
// wrappers append this file). Not a kernel of its own: no bindings, no entry point.
//   erf_f32, gelu_f32 (exact erf GELU), tanh_f32, gelu_tanh_f32 (gelu_pytorch_tanh), silu_f32.
// matmul.test.ts and glu.test.ts hold them to float64 references over wide argument grids.

const FRAC_1_SQRT2: f32 = 0.7071067811865476;

// erf in f32, |error| ≤ ~1e-7 absolute (about 1.5 ulp near |erf| ≈ 0.8). WGSL has no erf builtin.
//   |x| < 1:      erf(x) = x + x·P(x²), P a minimax fit of erf(x)/x − 1; adding the small correction
//                 to x last keeps the Horner rounding errors below an ulp of the result.
//   1 ≤ |x| < 4:  erf(x) = 1 − exp(−x²)·Q(|x|), Q a minimax fit of erfcx on [1, 4] weighted by
//                 exp(−x²), i.e. for absolute error in erf. erfc ≤ 0.16 here, so exp's few-ulp error
//                 costs little, and the exp argument never overflows.
//   |x| ≥ 4:      ±1 (erfc(4) = 1.5e-8, below half an ulp of 1). NaN passes through.
fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  var r = x; // NaN stays NaN
  if (a < 1.0) {
    let s = a * a;
    var p = 7.647139864e-05;
    p = p * s - 7.942364318e-04;
    p = p * s + 5.179750733e-03;
    p = p * s - 2.684859186e-02;
    p = p * s + 1.128343046e-01;
    p = p * s - 3.761260509e-01;
    p = p * s + 1.283791512e-01;
    r = a + a * p;
  } else if (a < 4.0) {
    var q = 1.068425481e-04;
    q = q * a - 1.911791856e-03;
    q = q * a + 1.530222408e-02;
    q = q * a - 7.275903225e-02;
    q = q * a + 2.305705249e-01;
    q = q * a - 5.188600421e-01;
    q = q * a + 8.627205491e-01;
    q = q * a - 1.079844475e+00;
    q = q * a + 9.922587872e-01;
    r = 1.0 - exp(-(a * a)) * q;
  } else if (a >= 4.0) {
    r = 1.0;
  }
  return select(r, -r, x < 0.0);
}

// tanh without overflow: builtin tanh is sinh/cosh on some backends and returns NaN for large |x|.
//   |x| < 0.625:  x + x·s·P(s), s = x², P a minimax fit (relative error ~1e-7, no cancellation).
//   otherwise:    (1 − t)/(1 + t) with t = exp(−2|x|) ∈ (0, 0.29]: never overflows, → 1 as |x| → ∞.
fn tanh_f32(x: f32) -> f32 {
  let a = abs(x);
  var r = x; // NaN stays NaN
  if (a < 0.625) {
    let s = a * a;
    var p = 2.147541149e-03;
    p = p * s - 8.182679303e-03;
    p = p * s + 2.170296945e-02;
    p = p * s - 5.394720659e-02;
    p = p * s + 1.333321035e-01;
    p = p * s - 3.333333135e-01;
    r = a + a * (s * p);
  } else if (a >= 0.625) {
    let t = exp(-2.0 * a);
    r = (1.0 - t) / (1.0 + t);
  }
  return select(r, -r, x < 0.0);
}

// x·sigmoid(x) with exp of −|x| only: exp(−x) for very negative x would overflow to inf (or NaN on
// backends with loose exp), while exp(−|x|) ∈ (0, 1].
fn silu_f32(x: f32) -> f32 {
  let e = exp(-abs(x));
  return x * select(e, 1.0, x >= 0.0) / (1.0 + e);
}

// Exact (erf) GELU as in BERT's "gelu", not the tanh approximation.
fn gelu_f32(x: f32) -> f32 {
  return 0.5 * x * (1.0 + erf_f32(x * FRAC_1_SQRT2));
}

// GELU's tanh approximation (gelu_pytorch_tanh / gelu_new): 0.5·x·(1 + tanh(z)), z = √(2/π)·(x + 0.044715·x³).
// 0.5·(1 + tanh(z)) = sigmoid(2z), so it is evaluated as x·sigmoid(2z) from exp(−2|z|) ∈ (0, 1]: the
// literal form cancels catastrophically for negative x (1 + tanh(z) with tanh(z) ≈ −1), this one does not.
fn gelu_tanh_f32(x: f32) -> f32 {
  let z = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  let e = exp(-2.0 * abs(z));
  return x * select(e, 1.0, z >= 0.0) / (1.0 + e);
}
