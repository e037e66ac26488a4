// Typed wrapper for shaders/silu_mul.wgsl: Qwen3's SwiGLU, out[t, j] = silu(gate[t, j]) · up[t, j]
// read from one [T, 2I] gate_proj‖up_proj matmul output.

import source from '../../shaders/silu_mul.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import { GpuError } from '../gpu/errors';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';

export const SILU_MUL: ShaderSpec = {
  file: 'silu_mul.wgsl',
  source,
  bindings: ['uniform', 'read', 'storage'],
};

/** Workgroups per grid dimension that every WebGPU device accepts. */
const MAX_GRID = 65535;

export interface SiluMulOptions {
  /** Threads per workgroup (one element each). */
  workgroupSize?: number;
}

export interface SiluMulBuffers {
  /** [T, 2I]: gate in columns [0, I), up in [I, 2I). */
  gateUp: GPUBuffer;
  /** [T, I]; may not be gateUp. */
  out: GPUBuffer;
}

export interface SiluMulShape {
  tokens: number;
  /** Intermediate size I. */
  inter: number;
}

export class SiluMulKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly workgroupSize: number,
  ) {}

  static async create(gpu: Gpu, opts: SiluMulOptions = {}): Promise<SiluMulKernel> {
    const cpu = gpu.cpuKernel<SiluMulKernel>('silu_mul', opts); // the CPU backend's twin (src/cpu/kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 256;
    const kernel = await gpu.pipelines.get(SILU_MUL, { WG: wg });
    return new SiluMulKernel(gpu, kernel, wg);
  }

  bind(b: SiluMulBuffers, label = 'silu_mul'): Bound<SiluMulShape> {
    if (b.gateUp === b.out) throw new GpuError(`${label}: out may not be gateUp (a buffer cannot be bound read-only and writable at once)`);
    const d = this.gpu.dispatch(this.kernel, [b.gateUp, b.out], 8, label);
    return new Bound(d, (s: SiluMulShape) => {
      const { tokens, inter } = s;
      for (const [name, v] of Object.entries(s)) {
        if (!Number.isInteger(v) || v < 0) throw new GpuError(`${label}: ${name} must be a non-negative integer, got ${v}`);
      }
      if (b.gateUp.size < tokens * inter * 8) throw new GpuError(`${label}: gateUp holds ${b.gateUp.size} bytes, needs ${tokens * inter * 8}`);
      if (b.out.size < tokens * inter * 4) throw new GpuError(`${label}: out holds ${b.out.size} bytes, needs ${tokens * inter * 4}`);
      const groups = Math.ceil((tokens * inter) / this.workgroupSize);
      const x = Math.min(groups, MAX_GRID);
      return {
        fields: [['u32', tokens], ['u32', inter]],
        workgroups: [x, x === 0 ? 0 : Math.ceil(groups / x)],
      };
    });
  }
}
