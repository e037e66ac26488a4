// layer_norm.wgsl — y[r] = LayerNorm(x[r] (+ residual[r])) * gamma + beta, one row of width N at a time.
//
// Bindings: 0 params (uniform), 1 x [rows, N], 2 residual [rows, N] (read only when HAS_RESIDUAL),
//           3 gamma [N], 4 beta [N], 5 y [rows, N] (may not alias x or residual).
// Dispatch: `main`: (rows, 1, 1) workgroups of WG threads (a power of two); each workgroup owns one
//           row and reduces it with a tree in workgroup memory (GPUs).
//           `main_row`: (ceil(rows / WG), 1, 1) workgroups; each thread owns one whole row, with no
//           barriers. CPU implementations of WebGPU (SwiftShader) run barriers as fiber switches, which
//           made the tree ~20× slower there than a plain loop per row.
// Numerics: two passes over the row (mean, then squared deviations) in f32 — the one-pass
//           E[x²] − E[x]² form loses digits when |mean| ≫ std, which hidden states often have.
//           eps comes from config (1e-12 BERT, 1e-5 XLM-R) and is added to the variance as in PyTorch.

// Lane, reduce_sum, reduce_max: shaders/workgroup_reduce.wgsl or shaders/subgroup_reduce.wgsl,
// appended by the wrapper (the subgroup one where the device has `subgroups`).
override WG: u32 = 128;
override HAS_RESIDUAL: bool = false;

struct Params {
  rows: u32,
  n: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

fn load(i: u32) -> f32 {
  if (HAS_RESIDUAL) {
    return x[i] + residual[i];
  }
  return x[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
  let lid = lane.index;
  let row = wid.x;
  if (row >= params.rows) {
    return; // uniform per workgroup, so the barriers below stay in uniform control flow
  }
  let base = row * params.n;
  let n = params.n;

  var s = 0.0;
  for (var i = lid; i < n; i += WG) {
    s += load(base + i);
  }
  let mean = reduce_sum(s, lane) / f32(n);

  var q = 0.0;
  for (var i = lid; i < n; i += WG) {
    let d = load(base + i) - mean;
    q += d * d;
  }
  let inv_std = inverseSqrt(reduce_sum(q, lane) / f32(n) + params.eps);

  for (var i = lid; i < n; i += WG) {
    y[base + i] = (load(base + i) - mean) * inv_std * gamma[i] + beta[i];
  }
}

@compute @workgroup_size(WG)
fn main_row(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.n;
  let n = params.n;
  var s = 0.0;
  for (var i = 0u; i < n; i++) {
    s += load(base + i);
  }
  let mean = s / f32(n);
  var q = 0.0;
  for (var i = 0u; i < n; i++) {
    let d = load(base + i) - mean;
    q += d * d;
  }
  let inv_std = inverseSqrt(q / f32(n) + params.eps);
  for (var i = 0u; i < n; i++) {
    y[base + i] = (load(base + i) - mean) * inv_std * gamma[i] + beta[i];
  }
}
