// How the row kernels (layer_norm, rms_norm, l2_normalize, softmax) reduce across a workgroup: a
// tree in workgroup memory (shaders/workgroup_reduce.wgsl, every adapter) or subgroup operations
// (shaders/subgroup_reduce.wgsl, devices with the `subgroups` feature). Both files define the same
// Lane struct and reduce_sum / reduce_max, so the kernel's WGSL is one text; the choice is made at
// pipeline creation by which file is appended.

import subgroupSource from '../../shaders/subgroup_reduce.wgsl?raw';
import workgroupSource from '../../shaders/workgroup_reduce.wgsl?raw';
import type { Gpu } from '../gpu/context';
import type { ShaderSpec } from '../gpu/pipelines';
import { GpuError } from '../gpu/errors';

export type Reduction = 'workgroup' | 'subgroup';

/** Subgroups where the device has them: two barriers per reduction instead of log2(WG) + 1. */
export function pickReduction(gpu: Gpu): Reduction {
  return gpu.hasSubgroups ? 'subgroup' : 'workgroup';
}

/** The reductions a device can run, for tests and benchmarks that cover every variant. */
export function reductionsOf(gpu: Gpu): Reduction[] {
  return gpu.hasSubgroups ? ['workgroup', 'subgroup'] : ['workgroup'];
}

/** `spec` (a kernel that calls reduce_sum / reduce_max) with the chosen reduction appended. */
export function withReduction(spec: ShaderSpec, reduction: Reduction, gpu: Gpu): ShaderSpec {
  if (reduction === 'subgroup') {
    if (!gpu.hasSubgroups) {
      throw new GpuError(`${spec.file}: reduction 'subgroup' needs a device with the 'subgroups' feature (${gpu.adapter.description || gpu.adapter.vendor} has none)`);
    }
    return { ...spec, enables: ['subgroups'], includes: [{ file: 'subgroup_reduce.wgsl', source: subgroupSource }] };
  }
  return { ...spec, includes: [{ file: 'workgroup_reduce.wgsl', source: workgroupSource }] };
}
