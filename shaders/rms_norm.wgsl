// rms_norm.wgsl — y[r] = x[r] * rsqrt(mean(x[r]²) + eps) * g (+ residual[r]), one row of width N at a
// time, where g = w (Qwen3RMSNorm / LlamaRMSNorm: the weight multiplies directly) or, with
// UNIT_OFFSET, g = 1 + w (Gemma3RMSNorm, whose weights are stored as offsets from 1; the sum is
// rounded to f32 first, as HF's `1.0 + weight.float()`). HAS_RESIDUAL adds residual[r] after the
// scaling: Gemma's sandwich norms, h = x + post_attention_layernorm(attn), in one pass.
//
// Bindings: 0 params (uniform), 1 x [rows, N], 2 residual [rows, N] (read only with HAS_RESIDUAL),
//           3 w [N], 4 y [rows, N] (may not alias x or residual).
// Dispatch: `main`: (rows, 1, 1) workgroups of WG threads (a power of two); each workgroup owns one
//           row (tree reduction in workgroup memory, for GPUs).
//           `main_row`: (ceil(rows / WG), 1, 1) workgroups, one thread per row and no barriers (CPU
//           implementations such as SwiftShader, where barriers are expensive fiber switches).
// Numerics: the sum of squares is accumulated in f32 (HF upcasts to float32 for this too), first
//           strided per thread, then by a tree over the workgroup. eps is added to the mean square
//           inside the rsqrt, as in PyTorch (1e-6 for Qwen3).

// Lane, reduce_sum, reduce_max: shaders/workgroup_reduce.wgsl or shaders/subgroup_reduce.wgsl,
// appended by the wrapper (the subgroup one where the device has `subgroups`).
override WG: u32 = 128;
override UNIT_OFFSET: bool = false;
override HAS_RESIDUAL: bool = false;

struct Params {
  rows: u32,
  n: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Element i of row base: normalized, scaled, plus the residual.
fn output(base: u32, i: u32, inv_rms: f32) -> f32 {
  let g = select(w[i], 1.0 + w[i], UNIT_OFFSET);
  var v = x[base + i] * inv_rms * g;
  if (HAS_RESIDUAL) {
    v += residual[base + i];
  }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
  let lid = lane.index;
  let row = wid.x;
  if (row >= params.rows) {
    return; // uniform per workgroup, so the barriers below stay in uniform control flow
  }
  let n = params.n;
  let base = row * n;

  var q = 0.0;
  for (var i = lid; i < n; i += WG) {
    let v = x[base + i];
    q += v * v;
  }
  let inv_rms = inverseSqrt(reduce_sum(q, lane) / f32(n) + params.eps);

  for (var i = lid; i < n; i += WG) {
    y[base + i] = output(base, i, inv_rms);
  }
}

@compute @workgroup_size(WG)
fn main_row(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= params.rows) {
    return;
  }
  let n = params.n;
  let base = row * n;
  var q = 0.0;
  for (var i = 0u; i < n; i++) {
    let v = x[base + i];
    q += v * v;
  }
  let inv_rms = inverseSqrt(q / f32(n) + params.eps);
  for (var i = 0u; i < n; i++) {
    y[base + i] = output(base, i, inv_rms);
  }
}
