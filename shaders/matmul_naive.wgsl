// matmul_naive.wgsl — y[M, N] = act(x[M, K] · Wᵀ + bias) + residual, one output per thread.
//
// The baseline the other matmul variants are measured against: every thread walks a full row of x
// and a full row of W from global memory, with no reuse between threads.
//
// Bindings: 0 params (uniform {M, N, K}), 1 x [M, K], 2 w [N, K] (row-major (out, in), as stored in
//           safetensors), 3 bias [N] (read only when HAS_BIAS), 4 residual [M, N] (read only when
//           HAS_RESIDUAL), 5 y [M, N] (must not alias x, w or residual).
// Dispatch: (ceil(N / WG_X), ceil(M / WG_Y), 1) workgroups of WG_X × WG_Y threads; thread (n, m).
// Switches: HAS_BIAS, ACT (0 none, 1 exact GELU, 2 SiLU, 3 tanh), HAS_RESIDUAL. The residual is added
//           after the activation (BERT's dense + residual before LayerNorm, Qwen3's o_proj/down_proj).
// Numerics: f32 accumulation in k order.

override WG_X: u32 = 8;
override WG_Y: u32 = 8;
override HAS_BIAS: bool = false;
override ACT: u32 = 0;
override HAS_RESIDUAL: bool = false;

struct Params {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  if (m >= params.M || n >= params.N) {
    return;
  }
  let K = params.K;
  let xr = m * K;
  let wr = n * K;
  var acc = 0.0;
  for (var k = 0u; k < K; k++) {
    acc += x[xr + k] * w[wr + k];
  }
  y[m * params.N + n] = epilogue(m, n, acc);
}

// ---- Epilogue: y = act(acc + bias[n]) + residual[m, n]. The same text is in matmul_naive.wgsl,
// matmul_regblock.wgsl and matmul_tiled.wgsl (one kernel per file, no includes); matmul.test.ts holds
// all three to one float64 reference, including the activation grids below.

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

fn activate(v: f32) -> f32 {
  switch ACT {
    case 1u: { return gelu_f32(v); }
    case 2u: { return silu_f32(v); }
    case 3u: { return tanh_f32(v); }
    default: { return v; }
  }
}

// Caller guarantees m < M and n < N.
fn epilogue(m: u32, n: u32, acc: f32) -> f32 {
  var v = acc;
  if (HAS_BIAS) {
    v += bias[n];
  }
  v = activate(v);
  if (HAS_RESIDUAL) {
    v += residual[m * params.N + n];
  }
  return v;
}
