// Typed wrapper for shaders/sigmoid.wgsl.

import source from '../../shaders/sigmoid.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';

export const SIGMOID: ShaderSpec = {
  file: 'sigmoid.wgsl',
  source,
  bindings: ['uniform', 'read', 'storage'],
};

export interface SigmoidOptions {
  /** Threads per workgroup. */
  workgroupSize?: number;
  /** Most workgroups along x before the grid wraps into y (default: the device limit). */
  gridWidth?: number;
}

export interface SigmoidBuffers {
  x: GPUBuffer;
  /** Same indexing as x; must not be x. */
  out: GPUBuffer;
}

export interface SigmoidShape {
  count: number;
  /** First element processed, in both x and out. */
  offset: number;
}

/** Workgroups for `count` elements as a row-major 2-D grid at most `width` wide. */
export function elementwiseGrid(count: number, workgroupSize: number, width: number): [number, number] {
  const groups = Math.ceil(count / workgroupSize);
  if (groups === 0) return [0, 1];
  const x = Math.min(groups, width);
  return [x, Math.ceil(groups / x)];
}

export class SigmoidKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly workgroupSize: number,
    private readonly gridWidth: number,
  ) {}

  static async create(gpu: Gpu, opts: SigmoidOptions = {}): Promise<SigmoidKernel> {
    const cpu = gpu.cpuKernel<SigmoidKernel>('sigmoid', opts); // the CPU backend's twin (src/cpu/row_kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 64;
    const kernel = await gpu.pipelines.get(SIGMOID, { WG: wg });
    const width = Math.min(opts.gridWidth ?? Infinity, gpu.device.limits.maxComputeWorkgroupsPerDimension);
    return new SigmoidKernel(gpu, kernel, wg, width);
  }

  bind(b: SigmoidBuffers, label = 'sigmoid'): Bound<SigmoidShape> {
    const d = this.gpu.dispatch(this.kernel, [b.x, b.out], 8, label);
    return new Bound(d, (s: SigmoidShape) => ({
      fields: [['u32', s.count], ['u32', s.offset]],
      workgroups: elementwiseGrid(s.count, this.workgroupSize, this.gridWidth),
    }));
  }
}
