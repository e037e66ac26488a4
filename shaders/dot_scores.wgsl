// dot_scores.wgsl — the GEMV / skinny matmul of the vector index: scores[q, i] = dot(query q, row i)
// over a corpus matrix stored row-major [capacity, D] f32, for any D. The index stores unit rows and
// unit queries, so the dot product is the cosine. f32 accumulation in four partial sums (what a vec4
// unit would do), so the result is within ~1e-6 of a float64 reference for D ≤ 4096.
// dot_scores_vec4.wgsl is the same scan on vec4 loads for D % 4 == 0 (bit-identical: its lanes are
// these four sums); modes, grid and the padding rule are in dot_scores_slot.wgsl (appended).
//
// Bindings: 0 params (uniform), 1 queries [Q, D] f32, 2 corpus [capacity, D] f32,
//           3 rows [Q, count] u32 (gather mode; any buffer otherwise), 4 scores [Q, count] f32.
// Dispatch: (gx, gy, Q) workgroups of WG threads, one thread per (query, row). Each thread reads its
//           row once from global memory: on a GPU neighbouring rows are neighbouring cache lines;
//           on SwiftShader a thread per row is the fast schedule.

override WG: u32 = 64;

@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> corpus: array<f32>;

@compute @workgroup_size(WG)
fn main(thread: ScanThread) {
  let slot = scan_slot(thread);
  if (!slot.live) {
    return;
  }
  let D = params.dims;
  let a = slot.query * D;
  let b = slot.row * D;
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
  scores[slot.out] = (s0 + s1) + (s2 + s3);
}
