// Typed wrapper for shaders/softmax.wgsl.

import source from '../../shaders/softmax.wgsl?raw';
import reduceSource from '../../shaders/workgroup_reduce.wgsl?raw';
import { pickReduction, withReduction, type Reduction } from './reduction';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { InternalError } from '../gpu/errors';

export const SOFTMAX: ShaderSpec = {
  file: 'softmax.wgsl',
  source,
  includes: [{ file: 'workgroup_reduce.wgsl', source: reduceSource }],
  bindings: ['uniform', 'read', 'storage'],
};

export interface SoftmaxOptions {
  /** Threads per row (a power of two). */
  workgroupSize?: number;
  /** Workgroup-memory tree or subgroup operations; default: subgroups where the device has them. */
  reduction?: Reduction;
}

export interface SoftmaxBuffers {
  /** [*, n] logits. */
  x: GPUBuffer;
  /** [*, n] probabilities; must not be x. */
  out: GPUBuffer;
}

export interface SoftmaxShape {
  rows: number;
  /** First row processed, in both x and out. */
  rowOffset: number;
  n: number;
}

export class SoftmaxKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly reduction: Reduction,
  ) {}

  static async create(gpu: Gpu, opts: SoftmaxOptions = {}): Promise<SoftmaxKernel> {
    const cpu = gpu.cpuKernel<SoftmaxKernel>('softmax', opts); // the CPU backend's twin (src/cpu/row_kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 64;
    // The tree reductions halve the workgroup each step.
    if (!(wg > 0 && (wg & (wg - 1)) === 0)) throw new InternalError(`softmax: workgroupSize ${wg} is not a power of two`);
    const reduction = opts.reduction ?? pickReduction(gpu);
    const kernel = await gpu.pipelines.get(withReduction(SOFTMAX, reduction, gpu), { WG: wg });
    return new SoftmaxKernel(gpu, kernel, reduction);
  }

  bind(b: SoftmaxBuffers, label = 'softmax'): Bound<SoftmaxShape> {
    const d = this.gpu.dispatch(this.kernel, [b.x, b.out], 12, label);
    return new Bound(d, (s: SoftmaxShape) => ({
      fields: [['u32', s.rows], ['u32', s.rowOffset], ['u32', s.n]],
      workgroups: [s.rows],
    }));
  }
}
