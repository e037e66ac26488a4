// attention.wgsl — softmax(q·kᵀ·scale)·v over a packed, padding-free batch, one output row per
// (query token, head):
//   out[t, h·HEAD_DIM + d] = Σ_j softmax_j(scale · q_t,h · k_j,g) · v_j,g[d],  g = h / (nH / nKV)
// where j runs over the keys of t's own sequence — [cuSeqLens[s], cuSeqLens[s+1]) with
// s = seqOf[t] — or, when CAUSAL, over [cuSeqLens[s], t] (key position ≤ query position) — and,
// with a sliding window W = params.window > 0, only keys with |t − j| < W: bidirectional, the W − 1
// keys either side plus t itself (ModernBERT's |i − j| ≤ local_attention/2 is W = local_attention/2 + 1);
// causal, the last W keys including t (Mistral's sliding_window = W). W = 0: no window. Packed
// sequences and the window only ever clip a contiguous key range, so every schedule stays a loop
// over [lo, hi) and the window lives in the uniform: one pipeline serves global and local layers.
// With HAS_REL_BIAS, MPNet's T5-style relative position bias is added to every score after the
// scaling: s = scale · q·k + relBias[bucket(t − j), h], relBias [32, numHeads] the shared
// encoder.relative_attention_bias table. bucket(n), n = query − key index (equal within one sequence
// to the positions HF uses, 0..len−1): keys after the query (n < 0) are buckets 16..31; |n| < 8 is
// exact; else 8 + bit_length(n²) − 7 capped at 15, which equals HF's float32
// 8 + int(log(|n|/8) / log(16) · 8) for every |n| (checked to 4096 by the oracle; capped from 128).
// HF hard-codes 32 buckets and max distance 128 whatever the config says.
// Grouped-query attention: query head h reads KV head h / (numHeads / numKvHeads).
// Q, K and V rows are read at row stride and column offset (f32 elements): head h of token t in q
// is q[t·qStride + qOffset + h·HEAD_DIM + (0..HEAD_DIM)], same for k and v with the KV head. So the
// fused QKV projection [T, (nH + 2·nKV)·HEAD_DIM] is read in place: bind it as q, k and v.
//
// Bindings: 0 params (uniform), 1 q, 2 k, 3 v (read-only; may be the same buffer), 4 seqOf u32 [T],
//           5 cuSeqLens u32 [B+1], 6 out [T, numHeads·HEAD_DIM] (must not alias q, k or v),
//           7 relBias f32 [32, numHeads] (read only with HAS_REL_BIAS).
// Entry points (same math, two schedules; the wrapper picks one):
//   main        one thread per (query, head); grid (ceil(T / WG), numHeads). Each thread streams
//               its sequence's keys from global memory. Best on CPU emulation (SwiftShader).
//   main_vec4   main with vec4 loads and vec4 private state (HEAD_DIM, strides and offsets
//               multiples of 4): a quarter of the private-array traffic, which dominates on CPU
//               emulation, where a dynamically indexed private array lives in memory.
//   main_qblock main_vec4 with QB = 4 consecutive queries (same head) per thread: each key and value
//               row is loaded once for four queries, four times the arithmetic per load, which is
//               what a CPU emulation is bound by. The four queries may straddle sequences: each keeps
//               its own key range, and the thread walks their union. Needs HEAD_DIM ≤ 128.
//               Grid (ceil(T / (4·WG)), numHeads).
//   main_tiled  one workgroup per (block of WG consecutive queries, head); grid (ceil(T / WG),
//               numHeads). The block's threads stage KV_TILE keys and values at a time in
//               workgroup memory and each consumes the ones in its own range, so K/V are read
//               from global memory once per block instead of once per query. A block may span
//               several sequences; its key range is the union of theirs.
// Numerics: online softmax in f32 — a running max m and a running sum l, rescaling l and the
//           accumulator by exp(m_old − m_new) when the max grows — so no T×T score matrix exists
//           anywhere. WGSL has no -inf literal, so m starts at -FLT_MAX; the first key's
//           rescale factor exp(-FLT_MAX − s) is then exactly 0. scale is folded into q once.
// Limits: HEAD_DIM ≤ MAX_HEAD_DIM (256): private arrays need a constant size (override-sized
//         arrays are only allowed in workgroup memory), HEAD_DIM sets the loop bounds.
//         main_tiled needs 2 · KV_TILE · HEAD_DIM · 4 (+16) bytes of workgroup memory. On
//         SwiftShader its pipeline build time grows with KV_TILE · HEAD_DIM (about 1 s per 1000
//         elements per tile), one more reason the thread schedule is the CPU choice.

