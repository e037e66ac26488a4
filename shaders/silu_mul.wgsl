// silu_mul.wgsl — Qwen3's SwiGLU: out[t, j] = silu(gateUp[t, j]) · gateUp[t, I + j], j < I.
//
// gate_proj and up_proj weights are concatenated at load into one [2I, H] matrix, so a single matmul
// produces gateUp [T, 2I]: columns [0, I) are the gate, [I, 2I) the up projection.
//
// Bindings: 0 params (uniform {tokens, inter}), 1 gateUp [T, 2I], 2 out [T, I].
// Dispatch: one thread per output element, WG per workgroup; G = ceil(T·I / WG) workgroups fold
//           into 2D as (min(G, 65535), ceil(G / 65535)), element = (wid.y · num_workgroups.x + wid.x)
//           · WG + local index; elements past T·I return.
// Numerics: silu(g) = g · sigmoid(g) from exp(−|g|) ∈ (0, 1] only, so no exp overflows to inf for
//           very negative g (a plain g / (1 + exp(−g)) is inf/inf there on some backends).

override WG: u32 = 256;

struct Params {
  tokens: u32,
  inter: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gateUp: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn silu(x: f32) -> f32 {
  let e = exp(-abs(x));
  return x * select(e, 1.0, x >= 0.0) / (1.0 + e);
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let e = (wid.y * nwg.x + wid.x) * WG + lid;
  let I = params.inter;
  if (e >= params.tokens * I) {
    return;
  }
  let t = e / I;
  let j = e - t * I;
  let g = gateUp[2u * I * t + j];
  let u = gateUp[2u * I * t + I + j];
  out[e] = silu(g) * u;
}
