// dot_scores_slot.wgsl — what the two dot-product scans share (appended to dot_scores.wgsl and
// dot_scores_vec4.wgsl): the Params uniform, the rows and scores bindings, and which score a thread
// owns. Each scan declares its own queries and corpus bindings (array<f32> or array<vec4<f32>>).
//
// Modes (a uniform, so every call shape shares one pipeline):
//   dense   (gather = 0): i runs over corpus rows [0, count); row i is corpus row i.
//   gather  (gather = 1): i runs over [0, count) candidates of query q; the row is rows[q·count + i]
//                         (exact rescoring of binary-search candidates). An index ≥ row_limit is a
//                         padding candidate and scores -3.4e38 (WGSL has no -inf literal).
// Grid: (gx, gy, Q) workgroups of WG threads; thread (q = wid.z, i) with
//       i = (wid.y · num_workgroups.x + wid.x) · WG + lid, so `count` may exceed 65535·WG.

struct Params {
  count: u32,
  dims: u32,
  gather: u32,
  row_limit: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> rows: array<u32>;
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;

const NEG_BIG: f32 = -3.4e38;

/** The builtins a scan thread is placed by (an entry-point parameter). */
struct ScanThread {
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
}

/** The score a thread writes (out = q·count + i) and the corpus row it reads. */
struct Slot {
  query: u32,
  out: u32,
  row: u32,
  /** false: nothing left to compute (past count, or a padding candidate already scored). */
  live: bool,
}

fn scan_slot(t: ScanThread) -> Slot {
  let i = (t.wid.y * t.groups.x + t.wid.x) * WG + t.lid;
  let q = t.wid.z;
  if (i >= params.count) {
    return Slot(q, 0u, 0u, false);
  }
  let out = q * params.count + i;
  if (params.gather == 0u) {
    return Slot(q, out, i, true);
  }
  let row = rows[out];
  if (row >= params.row_limit) {
    scores[out] = NEG_BIG;
    return Slot(q, out, row, false);
  }
  return Slot(q, out, row, true);
}