override WG: u32 = 64;
override HEAD_DIM: u32 = 64;
override CAUSAL: bool = false;
override KV_TILE: u32 = 16;
override HAS_REL_BIAS: bool = false;

const MAX_HEAD_DIM: u32 = 256u;
// The largest finite f32 as a hex literal: Tint rejects decimal 3.4028235e38 (not exactly an f32).
const NEG_FLT_MAX: f32 = -0x1.fffffep+127f;

struct Params {
  tokens: u32,
  num_heads: u32,
  num_kv_heads: u32,
  q_stride: u32,
  k_stride: u32,
  v_stride: u32,
  q_offset: u32,
  k_offset: u32,
  v_offset: u32,
  scale: f32,
  window: u32,
  _pad0: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
// vec4 views of the same bindings, used only by main_vec4 (an entry point may use one of the two).
@group(0) @binding(1) var<storage, read> q4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> seq_of: array<u32>;
@group(0) @binding(5) var<storage, read> cu_seq_lens: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read> rel_bias: array<f32>;

// MPNet's relative position bias of query t and key j (same sequence) for head h; 0 without it.
fn position_bias(t: u32, j: u32, h: u32) -> f32 {
  if (!HAS_REL_BIAS) {
    return 0.0;
  }
  let after = j > t; // key after the query: n = t − j < 0
  let a = select(t - j, j - t, after);
  var bucket = a;
  if (a >= 128u) {
    bucket = 15u; // also keeps a·a below 2^32
  } else if (a >= 8u) {
    bucket = min(15u, 8u + (32u - countLeadingZeros(a * a)) - 7u);
  }
  return rel_bias[(select(0u, 16u, after) + bucket) * params.num_heads + h];
}

// One query's state: its scaled q row, the running max and sum, and the unnormalized output.
var<private> q_row: array<f32, MAX_HEAD_DIM>;
var<private> acc: array<f32, MAX_HEAD_DIM>;
var<private> run_max: f32;
var<private> run_sum: f32;

var<workgroup> k_tile: array<f32, KV_TILE * HEAD_DIM>;
var<workgroup> v_tile: array<f32, KV_TILE * HEAD_DIM>;
var<workgroup> block_keys: vec2<u32>;

fn kv_head(h: u32) -> u32 {
  return h / (params.num_heads / params.num_kv_heads);
}

// Load q for (t, h), scaled, and reset the softmax state.
fn begin_query(t: u32, h: u32) {
  let base = t * params.q_stride + params.q_offset + h * HEAD_DIM;
  for (var d = 0u; d < HEAD_DIM; d++) {
    q_row[d] = q[base + d] * params.scale;
    acc[d] = 0.0;
  }
  run_max = NEG_FLT_MAX;
  run_sum = 0.0;
}

// Fold score s into the running max and sum; returns the weight exp(s − max) of its value row.
fn online_softmax_step(s: f32) -> f32 {
  if (s > run_max) {
    let correction = exp(run_max - s);
    run_sum *= correction;
    for (var d = 0u; d < HEAD_DIM; d++) {
      acc[d] *= correction;
    }
    run_max = s;
  }
  let p = exp(s - run_max);
  run_sum += p;
  return p;
}

fn end_query(t: u32, h: u32) {
  let base = (t * params.num_heads + h) * HEAD_DIM;
  let inv_sum = 1.0 / run_sum; // ≥ 1: the max key contributes exp(0)
  for (var d = 0u; d < HEAD_DIM; d++) {
    out[base + d] = acc[d] * inv_sum;
  }
}

// Keys [start, end) of query t: its sequence, cut at t itself when causal, and to |t − j| < window.
// Both ends are non-decreasing in t, which main_tiled's block range relies on.
fn key_range(t: u32) -> vec2<u32> {
  let s = seq_of[t];
  var lo = cu_seq_lens[s];
  var hi = select(cu_seq_lens[s + 1u], t + 1u, CAUSAL);
  let w = params.window;
  if (w > 0u) {
    lo = max(lo, select(0u, t + 1u - w, t + 1u >= w));
    hi = min(hi, t + w);
  }
  return vec2<u32>(lo, hi);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let h = gid.y;
  if (t >= params.tokens || h >= params.num_heads) {
    return;
  }
  let g = kv_head(h);
  let keys = key_range(t);
  begin_query(t, h);
  for (var j = keys.x; j < keys.y; j++) {
    let kb = j * params.k_stride + params.k_offset + g * HEAD_DIM;
    var s = 0.0;
    for (var d = 0u; d < HEAD_DIM; d++) {
      s += q_row[d] * k[kb + d];
    }
    let p = online_softmax_step(s + position_bias(t, j, h));
    let vb = j * params.v_stride + params.v_offset + g * HEAD_DIM;
    for (var d = 0u; d < HEAD_DIM; d++) {
      acc[d] += p * v[vb + d];
    }
  }
  end_query(t, h);
}

@compute @workgroup_size(WG)
fn main_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t0 = wid.x * WG; // < tokens: the grid is ceil(T / WG) blocks
  let h = wid.y;
  let g = kv_head(h);
  let t = t0 + lid;
  let in_range = t < params.tokens;

