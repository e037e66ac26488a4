// Typed wrapper for the three matmul kernels: shaders/matmul_naive.wgsl, matmul_regblock.wgsl and
// matmul_tiled.wgsl. All compute y[M, N] = act(x[M, K] · Wᵀ + bias[N]) + residual[M, N] for weights
// stored [N, K] row-major (out, in) as in safetensors, with the same bindings, so a caller switches
// variant without touching buffers. W is stored f32 or f16 (`weightDtype`): one WGSL source per
// variant, its WEIGHT_T alias bound at pipeline creation (src/gpu/storage_dtype.ts).

import naiveSource from '../../shaders/matmul_naive.wgsl?raw';
import regblockSource from '../../shaders/matmul_regblock.wgsl?raw';
import tiledSource from '../../shaders/matmul_tiled.wgsl?raw';
import epilogueSource from '../../shaders/matmul_epilogue.wgsl?raw';
import activationsSource from '../../shaders/activations.wgsl?raw';
import { Bound, type Dispatch, type Gpu, type Plan } from '../gpu/context';
import type { AdapterReport } from '../gpu/device';
import { GpuError } from '../gpu/errors';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { dtypeBytes, withWeightType, type StorageDtype } from '../gpu/storage_dtype';

export type MatmulVariant = 'naive' | 'regblock' | 'tiled';
export type Activation = 'none' | 'gelu' | 'silu' | 'tanh' | 'relu';

export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['naive', 'regblock', 'tiled'];

const BINDINGS = ['uniform', 'read', 'read', 'read', 'read', 'storage'] as const;

/** The bias / activation / residual epilogue shared by every variant (appended to each source). */
const EPILOGUE = { file: 'matmul_epilogue.wgsl', source: epilogueSource };
export const ACTIVATIONS = { file: 'activations.wgsl', source: activationsSource };

export const MATMUL_SHADERS: Record<MatmulVariant, ShaderSpec> = {
  naive: { file: 'matmul_naive.wgsl', source: naiveSource, bindings: BINDINGS, includes: [EPILOGUE, ACTIVATIONS] },
  regblock: { file: 'matmul_regblock.wgsl', source: regblockSource, bindings: BINDINGS, includes: [EPILOGUE, ACTIVATIONS] },
  tiled: { file: 'matmul_tiled.wgsl', source: tiledSource, bindings: BINDINGS, includes: [EPILOGUE, ACTIVATIONS] },
};

/** ACT override values, as the shaders' `activate()` switch reads them. */
const ACT: Record<Activation, number> = { none: 0, gelu: 1, silu: 2, tanh: 3, relu: 4 };

/**
 * Outputs per workgroup along [N, M]: the grid is ceil(N / cols) × ceil(M / rows).
 * naive: 8×8 threads, 1 output each. regblock: 8×8 threads, 8×8 outputs each. tiled: 64×64 tile.
 */
const TILE: Record<MatmulVariant, [number, number]> = { naive: [8, 8], regblock: [64, 64], tiled: [64, 64] };

export interface MatmulOptions {
  /** Default: pickMatmulVariant(gpu.adapter). */
  variant?: MatmulVariant;
  /** Add bias[N] before the activation. */
  bias?: boolean;
  activation?: Activation;
  /** Add residual[M, N] after the activation (dense + residual before LayerNorm, o_proj/down_proj + residual). */
  residual?: boolean;
  /** How W is stored: 'f32' (default) or 'f16' (needs shader-f16; x, bias, residual, y stay f32). */
  weightDtype?: StorageDtype;
}

export interface MatmulBuffers {
  x: GPUBuffer;
  /** [N, K] row-major, in the kernel's weightDtype (gpu.upload(…, dtype) records it). */
  w: GPUBuffer;
  /** Required when created with `bias: true`. */
  bias?: GPUBuffer;
  /** Required when created with `residual: true`; may not be `y`. */
  residual?: GPUBuffer;
  y: GPUBuffer;
}

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
}

/**
 * The variant suited to an adapter: on CPU implementations (SwiftShader, WARP, llvmpipe) workgroup
 * memory and barriers cost more than they save, so register blocking wins; real GPUs want tiling.
 */
export function pickMatmulVariant(adapter: AdapterReport): MatmulVariant {
  return adapter.isSoftware ? 'regblock' : 'tiled';
}

/** Floating-point operations of one matmul (multiply and add counted separately). */
export function flops(shape: MatmulShape): number {
  return 2 * shape.M * shape.N * shape.K;
}

/**
 * regblock has two entry points over one bind group layout: `main` reads x and W as vec4s and needs
 * K % 4 == 0, `main_any_k` takes any K. The shape picks the pipeline at each update; the Params
 * buffer and bind group are shared, since both pipelines use the same layout object.
 */
class RegblockBound extends Bound<MatmulShape> {
  private anyK = false;

