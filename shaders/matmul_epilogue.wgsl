// matmul_epilogue.wgsl — the epilogue every matmul variant applies to an accumulated output:
//   y[m, n] = act(acc + bias[n]) + residual[m, n]
// (bias and residual optional, act one of none / exact-erf GELU / SiLU / tanh / ReLU, chosen by overrides).
// Not a kernel of its own: src/kernels/matmul.ts appends this text (and activations.wgsl) to matmul_naive.wgsl,
// matmul_regblock.wgsl and matmul_tiled.wgsl (WGSL has no includes), so the three share one
// definition; it uses their `params`, `bias`, `residual` bindings and HAS_BIAS / ACT / HAS_RESIDUAL.
// matmul.test.ts holds all three to one float64 reference, including the activation grids below.

// erf_f32, tanh_f32, silu_f32, gelu_f32: shaders/activations.wgsl, appended with this file.

fn activate(v: f32) -> f32 {
  switch ACT {
    case 1u: { return gelu_f32(v); }
    case 2u: { return silu_f32(v); }
    case 3u: { return tanh_f32(v); }
    case 4u: { return max(v, 0.0); } // ReLU (DistilBERT's pre_classifier); NaN handling as max()
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
