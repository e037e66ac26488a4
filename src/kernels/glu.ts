// Typed wrapper for shaders/glu.wgsl: out[t, j] = act(a) · b over the halves of one fused [T, 2I]
// gate/up projection (SwiGLU, GeGLU with erf or tanh GELU, activation on either half).

import source from '../../shaders/glu.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import { GpuError } from '../gpu/errors';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { ACTIVATIONS } from './matmul';

export const GLU: ShaderSpec = { file: 'glu.wgsl', source, includes: [ACTIVATIONS], bindings: ['uniform', 'read', 'storage'] };

/** silu: SwiGLU; gelu: exact erf GELU; gelu_tanh: gelu_pytorch_tanh. */
export type GluActivation = 'silu' | 'gelu' | 'gelu_tanh';
const ACT: Record<GluActivation, number> = { silu: 0, gelu: 1, gelu_tanh: 2 };

/** Workgroups per grid dimension that every WebGPU device accepts. */
const MAX_GRID = 65535;

export interface GluOptions {
  activation: GluActivation;
  /**
   * Which half is activated: 'first' (act(x[:, :I]) · x[:, I:], ModernBERT, Gemma, Llama) or 'second'
   * (act(x[:, I:]) · x[:, :I], GTE v1.5's [up | gate]).
   */
  activated: 'first' | 'second';
  workgroupSize?: number;
}

export interface GluBuffers {
  /** [T, 2I]. */
  gateUp: GPUBuffer;
  /** [T, I]; may not be gateUp. */
  out: GPUBuffer;
}

export interface GluShape {
  tokens: number;
  /** Intermediate size I. */
  inter: number;
}

export class GluKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly workgroupSize: number,
  ) {}

  static async create(gpu: Gpu, opts: GluOptions): Promise<GluKernel> {
    const cpu = gpu.cpuKernel<GluKernel>('glu', opts); // the CPU backend's twin (src/cpu/row_kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 256;
    const kernel = await gpu.pipelines.get(GLU, { WG: wg, ACT: ACT[opts.activation], ACT_SECOND: opts.activated === 'second' });
    return new GluKernel(gpu, kernel, wg);
  }

  bind(b: GluBuffers, label = 'glu'): Bound<GluShape> {
    if (b.gateUp === b.out) throw new GpuError(`${label}: out may not be gateUp (a buffer cannot be bound read-only and writable at once)`);
    const d = this.gpu.dispatch(this.kernel, [b.gateUp, b.out], 8, label);
    return new Bound(d, (s: GluShape) => {
      const { tokens, inter } = s;
      for (const [name, v] of Object.entries(s)) {
        if (!Number.isInteger(v) || v < 0) throw new GpuError(`${label}: ${name} must be a non-negative integer, got ${v}`);
      }
      if (b.gateUp.size < tokens * inter * 8) throw new GpuError(`${label}: gateUp holds ${b.gateUp.size} bytes, needs ${tokens * inter * 8}`);
      if (b.out.size < tokens * inter * 4) throw new GpuError(`${label}: out holds ${b.out.size} bytes, needs ${tokens * inter * 4}`);
      const groups = Math.ceil((tokens * inter) / this.workgroupSize);
      const x = Math.min(groups, MAX_GRID);
      return { fields: [['u32', tokens], ['u32', inter]], workgroups: [x, x === 0 ? 0 : Math.ceil(groups / x)] };
    });
  }
}
