// Typed wrapper for shaders/pool.wgsl.

import source from '../../shaders/pool.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';

export const POOL: ShaderSpec = {
  file: 'pool.wgsl',
  source,
  bindings: ['uniform', 'read', 'read', 'read', 'storage'],
};

/** Per-sequence pooling modes, the values of the `modes` buffer (u32 each). */
export const POOL_MODE = { cls: 0, mean: 1, max: 2, last: 3, mean_sqrt_len: 4 } as const;
export type PoolMode = keyof typeof POOL_MODE;

/** The `modes` buffer contents for a batch, one u32 per sequence. */
export function poolModes(modes: readonly PoolMode[]): Uint32Array {
  return Uint32Array.from(modes, (m) => POOL_MODE[m]);
}

export interface PoolOptions {
  /** Threads per workgroup along the hidden dimension. */
  workgroupSize?: number;
}

export interface PoolBuffers {
  /** [T, H] packed hidden states. */
  hidden: GPUBuffer;
  /** u32 [B+1]: sequence b owns tokens [cuSeqLens[b], cuSeqLens[b+1]). */
  cuSeqLens: GPUBuffer;
  /** u32 [B]: POOL_MODE value per sequence. */
  modes: GPUBuffer;
  /** [B, H]. */
  out: GPUBuffer;
}

export interface PoolShape {
  batch: number;
  hidden: number;
}

export class PoolKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly workgroupSize: number,
  ) {}

  static async create(gpu: Gpu, opts: PoolOptions = {}): Promise<PoolKernel> {
    const cpu = gpu.cpuKernel<PoolKernel>('pool', opts); // the CPU backend's twin (src/cpu/gather_kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 64;
    const kernel = await gpu.pipelines.get(POOL, { WG: wg });
    return new PoolKernel(gpu, kernel, wg);
  }

  bind(b: PoolBuffers, label = 'pool'): Bound<PoolShape> {
    const d = this.gpu.dispatch(this.kernel, [b.hidden, b.cuSeqLens, b.modes, b.out], 8, label);
    return new Bound(d, (s: PoolShape) => ({
      fields: [['u32', s.batch], ['u32', s.hidden]],
      workgroups: [Math.ceil(s.hidden / this.workgroupSize), s.batch],
    }));
  }
}
