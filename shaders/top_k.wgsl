// top_k.wgsl — one pass of top-k selection: for each query, split its `count` candidates into
// chunks of `chunk` and write each chunk's best k (score, id) pairs in descending order. The host
// runs passes until one chunk is left (a chunk of ≥ 4k candidates shrinks the list ≥ 4× per pass),
// so the last pass writes exactly [Q, k].
//
// Order: higher score first; equal scores by lower id first (ties are deterministic and match a
// stable CPU sort). Selection is k rounds of a workgroup arg-max: round r takes the best candidate
// strictly below the pair picked in round r−1 in that total order, so nothing needs marking and
// duplicates cannot occur (ids are unique per query). Scores must not be NaN (the index refuses
// NaN vectors). A chunk with fewer than k candidates pads its tail with (−3.4e38, 0xffffffff);
// padding input (id 0xffffffff) is never selected. WGSL has no −inf literal, hence −3.4e38.
//
// Ids: with has_index = 0 the id of candidate j is j itself (its corpus row, first pass); with
// has_index = 1 it is ids[q·count + j] (later passes, or candidates from a rescoring gather).
//
// Bindings: 0 params (uniform), 1 scores [Q, count] f32, 2 ids [Q, count] u32 (has_index = 1; any
//           buffer otherwise), 3 out_scores [Q, chunks·k] f32, 4 out_ids [Q, chunks·k] u32.
// Dispatch: (chunks, Q) workgroups of WG threads (WG a power of two); threads stride the chunk.

override WG: u32 = 64;

struct Params {
  count: u32,
  k: u32,
  chunk: u32,
  has_index: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_scores: array<f32>;
@group(0) @binding(4) var<storage, read_write> out_ids: array<u32>;

const NONE: u32 = 0xffffffffu;
const NEG_BIG: f32 = -3.4e38;

var<workgroup> red_s: array<f32, WG>;
var<workgroup> red_i: array<u32, WG>;
var<workgroup> prev_s: f32;
var<workgroup> prev_i: u32;

// (sa, ia) ranks before (sb, ib): a real candidate, and either b is none, a scores higher, or
// they tie and a has the lower id.
fn before(sa: f32, ia: u32, sb: f32, ib: u32) -> bool {
  return ia != NONE && (ib == NONE || sa > sb || (sa == sb && ia < ib));
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let c = wid.x;
  let q = wid.y;
  let k = params.k;
  let start = c * params.chunk;
  let end = min(start + params.chunk, params.count);
  let base = q * params.count;
  let out_base = (q * groups.x + c) * k;
  for (var r = 0u; r < k; r++) {
    // Each thread's best candidate below the previous pick.
    var bs = NEG_BIG;
    var bi = NONE;
    var p_s = prev_s;
    var p_i = prev_i;
    for (var j = start + lid; j < end; j += WG) {
      let s = scores[base + j];
      var id = j;
      if (params.has_index != 0u) {
        id = ids[base + j];
      }
      if ((r == 0u || before(p_s, p_i, s, id)) && before(s, id, bs, bi)) {
        bs = s;
        bi = id;
      }
    }
    red_s[lid] = bs;
    red_i[lid] = bi;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
      if (lid < stride && before(red_s[lid + stride], red_i[lid + stride], red_s[lid], red_i[lid])) {
        red_s[lid] = red_s[lid + stride];
        red_i[lid] = red_i[lid + stride];
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      let s = red_s[0];
      let id = red_i[0];
      out_scores[out_base + r] = select(s, NEG_BIG, id == NONE);
      out_ids[out_base + r] = id;
      prev_s = s;
      prev_i = id;
    }
    workgroupBarrier();
  }
}