  constructor(
    dispatch: Dispatch,
    plan: (shape: MatmulShape) => Plan,
    private readonly anyKPipeline: GPUComputePipeline,
  ) {
    super(dispatch, plan);
  }

  override update(shape: MatmulShape): this {
    super.update(shape);
    this.anyK = shape.K % 4 !== 0;
    return this;
  }

  override encode(pass: GPUComputePassEncoder): void {
    if (!this.anyK) {
      super.encode(pass);
      return;
    }
    const [x, y, z] = this.dispatch.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    pass.setPipeline(this.anyKPipeline);
    pass.setBindGroup(0, this.dispatch.bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }
}

export class MatmulKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    /** regblock's any-K entry point; null for the other variants, which take any K in `main`. */
    private readonly anyK: CompiledKernel | null,
    readonly variant: MatmulVariant,
    readonly bias: boolean,
    readonly activation: Activation,
    readonly residual: boolean,
    readonly weightDtype: StorageDtype,
  ) {}

  static async create(gpu: Gpu, opts: MatmulOptions = {}): Promise<MatmulKernel> {
    const cpu = gpu.cpuKernel<MatmulKernel>('matmul', opts); // the CPU backend's twin (src/cpu/matmul_kernels.ts)
    if (cpu) return cpu;
    const variant = opts.variant ?? pickMatmulVariant(gpu.adapter);
    const bias = opts.bias ?? false;
    const activation = opts.activation ?? 'none';
    const residual = opts.residual ?? false;
    const weightDtype = opts.weightDtype ?? 'f32';
    const base = MATMUL_SHADERS[variant];
    if (!base) throw new GpuError(`matmul: unknown variant "${variant}" (expected ${MATMUL_VARIANTS.join(', ')})`);
    if (weightDtype === 'f16' && !gpu.hasF16) throw new GpuError('matmul: f16 weights need the shader-f16 feature, which this device lacks');
    const spec = withWeightType(base, weightDtype);
    if (!(activation in ACT)) throw new GpuError(`matmul: unknown activation "${activation}"`);
    const overrides = { HAS_BIAS: bias, ACT: ACT[activation], HAS_RESIDUAL: residual };
    const [kernel, anyK] = await Promise.all([
      gpu.pipelines.get(spec, overrides),
      variant === 'regblock' ? gpu.pipelines.get({ ...spec, entryPoint: 'main_any_k' }, overrides) : null,
    ]);
    return new MatmulKernel(gpu, kernel, anyK, variant, bias, activation, residual, weightDtype);
  }

  bind(b: MatmulBuffers, label = `matmul_${this.variant}`): Bound<MatmulShape> {
    if (this.bias && !b.bias) throw new GpuError(`${label}: bias buffer required`);
    if (this.residual && !b.residual) throw new GpuError(`${label}: residual buffer required`);
    if (b.residual === b.y) throw new GpuError(`${label}: residual may not be y (a buffer cannot be bound read-only and writable at once)`);
    // An f32 buffer read as f16 (or the reverse) would give garbage, not an error: refuse it here.
    const wDtype = this.gpu.dtypeOf(b.w);
    if (wDtype !== this.weightDtype) throw new GpuError(`${label}: w is stored as ${wDtype}, but this kernel reads ${this.weightDtype} weights`);
    const wBytes = dtypeBytes(this.weightDtype);
    // A disabled binding still needs a buffer; x is read-only, so binding it again is valid.
    const d = this.gpu.dispatch(this.kernel, [b.x, b.w, b.bias ?? b.x, b.residual ?? b.x, b.y], 12, label);
    const [cols, rows] = TILE[this.variant];
    const plan = (s: MatmulShape): Plan => {
      const { M, N, K } = s;
      for (const [name, v] of Object.entries(s)) {
        if (!Number.isInteger(v) || v < 0) throw new GpuError(`${label}: ${name} must be a non-negative integer, got ${v}`);
      }
      // Robust buffer access would silently clamp out-of-range reads; say what is wrong instead.
      const need: [string, GPUBuffer | undefined, number][] = [
        ['x', b.x, M * K * 4],
        ['w', b.w, N * K * wBytes],
        ['bias', this.bias ? b.bias : undefined, N * 4],
        ['residual', this.residual ? b.residual : undefined, M * N * 4],
        ['y', b.y, M * N * 4],
      ];
      for (const [name, buf, bytes] of need) {
        if (buf && buf.size < bytes) throw new GpuError(`${label}: ${name} holds ${buf.size} bytes, M=${M} N=${N} K=${K} needs ${bytes}`);
      }
      return {
        fields: [['u32', M], ['u32', N], ['u32', K]],
        workgroups: [Math.ceil(N / cols), Math.ceil(M / rows)],
      };
    };
    return this.anyK ? new RegblockBound(d, plan, this.anyK.pipeline) : new Bound(d, plan);
  }
}
