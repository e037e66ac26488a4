// dot_scores_vec4.wgsl — dot_scores.wgsl for D a multiple of 4 (384, 768, 128, ...): the same
// scores[q, i] = dot(query q, row i) on vec4 loads, a quarter of the load instructions and bounds
// checks. On SwiftShader (20k rows, one query, least CPU time of 15 runs) it does about 10% less
// work than the scalar scan: 25–28 vs 31–35 ms at D = 128, 83–86 vs 92–94 ms at D = 384. On a GPU,
// where each thread walks its own row, a 16-byte load also uses four times as much of each memory
// transaction (not measured here). Bit-identical to the scalar scan: lane k of the accumulator is
// its partial sum s_k (elements d ≡ k mod 4), summed as (x + y) + (z + w). Modes, grid, padding:
// dot_scores_slot.wgsl.
//
// Bindings: 0 params (uniform), 1 queries [Q, D/4] vec4<f32>, 2 corpus [capacity, D/4] vec4<f32>,
//           3 rows [Q, count] u32 (gather mode; any buffer otherwise), 4 scores [Q, count] f32.
// Dispatch: (gx, gy, Q) workgroups of WG threads, one thread per (query, row), as dot_scores.wgsl.

override WG: u32 = 64;

@group(0) @binding(1) var<storage, read> queries: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> corpus: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(thread: ScanThread) {
  let slot = scan_slot(thread);
  if (!slot.live) {
    return;
  }
  let D4 = params.dims / 4u;
  let a = slot.query * D4;
  let b = slot.row * D4;
  var acc = vec4<f32>(0.0);
  for (var d = 0u; d < D4; d++) {
    acc += queries[a + d] * corpus[b + d];
  }
  scores[slot.out] = (acc.x + acc.y) + (acc.z + acc.w);
}
