// l2_normalize.wgsl — the embedding head's last step: keep the first `dims` columns of each row
// (matryoshka truncation) and divide them by their L2 norm, in that order, so a truncated vector
// comes out unit length again:
//   out[r, 0..dims) = x[r, 0..dims) / max(‖x[r, 0..dims)‖₂, 1e-12)     (torch F.normalize, eps 1e-12)
// for rows r in [rowOffset, rowOffset + rows). With NORMALIZE = false it is a plain truncating copy
// (use_activation = false). Row offsets let requests with different `dimensions` share one batch.
//
// Bindings: 0 params (uniform), 1 x [*, inStride], 2 out [*, outStride] (must not alias x).
// Dispatch: (rows, 1, 1) workgroups of WG threads (a power of two); each workgroup owns one row.
// Numerics: the sum of squares accumulates in f32 (strided per thread, then a tree), and the
//           clamp is on the norm, not the squared norm, as F.normalize does.

// Lane, reduce_sum, reduce_max: shaders/workgroup_reduce.wgsl or shaders/subgroup_reduce.wgsl,
// appended by the wrapper (the subgroup one where the device has `subgroups`).
override WG: u32 = 128;
override NORMALIZE: bool = true;

const NORM_EPS: f32 = 1e-12;

struct Params {
  rows: u32,
  row_offset: u32,
  dims: u32,
  in_stride: u32,
  out_stride: u32,
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
  let row = params.row_offset + wid.x;
  let src = row * params.in_stride;
  let dst = row * params.out_stride;
  let dims = params.dims;

  var scale = 1.0;
  if (NORMALIZE) {
    var q = 0.0;
    for (var i = lid; i < dims; i += WG) {
      let v = x[src + i];
      q += v * v;
    }
    scale = 1.0 / max(sqrt(reduce_sum(q, lane)), NORM_EPS);
  }
  for (var i = lid; i < dims; i += WG) {
    out[dst + i] = x[src + i] * scale;
  }
}
