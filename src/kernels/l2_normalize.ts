// Typed wrapper for shaders/l2_normalize.wgsl.

import source from '../../shaders/l2_normalize.wgsl?raw';
import reduceSource from '../../shaders/workgroup_reduce.wgsl?raw';
import { pickReduction, withReduction, type Reduction } from './reduction';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { InternalError } from '../gpu/errors';

export const L2_NORMALIZE: ShaderSpec = {
  file: 'l2_normalize.wgsl',
  source,
  includes: [{ file: 'workgroup_reduce.wgsl', source: reduceSource }],
  bindings: ['uniform', 'read', 'storage'],
};

export interface L2NormalizeOptions {
  /** false: a plain truncating copy (use_activation = false). */
  normalize: boolean;
  /** Threads per row (a power of two). */
  workgroupSize?: number;
  /** Workgroup-memory tree or subgroup operations; default: subgroups where the device has them. */
  reduction?: Reduction;
}

export interface L2NormalizeBuffers {
  /** [*, inStride]. */
  x: GPUBuffer;
  /** [*, outStride]; must not be x. */
  out: GPUBuffer;
}

export interface L2NormalizeShape {
  rows: number;
  /** First row processed, in both x and out. */
  rowOffset: number;
  /** Columns kept (matryoshka `dimensions`); ≤ inStride and ≤ outStride. */
  dims: number;
  inStride: number;
  outStride: number;
}

export class L2NormalizeKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly reduction: Reduction,
  ) {}

  static async create(gpu: Gpu, opts: L2NormalizeOptions): Promise<L2NormalizeKernel> {
    const cpu = gpu.cpuKernel<L2NormalizeKernel>('l2_normalize', opts); // the CPU backend's twin (src/cpu/gather_kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 128;
    // The tree reduction halves the workgroup each step.
    if (!(wg > 0 && (wg & (wg - 1)) === 0)) throw new InternalError(`l2_normalize: workgroupSize ${wg} is not a power of two`);
    const reduction = opts.reduction ?? pickReduction(gpu);
    const kernel = await gpu.pipelines.get(withReduction(L2_NORMALIZE, reduction, gpu), { WG: wg, NORMALIZE: opts.normalize });
    return new L2NormalizeKernel(gpu, kernel, reduction);
  }

  bind(b: L2NormalizeBuffers, label = 'l2_normalize'): Bound<L2NormalizeShape> {
    const d = this.gpu.dispatch(this.kernel, [b.x, b.out], 20, label);
    return new Bound(d, (s: L2NormalizeShape) => {
      if (s.dims > s.inStride || s.dims > s.outStride) {
        throw new InternalError(`${label}: dims ${s.dims} exceeds a row stride (in ${s.inStride}, out ${s.outStride})`);
      }
      return {
        fields: [['u32', s.rows], ['u32', s.rowOffset], ['u32', s.dims], ['u32', s.inStride], ['u32', s.outStride]],
        workgroups: [s.rows],
      };
    });
  }
}
