// sigmoid.wgsl — out[i] = 1 / (1 + exp(−x[i])) for i in [offset, offset + count) (single-label
// classifier and cross-encoder scores, multi-label problem_type).
//
// Bindings: 0 params (uniform), 1 x [*], 2 out [*] (same indexing; must not alias x).
// Dispatch: a 2-D grid of WG-thread workgroups covering `count` elements, row-major: element
//           offset + (wid.y · num_workgroups.x + wid.x) · WG + lid, so counts past
//           65535 · WG fit too.
// Numerics: exp only ever sees −|x|, so it cannot overflow: for x ≥ 0, 1 / (1 + e^−x); for x < 0,
//           e^x / (1 + e^x), which keeps the relative precision of tiny results instead of
//           rounding 1 + e^−x.

override WG: u32 = 64;

struct Params {
  count: u32,
  offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * groups.x + wid.x) * WG + lid;
  if (i >= params.count) {
    return;
  }
  let v = x[params.offset + i];
  let e = exp(-abs(v));
  out[params.offset + i] = select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}
