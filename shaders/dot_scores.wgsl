// dot_scores.wgsl — the GEMV / skinny matmul of the vector index: scores[q, i] = dot(query q, row i)
// over a corpus matrix stored row-major [capacity, D] f32. The index stores unit rows and unit
// queries, so the dot product is the cosine. f32 accumulation in four partial sums (what a vec4
// unit would do), so the result is within ~1e-6 of a float64 reference for D ≤ 4096.
//
// Two modes, one pipeline (the mode is a uniform, so every call shape shares it):
//   dense   (gather = 0): i runs over corpus rows [0, count); row i is corpus row i.
//   gather  (gather = 1): i runs over [0, count) candidates of query q; the row is rows[q·count + i]
//                         (exact rescoring of binary-search candidates). An index ≥ row_limit is a
//                         padding candidate and scores -3.4e38 (WGSL has no -inf literal).
//
// Bindings: 0 params (uniform), 1 queries [Q, D] f32, 2 corpus [capacity, D] f32,
//           3 rows [Q, count] u32 (gather mode; any buffer otherwise), 4 scores [Q, count] f32.
// Dispatch: (gx, gy, Q) workgroups of WG threads; one thread per (q = wid.z, i), with
//           i = (wid.y · num_workgroups.x + wid.x) · WG + lid, so `count` may exceed 65535·WG.
//           Each thread reads its row once from global memory: on a GPU neighbouring rows are
//           neighbouring cache lines; on SwiftShader a thread per row is the fast schedule.
// Entry points: `main` (any D, scalar loads) and `main_vec4` (D % 4 == 0: the same loop on vec4
//           loads, a quarter of the load instructions and bounds checks). main_vec4 declares the
//           query and corpus bindings as array<vec4<f32>>; WGSL allows two variables on one binding
//           as long as no entry point uses both.

override WG: u32 = 64;

struct Params {
  count: u32,
  dims: u32,
  gather: u32,
  row_limit: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> corpus: array<f32>;
@group(0) @binding(3) var<storage, read> rows: array<u32>;
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;
@group(0) @binding(1) var<storage, read> queries4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> corpus4: array<vec4<f32>>;

const NEG_BIG: f32 = -3.4e38;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * groups.x + wid.x) * WG + lid;
  let q = wid.z;
  if (i >= params.count) {
    return;
  }
  let out = q * params.count + i;
  var row = i;
  if (params.gather != 0u) {
    row = rows[out];
    if (row >= params.row_limit) {
      scores[out] = NEG_BIG;
      return;
    }
  }
  let D = params.dims;
  let a = q * D;
  let b = row * D;
  var s0 = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var s3 = 0.0;
  var d = 0u;
  for (; d + 4u <= D; d += 4u) {
    s0 += queries[a + d] * corpus[b + d];
    s1 += queries[a + d + 1u] * corpus[b + d + 1u];
    s2 += queries[a + d + 2u] * corpus[b + d + 2u];
    s3 += queries[a + d + 3u] * corpus[b + d + 3u];
  }
  for (; d < D; d++) {
    s0 += queries[a + d] * corpus[b + d];
  }
  scores[out] = (s0 + s1) + (s2 + s3);
}

@compute @workgroup_size(WG)
fn main_vec4(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * groups.x + wid.x) * WG + lid;
  let q = wid.z;
  if (i >= params.count) {
    return;
  }
  let out = q * params.count + i;
  var row = i;
  if (params.gather != 0u) {
    row = rows[out];
    if (row >= params.row_limit) {
      scores[out] = NEG_BIG;
      return;
    }
  }
  let D4 = params.dims / 4u;
  let a = q * D4;
  let b = row * D4;
  var acc = vec4<f32>(0.0);
  for (var d = 0u; d < D4; d++) {
    acc += queries4[a + d] * corpus4[b + d];
  }
  scores[out] = (acc.x + acc.y) + (acc.z + acc.w);
}