  // The block's key range (union of its queries' ranges), made uniform for the tile loop.
  if (lid == 0u) {
    let last = min(t0 + WG, params.tokens) - 1u;
    block_keys = vec2<u32>(key_range(t0).x, key_range(last).y);
  }
  let block = workgroupUniformLoad(&block_keys);

  var keys = vec2<u32>(0u, 0u);
  if (in_range) {
    keys = key_range(t);
    begin_query(t, h);
  }
  for (var tile = block.x; tile < block.y; tile += KV_TILE) {
    // Neighbouring threads load neighbouring elements of a key row (coalesced); the last tile
    // may be partial.
    let tile_elems = min(KV_TILE, block.y - tile) * HEAD_DIM;
    for (var e = lid; e < tile_elems; e += WG) {
      let j = tile + e / HEAD_DIM;
      let d = e % HEAD_DIM;
      k_tile[e] = k[j * params.k_stride + params.k_offset + g * HEAD_DIM + d];
      v_tile[e] = v[j * params.v_stride + params.v_offset + g * HEAD_DIM + d];
    }
    workgroupBarrier();
    let j_end = min(keys.y, tile + KV_TILE);
    for (var j = max(keys.x, tile); j < j_end; j++) {
      let kb = (j - tile) * HEAD_DIM;
      var s = 0.0;
      for (var d = 0u; d < HEAD_DIM; d++) {
        s += q_row[d] * k_tile[kb + d];
      }
      let p = online_softmax_step(s + position_bias(t, j, h));
      for (var d = 0u; d < HEAD_DIM; d++) {
        acc[d] += p * v_tile[kb + d];
      }
    }
    workgroupBarrier();
  }
  if (in_range) {
    end_query(t, h);
  }
}

var<private> q_row4: array<vec4<f32>, MAX_HEAD_DIM / 4u>;
var<private> acc4: array<vec4<f32>, MAX_HEAD_DIM / 4u>;

// q_row4 · k[j, head g] for main_vec4.
fn score4(j: u32, g: u32) -> f32 {
  let kb = (j * params.k_stride + params.k_offset + g * HEAD_DIM) / 4u;
  var s4 = vec4<f32>(0.0);
  for (var d = 0u; d < HEAD_DIM / 4u; d++) {
    s4 += q_row4[d] * k4[kb + d];
  }
  return s4.x + s4.y + s4.z + s4.w;
}

@compute @workgroup_size(WG)
fn main_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let h = gid.y;
  if (t >= params.tokens || h >= params.num_heads) {
    return;
  }
  let n4 = HEAD_DIM / 4u;
  let g = kv_head(h);
  let keys = key_range(t);
  let qb = (t * params.q_stride + params.q_offset + h * HEAD_DIM) / 4u;
  for (var d = 0u; d < n4; d++) {
    q_row4[d] = q4[qb + d] * params.scale;
    acc4[d] = vec4<f32>(0.0);
  }
  var m = NEG_FLT_MAX;
  var l = 0.0;
  for (var j = keys.x; j < keys.y; j++) {
    let s = score4(j, g) + position_bias(t, j, h);
    if (s > m) {
      let correction = exp(m - s);
      l *= correction;
      for (var d = 0u; d < n4; d++) {
        acc4[d] *= correction;
      }
      m = s;
    }
    let p = exp(s - m);
    l += p;
    let vb = (j * params.v_stride + params.v_offset + g * HEAD_DIM) / 4u;
    for (var d = 0u; d < n4; d++) {
      acc4[d] += p * v4[vb + d];
    }
  }
  let ob = (t * params.num_heads + h) * HEAD_DIM;
  let inv_l = 1.0 / l;
  for (var d = 0u; d < n4; d++) {
    let a = acc4[d] * inv_l;
    out[ob + 4u * d] = a.x;
    out[ob + 4u * d + 1u] = a.y;
    out[ob + 4u * d + 2u] = a.z;
    out[ob + 4u * d + 3u] = a.w;
  }
}

