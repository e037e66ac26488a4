// subgroup_reduce.wgsl — the reductions of shaders/workgroup_reduce.wgsl (same Lane, reduce_sum,
// reduce_max) for devices with the `subgroups` feature: each subgroup reduces in registers
// (subgroupAdd / subgroupMax), its first lane writes one partial per subgroup, and every subgroup
// then reduces those few partials the same way. Two barriers per reduction instead of log2(WG) + 1.
//
// Appended by the wrappers of layer_norm, rms_norm, l2_normalize and softmax, whose WGSL then
// starts with `enable subgroups;` (ShaderSpec.enables). Uses their `override WG`; call in uniform
// control flow (barriers, and subgroup operations need every lane active).
// Subgroup sizes differ per adapter (SwiftShader 4, lavapipe 8, NVIDIA 32, AMD 32/64, Intel 8–32)
// and may differ between dispatches: nothing here assumes one. subgroup_id / num_subgroups number
// the subgroups of the workgroup, so no lane-to-subgroup layout is assumed either. WG ≥ num_subgroups,
// so `partial` sized WG always has room. The partials are added in subgroup order, so a row's result
// does not depend on scheduling (batch invariance holds).

struct Lane {
  @builtin(local_invocation_index) index: u32,
  @builtin(subgroup_invocation_id) sg_lane: u32,
  @builtin(subgroup_size) sg_size: u32,
  @builtin(subgroup_id) sg_id: u32,
  @builtin(num_subgroups) sg_count: u32,
}

var<workgroup> partial: array<f32, WG>;

fn reduce_sum(v: f32, lane: Lane) -> f32 {
  let s = subgroupAdd(v);
  if (lane.sg_lane == 0u) {
    partial[lane.sg_id] = s;
  }
  workgroupBarrier();
  var t = 0.0;
  for (var i = lane.sg_lane; i < lane.sg_count; i += lane.sg_size) {
    t += partial[i];
  }
  let total = subgroupAdd(t);
  workgroupBarrier(); // the next reduction may overwrite partial only after everyone has read it
  return total;
}

// The largest finite f32 as a hex literal (WGSL has no -inf literal).
const SUBGROUP_NEG_FLT_MAX: f32 = -0x1.fffffep+127f;

fn reduce_max(v: f32, lane: Lane) -> f32 {
  let s = subgroupMax(v);
  if (lane.sg_lane == 0u) {
    partial[lane.sg_id] = s;
  }
  workgroupBarrier();
  var t = SUBGROUP_NEG_FLT_MAX;
  for (var i = lane.sg_lane; i < lane.sg_count; i += lane.sg_size) {
    t = max(t, partial[i]);
  }
  let total = subgroupMax(t);
  workgroupBarrier();
  return total;
}
