// softmax.wgsl — out[r] = softmax(x[r]) over rows r in [rowOffset, rowOffset + rows), each row n
// wide (classifier probabilities: [B, num_labels], or [T, num_labels] for token classification).
//
// Bindings: 0 params (uniform), 1 x [*, n], 2 out [*, n] (must not alias x).
// Dispatch: (rows, 1, 1) workgroups of WG threads (a power of two); each workgroup owns one row.
// Numerics: the row max is subtracted before exp, so large logits do not overflow; WGSL has no
//           -inf literal, so the max starts at -FLT_MAX. exp and the sum are f32, as torch's
//           float32 softmax.

// Lane, reduce_sum, reduce_max: shaders/workgroup_reduce.wgsl or shaders/subgroup_reduce.wgsl,
// appended by the wrapper (the subgroup one where the device has `subgroups`).
override WG: u32 = 64;

// The largest finite f32 as a hex literal: Tint rejects decimal 3.4028235e38 (not exactly an f32).
const NEG_FLT_MAX: f32 = -0x1.fffffep+127f;

struct Params {
  rows: u32,
  row_offset: u32,
  n: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
  let lid = lane.index;
  if (wid.x >= params.rows) {
    return; // uniform per workgroup, so the barriers below stay in uniform control flow
  }
  let n = params.n;
  let base = (params.row_offset + wid.x) * n;

  var m = NEG_FLT_MAX;
  for (var i = lid; i < n; i += WG) {
    m = max(m, x[base + i]);
  }
  m = reduce_max(m, lane);

  var s = 0.0;
  for (var i = lid; i < n; i += WG) {
    s += exp(x[base + i] - m);
  }
  let inv_sum = 1.0 / reduce_sum(s, lane);

  for (var i = lid; i < n; i += WG) {
    out[base + i] = exp(x[base + i] - m) * inv_sum;
  }
}
