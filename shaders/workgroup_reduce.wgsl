// workgroup_reduce.wgsl — tree reductions over one workgroup: every thread passes a value and gets
// the sum (or max) of all WG values back. Not a kernel of its own: the wrappers of layer_norm,
// rms_norm, l2_normalize and softmax append this text to their shader (WGSL has no includes); it uses
// their `override WG` (a power of two) and must be called in uniform control flow (it has barriers).
// shaders/subgroup_reduce.wgsl is the same interface for devices with `subgroups`; this one stays for
// adapters without them.

// The builtins a reduction needs, taken by the kernel's entry point as one struct parameter so the
// kernel reads the same with either reduction file.
struct Lane {
  @builtin(local_invocation_index) index: u32,
}

var<workgroup> partial: array<f32, WG>;

fn reduce_sum(v: f32, lane: Lane) -> f32 {
  let lid = lane.index;
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      partial[lid] += partial[lid + s];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier(); // the next reduction may overwrite partial only after everyone has read it
  return total;
}

fn reduce_max(v: f32, lane: Lane) -> f32 {
  let lid = lane.index;
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      partial[lid] = max(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}
