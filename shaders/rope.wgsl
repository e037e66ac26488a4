// rope.wgsl — rotary position embedding, in place, on the q or k heads of a fused QKV buffer, with
// Qwen3's per-head RMSNorm (q_norm / k_norm) first when HAS_NORM:
//   head j of token t is x[t·stride + offset + j·HEAD_DIM + (0..HEAD_DIM)], j < numHeads;
//   HAS_NORM: x ← x · rsqrt(mean(x²) + eps) · w       (w multiplies directly; with NORM_UNIT_OFFSET
//             it is 1 + w, Gemma 3's q_norm / k_norm)
//   rotate-half, for i < HEAD_DIM/2 with θ = pos · inv_freq_i, pos = positions[t], inv_freq_i from the
//   host (theta^(−2i/HEAD_DIM), or its NTK rescaling for GTE v1.5: the shader only sees the table):
//     (x_i, x_{i+HEAD_DIM/2}) ← (x_i cos θ − x_{i+HEAD_DIM/2} sin θ, x_{i+HEAD_DIM/2} cos θ + x_i sin θ)
//
// Bindings: 0 params (uniform), 1 x (read_write, updated in place), 2 positions u32 [T],
//           3 normWeight [HEAD_DIM] (bound but unread without HAS_NORM).
// Dispatch: a 2-D grid of WG-thread workgroups, one thread per (token, head), thread
//           (wid.y · num_workgroups.x + wid.x) · WG + lid = t · numHeads + j. A thread reads its head
//           whole before writing it and no two threads share a head, so in place is safe.
// Angles: the naive f32 angle pos · inv_freq (HF's float32 path) is off by up to ulp(θ)/2 — 6e-5
//         rad at pos 2000 — and WGSL's sin/cos only promise 2^-11 absolute error inside [−π, π].
//         Instead the host passes, per frequency, inv_freq / 2π as a 64-bit fixed-point fraction
//         of a turn (freq[i] = hi, lo u32 words, computed in float64). pos · that, mod 1 turn, is
//         exact integer arithmetic (u32 wrap-around + a 32×32→64 high product); its top bits give
//         the quadrant, the rest a remainder in [−π/4, π/4] (resolution 2^-32 turn), where minimax
//         polynomials (fdlibm's k_sinf/k_cosf coefficients) give sin and cos to about 1 f32 ulp.
//         Against a float64 reference (float64 θ, cos, sin) the output differs by < 1e-6 absolute
//         on values of magnitude ≤ 5, at positions up to 2047 and equally at 32767 (the tests
//         hold it to 1e-5, and 3e-6 at 32767): f32 rounding of the products only. HF's float32
//         angle alone is off by up to 1.1e-4 in cos/sin at pos 2000 and 1.8e-3 at 32767.
// Limits: HEAD_DIM even and ≤ 256 (the freq table is sized for 128 frequencies).

override WG: u32 = 64;
override HEAD_DIM: u32 = 128;
override HAS_NORM: bool = false;
override NORM_UNIT_OFFSET: bool = false;

const MAX_FREQS: u32 = 128u;
// One turn is 2^32 units of the fixed-point angle.
const RAD_PER_UNIT: f32 = 1.4629180792671596e-9; // 2π / 2^32

// fdlibm k_sinf.c / k_cosf.c minimax coefficients for |a| ≤ π/4.
const S1: f32 = -0.166666666416265235595;
const S2: f32 = 0.0083333293858894631756;
const S3: f32 = -0.000198393348360966317347;
const S4: f32 = 0.0000027183114939898219064;
const C0: f32 = -0.499999997251031003120;
const C1: f32 = 0.0416666233237390631894;
const C2: f32 = -0.00138867637746099294692;
const C3: f32 = 0.0000243904487962774090654;

struct Params {
  tokens: u32,
  num_heads: u32,
  stride: u32,
  offset: u32,
  eps: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  // Frequency i: (hi, lo) = freq[i / 2].xy (even i) or .zw (odd i); value (hi·2^32 + lo) / 2^64
  // turns per position.
  freq: array<vec4<u32>, MAX_FREQS / 2u>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> norm_weight: array<f32>;

// High 32 bits of the 64-bit product a·b, from 16-bit halves (WGSL has no 64-bit integers).
fn mul_hi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = ((a0 * b0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

// (cos θ, sin θ) for θ = pos · inv_freq[i].
fn cos_sin(pos: u32, i: u32) -> vec2<f32> {
  let f = params.freq[i >> 1u];
  let hi = select(f.x, f.z, (i & 1u) == 1u);
  let lo = select(f.y, f.w, (i & 1u) == 1u);
  // θ in units of 2^-32 turn, mod one turn; u32 multiplication wraps, which is the mod.
  let turns = pos * hi + mul_hi(pos, lo);
  // Nearest quarter turn, and the remainder as a signed offset in [−1/8, 1/8) turn.
  let quadrant = (turns + 0x20000000u) >> 30u;
  let a = f32(bitcast<i32>(turns - (quadrant << 30u))) * RAD_PER_UNIT;
  let z = a * a;
  let s = a + a * z * (S1 + z * (S2 + z * (S3 + z * S4)));
  let c = 1.0 + z * (C0 + z * (C1 + z * (C2 + z * C3)));
  switch quadrant {
    case 0u: { return vec2<f32>(c, s); }
    case 1u: { return vec2<f32>(-s, c); }
    case 2u: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let id = (wid.y * groups.x + wid.x) * WG + lid;
  if (id >= params.tokens * params.num_heads) {
    return;
  }
  let t = id / params.num_heads;
  let j = id % params.num_heads;
  let base = t * params.stride + params.offset + j * HEAD_DIM;
  let half = HEAD_DIM / 2u;
  let pos = positions[t];

  var inv_rms = 1.0;
  if (HAS_NORM) {
    var q = 0.0;
    for (var i = 0u; i < HEAD_DIM; i++) {
      let v = x[base + i];
      q += v * v;
    }
    inv_rms = inverseSqrt(q / f32(HEAD_DIM) + params.eps);
  }

  for (var i = 0u; i < half; i++) {
    var a = x[base + i];
    var b = x[base + i + half];
    if (HAS_NORM) {
      let wa = norm_weight[i];
      let wb = norm_weight[i + half];
      a = a * inv_rms * select(wa, 1.0 + wa, NORM_UNIT_OFFSET);
      b = b * inv_rms * select(wb, 1.0 + wb, NORM_UNIT_OFFSET);
    }
    let cs = cos_sin(pos, i);
    x[base + i] = a * cs.x - b * cs.y;
    x[base + i + half] = b * cs.x + a * cs.y;
  }
}