// main_qblock's state: four queries' scaled q rows and accumulators (HEAD_DIM ≤ 128 → 32 vec4 each),
// and their key ranges, running maxima and sums.
const QB: u32 = 4u;
const QB_HD4: u32 = 32u;
var<private> qb_q: array<vec4<f32>, 128>;
var<private> qb_acc: array<vec4<f32>, 128>;
var<private> qb_lo: array<u32, 4>;
var<private> qb_hi: array<u32, 4>;
var<private> qb_m: array<f32, 4>;
var<private> qb_l: array<f32, 4>;

// Fold score s of key j into query i's running state; returns the weight of v_j (0 outside its range).
fn qblock_step(i: u32, j: u32, s: f32) -> f32 {
  if (j < qb_lo[i] || j >= qb_hi[i]) {
    return 0.0;
  }
  if (s > qb_m[i]) {
    let correction = exp(qb_m[i] - s);
    qb_l[i] *= correction;
    for (var d = 0u; d < HEAD_DIM / 4u; d++) {
      qb_acc[i * QB_HD4 + d] *= correction;
    }
    qb_m[i] = s;
  }
  let p = exp(s - qb_m[i]);
  qb_l[i] += p;
  return p;
}

@compute @workgroup_size(WG)
fn main_qblock(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t0 = gid.x * QB;
  let h = gid.y;
  if (t0 >= params.tokens || h >= params.num_heads) {
    return;
  }
  let n4 = HEAD_DIM / 4u;
  let g = kv_head(h);
  var first = 0xffffffffu;
  var last = 0u;
  for (var i = 0u; i < QB; i++) {
    let t = t0 + i;
    qb_m[i] = NEG_FLT_MAX;
    qb_l[i] = 0.0;
    qb_lo[i] = 0u;
    qb_hi[i] = 0u;
    if (t < params.tokens) {
      let r = key_range(t);
      qb_lo[i] = r.x;
      qb_hi[i] = r.y;
      first = min(first, r.x);
      last = max(last, r.y);
    }
    let qb = (min(t, params.tokens - 1u) * params.q_stride + params.q_offset + h * HEAD_DIM) / 4u;
    for (var d = 0u; d < n4; d++) {
      qb_q[i * QB_HD4 + d] = q4[qb + d] * params.scale;
      qb_acc[i * QB_HD4 + d] = vec4<f32>(0.0);
    }
  }
  for (var j = first; j < last; j++) {
    let kb = (j * params.k_stride + params.k_offset + g * HEAD_DIM) / 4u;
    var s = vec4<f32>(0.0);
    for (var d = 0u; d < n4; d++) {
      let kr = k4[kb + d];
      s += vec4<f32>(dot(qb_q[d], kr), dot(qb_q[QB_HD4 + d], kr), dot(qb_q[2u * QB_HD4 + d], kr), dot(qb_q[3u * QB_HD4 + d], kr));
    }
    if (HAS_REL_BIAS) {
      // Queries past the end read a clamped row; their outputs are never written.
      s += vec4<f32>(position_bias(t0, j, h), position_bias(t0 + 1u, j, h), position_bias(t0 + 2u, j, h), position_bias(t0 + 3u, j, h));
    }
    let p = vec4<f32>(qblock_step(0u, j, s.x), qblock_step(1u, j, s.y), qblock_step(2u, j, s.z), qblock_step(3u, j, s.w));
    let vb = (j * params.v_stride + params.v_offset + g * HEAD_DIM) / 4u;
    for (var d = 0u; d < n4; d++) {
      let vr = v4[vb + d];
      qb_acc[d] += p.x * vr;
      qb_acc[QB_HD4 + d] += p.y * vr;
      qb_acc[2u * QB_HD4 + d] += p.z * vr;
      qb_acc[3u * QB_HD4 + d] += p.w * vr;
    }
  }
  for (var i = 0u; i < QB; i++) {
    let t = t0 + i;
    if (t < params.tokens) {
      let ob = (t * params.num_heads + h) * HEAD_DIM;
      let inv_l = 1.0 / qb_l[i];
      for (var d = 0u; d < n4; d++) {
        let a = qb_acc[i * QB_HD4 + d] * inv_l;
        out[ob + 4u * d] = a.x;
        out[ob + 4u * d + 1u] = a.y;
        out[ob + 4u * d + 2u] = a.z;
        out[ob + 4u * d + 3u] = a.w;
      }
    }
  }
}
