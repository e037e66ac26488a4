// glu.wgsl — gated linear units over one fused [T, 2I] projection: out[t, j] = act(a) · b, j < I,
// where the projection's two halves are x = gateUp[t, 0..I) and y = gateUp[t, I..2I):
//   ACT_SECOND false: a = x, b = y   (ModernBERT's Wi → input, gate; Gemma's gate_proj ‖ up_proj)
//   ACT_SECOND true:  a = y, b = x   (GTE v1.5's up_gate_proj → [up | gate], activation on gate)
//   ACT 0: silu (SwiGLU), 1: exact erf GELU (GeGLU, hidden_act "gelu"), 2: GELU's tanh
//   approximation (gelu_pytorch_tanh, Gemma 3).
//
// Bindings: 0 params (uniform {tokens, inter}), 1 gateUp [T, 2I], 2 out [T, I] (not gateUp).
// Dispatch: one thread per output element, WG per workgroup; G = ceil(T·I / WG) workgroups fold
//           into 2D as (min(G, 65535), ceil(G / 65535)), element = (wid.y · num_workgroups.x + wid.x)
//           · WG + local index; elements past T·I return.
// Numerics: activations from shaders/activations.wgsl (appended): erf to ~1e-7 absolute, tanh and
//           silu from exp(−|x|) only, so nothing overflows for large |x|.

override WG: u32 = 256;
override ACT: u32 = 1u;
override ACT_SECOND: bool = false;

struct Params {
  tokens: u32,
  inter: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gateUp: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn glu_act(v: f32) -> f32 {
  switch ACT {
    case 0u: { return silu_f32(v); }
    case 2u: { return gelu_tanh_f32(v); }
    default: { return gelu_f32(v); }
  }
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
  let first = gateUp[2u * I * t + j];
  let second = gateUp[2u * I * t + I + j];
  out[e] = select(glu_act(first) * second, glu_act(second) * first, ACT_SECOND);
}
