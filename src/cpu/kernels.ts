// The CPU backend's kernel registry: for every WGSL wrapper in src/kernels/ (same name, same
// options, same buffers and shapes), a WebAssembly implementation whose bind() returns a CpuStep.
// gpu.cpuKernel(name, opts) on a CpuContext lands here; each src/kernels/*.ts create() asks first.
// Shape errors match the WGSL wrappers' so callers see one behaviour on both backends.
// The implementations live by kernel family, one file each (matmul_kernels, norm_kernels,
// attention_kernels, row_kernels, gather_kernels, search_kernels; shared checks in kernel_checks),
// so that a family's wrappers read beside each other and no file outgrows the house limit; this
// file only maps the wrappers' names and options onto them.

import { GpuError, InternalError } from '../gpu/errors';
import type { AttentionOptions } from '../kernels/attention';
import type { EmbeddingOptions } from '../kernels/embedding';
import type { GluOptions } from '../kernels/glu';
import type { L2NormalizeOptions } from '../kernels/l2_normalize';
import type { LayerNormOptions } from '../kernels/layer_norm';
import type { MatmulOptions } from '../kernels/matmul';
import type { RmsNormOptions } from '../kernels/rms_norm';
import type { RopeOptions } from '../kernels/rope';
import { AttentionCpu, RopeCpu } from './attention_kernels';
import type { CpuContext } from './context';
import { EmbeddingCpu, L2NormalizeCpu, PoolCpu, QuantizeBitsCpu } from './gather_kernels';
import { ACT, MatmulCpu } from './matmul_kernels';
import { LayerNormCpu, RmsNormCpu } from './norm_kernels';
import { GLU_ACT, GluCpu, SigmoidCpu, SoftmaxCpu } from './row_kernels';
import { SEARCH_FACTORIES } from './search_kernels';

/** The CPU implementation of each src/kernels/ wrapper, by the wrapper's shader name. */
const FACTORIES: Record<string, (ctx: CpuContext, opts: never) => object> = {
  matmul: (ctx, o: MatmulOptions = {}) => {
    const activation = o.activation ?? 'none';
    if (!(activation in ACT)) throw new GpuError(`matmul: unknown activation "${activation}"`);
    return new MatmulCpu(ctx, o.bias ?? false, activation, o.residual ?? false);
  },
  layer_norm: (ctx, o: LayerNormOptions = {}) => new LayerNormCpu(ctx, o.residual ?? false),
  rms_norm: (ctx, o: RmsNormOptions = {}) => new RmsNormCpu(ctx, o.unitOffset ?? false, o.residual ?? false),
  attention: (ctx, o: AttentionOptions) => {
    if (!Number.isInteger(o.headDim) || o.headDim < 1) throw new InternalError(`attention: headDim ${o.headDim} must be a positive integer`);
    return new AttentionCpu(ctx, o.headDim, o.causal, o.relativeBias ?? false);
  },
  embedding: (ctx, o: EmbeddingOptions) => new EmbeddingCpu(ctx, o.positions, o.tokenTypes),
  rope: (ctx, o: RopeOptions) => {
    if (!Number.isInteger(o.headDim) || o.headDim < 2 || o.headDim % 2 !== 0) throw new InternalError(`rope: headDim ${o.headDim} must be even and ≥ 2`);
    return new RopeCpu(ctx, o.norm, o.normUnitOffset ?? false, o.headDim);
  },
  pool: (ctx) => new PoolCpu(ctx),
  l2_normalize: (ctx, o: L2NormalizeOptions) => new L2NormalizeCpu(ctx, o.normalize),
  softmax: (ctx) => new SoftmaxCpu(ctx),
  sigmoid: (ctx) => new SigmoidCpu(ctx),
  glu: (ctx, o: GluOptions) => {
    if (!(o.activation in GLU_ACT)) throw new GpuError(`glu: unknown activation "${o.activation}"`);
    if (o.activated !== 'first' && o.activated !== 'second') throw new GpuError(`glu: activated must be 'first' or 'second', got "${o.activated}"`);
    return new GluCpu(ctx, GLU_ACT[o.activation], o.activated === 'second');
  },
  quantize_bits: (ctx) => new QuantizeBitsCpu(ctx),
  ...SEARCH_FACTORIES,
};

export const CPU_KERNELS = Object.keys(FACTORIES);

export async function createCpuKernel(ctx: CpuContext, name: string, opts: unknown): Promise<object> {
  const make = FACTORIES[name];
  if (!make) throw new GpuError(`The CPU backend has no "${name}" kernel yet (it has ${CPU_KERNELS.join(', ')}).`);
  return make(ctx, opts as never);
}