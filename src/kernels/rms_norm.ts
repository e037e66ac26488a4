// Typed wrapper for shaders/rms_norm.wgsl.

import source from '../../shaders/rms_norm.wgsl?raw';
import reduceSource from '../../shaders/workgroup_reduce.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { pickReduction, withReduction, type Reduction } from './reduction';
import { pickRowSchedule, rowEntry, rowGrid, type RowSchedule } from './schedule';
import { InternalError } from '../gpu/errors';

export const RMS_NORM: ShaderSpec = {
  file: 'rms_norm.wgsl',
  source,
  includes: [{ file: 'workgroup_reduce.wgsl', source: reduceSource }],
  bindings: ['uniform', 'read', 'read', 'read', 'storage'],
};

export interface RmsNormOptions {
  /** Threads per workgroup (a power of two). */
  workgroupSize?: number;
  /** Workgroup per row (GPUs) or thread per row (CPU adapters); default picked from the adapter. */
  schedule?: RowSchedule;
  /** Scale by 1 + w instead of w (Gemma3RMSNorm). */
  unitOffset?: boolean;
  /** Add `residual` after the scaling (Gemma's post-attention / post-feedforward norms). */
  residual?: boolean;
  /** Workgroup-memory tree or subgroup operations (workgroup schedule only); default: subgroups where the device has them. */
  reduction?: Reduction;
}

export interface RmsNormBuffers {
  x: GPUBuffer;
  /** Required when created with `residual: true`; may not be y. */
  residual?: GPUBuffer;
  w: GPUBuffer;
  /** Output [rows, n]; must not be x (a buffer cannot be bound read-only and writable at once). */
  y: GPUBuffer;
}

export interface RmsNormShape {
  rows: number;
  n: number;
  eps: number;
}

export class RmsNormKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly schedule: RowSchedule,
    private readonly workgroupSize: number,
    readonly residual: boolean,
    readonly reduction: Reduction,
  ) {}

  static async create(gpu: Gpu, opts: RmsNormOptions = {}): Promise<RmsNormKernel> {
    const cpu = gpu.cpuKernel<RmsNormKernel>('rms_norm', opts); // the CPU backend's twin (src/cpu/norm_kernels.ts)
    if (cpu) return cpu;
    const schedule = opts.schedule ?? pickRowSchedule(gpu.adapter);
    const wg = opts.workgroupSize ?? (schedule === 'thread' ? 64 : 128);
    // The tree reduction halves the workgroup each step.
    if (!(wg > 0 && (wg & (wg - 1)) === 0)) throw new InternalError(`rms_norm: workgroupSize ${wg} is not a power of two`);
    const residual = opts.residual ?? false;
    // The thread schedule has no cross-thread reduction, so it never needs the subgroups feature.
    const reduction = schedule === 'thread' ? 'workgroup' : (opts.reduction ?? pickReduction(gpu));
    const spec = withReduction({ ...RMS_NORM, entryPoint: rowEntry(schedule) }, reduction, gpu);
    const kernel = await gpu.pipelines.get(spec, { WG: wg, UNIT_OFFSET: opts.unitOffset ?? false, HAS_RESIDUAL: residual });
    return new RmsNormKernel(gpu, kernel, schedule, wg, residual, reduction);
  }

  bind(b: RmsNormBuffers, label = 'rms_norm'): Bound<RmsNormShape> {
    if (this.residual && !b.residual) throw new InternalError(`${label}: residual buffer required`);
    // A disabled binding still needs a buffer; x is read-only, so binding it twice is valid.
    const d = this.gpu.dispatch(this.kernel, [b.x, b.residual ?? b.x, b.w, b.y], 12, label);
    return new Bound(d, (s: RmsNormShape) => ({
      fields: [['u32', s.rows], ['u32', s.n], ['f32', s.eps]],
      workgroups: rowGrid(this.schedule, s.rows, this.workgroupSize),
    }));
  }
}
