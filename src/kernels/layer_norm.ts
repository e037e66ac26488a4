// Typed wrapper for shaders/layer_norm.wgsl.

import source from '../../shaders/layer_norm.wgsl?raw';
import reduceSource from '../../shaders/workgroup_reduce.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { pickReduction, withReduction, type Reduction } from './reduction';
import { pickRowSchedule, rowEntry, rowGrid, type RowSchedule } from './schedule';
import { InternalError } from '../gpu/errors';

export const LAYER_NORM: ShaderSpec = {
  file: 'layer_norm.wgsl',
  source,
  includes: [{ file: 'workgroup_reduce.wgsl', source: reduceSource }],
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'storage'],
};

export interface LayerNormOptions {
  /** Threads per workgroup (a power of two). */
  workgroupSize?: number;
  /** Workgroup per row (GPUs) or thread per row (CPU adapters); default picked from the adapter. */
  schedule?: RowSchedule;
  /** Workgroup-memory tree or subgroup operations (workgroup schedule only); default: subgroups where the device has them. */
  reduction?: Reduction;
  /** Add `residual` to `x` before normalizing (BERT's `LayerNorm(hidden + input_tensor)`). */
  residual?: boolean;
}

export interface LayerNormBuffers {
  x: GPUBuffer;
  /** Required when the kernel was created with `residual: true`. */
  residual?: GPUBuffer;
  gamma: GPUBuffer;
  beta: GPUBuffer;
  y: GPUBuffer;
}

export interface LayerNormShape {
  rows: number;
  n: number;
  eps: number;
}

export class LayerNormKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly residual: boolean,
    readonly schedule: RowSchedule,
    private readonly workgroupSize: number,
    readonly reduction: Reduction,
  ) {}

  static async create(gpu: Gpu, opts: LayerNormOptions = {}): Promise<LayerNormKernel> {
    const cpu = gpu.cpuKernel<LayerNormKernel>('layer_norm', opts); // the CPU backend's twin (src/cpu/norm_kernels.ts)
    if (cpu) return cpu;
    const residual = opts.residual ?? false;
    const schedule = opts.schedule ?? pickRowSchedule(gpu.adapter);
    const wg = opts.workgroupSize ?? (schedule === 'thread' ? 64 : 128);
    // The thread schedule has no cross-thread reduction, so it never needs the subgroups feature.
    const reduction = schedule === 'thread' ? 'workgroup' : (opts.reduction ?? pickReduction(gpu));
    const spec = withReduction({ ...LAYER_NORM, entryPoint: rowEntry(schedule) }, reduction, gpu);
    const kernel = await gpu.pipelines.get(spec, { WG: wg, HAS_RESIDUAL: residual });
    return new LayerNormKernel(gpu, kernel, residual, schedule, wg, reduction);
  }

  bind(b: LayerNormBuffers, label = 'layer_norm'): Bound<LayerNormShape> {
    if (this.residual && !b.residual) throw new InternalError(`${label}: residual buffer required`);
    // A disabled binding still needs a buffer; x is read-only, so binding it twice is valid.
    const d = this.gpu.dispatch(this.kernel, [b.x, b.residual ?? b.x, b.gamma, b.beta, b.y], 12, label);
    return new Bound(d, (s: LayerNormShape) => ({
      fields: [['u32', s.rows], ['u32', s.n], ['f32', s.eps]],
      workgroups: rowGrid(this.schedule, s.rows, this.workgroupSize),
    }));
  }
}
