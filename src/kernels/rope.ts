// Typed wrapper for shaders/rope.wgsl.

import source from '../../shaders/rope.wgsl?raw';
import { Bound, type Gpu, type ParamField } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { elementwiseGrid } from './sigmoid';
import { InternalError } from '../gpu/errors';

export const ROPE: ShaderSpec = {
  file: 'rope.wgsl',
  source,
  bindings: ['uniform', 'storage', 'read', 'read'],
};

/** The shader's frequency table holds this many (hi, lo) pairs: head dims up to 256. */
export const ROPE_MAX_HEAD_DIM = 256;
/** Params: 8 scalars, then the table of ROPE_MAX_HEAD_DIM / 2 (hi, lo) u32 pairs. */
const PARAMS_BYTES = 32 + (ROPE_MAX_HEAD_DIM / 2) * 8;

export interface RopeOptions {
  /** Apply Qwen3's per-head RMSNorm (q_norm / k_norm) before the rotation; needs `normWeight`. */
  norm: boolean;
  /** With norm: scale by 1 + w (Gemma3RMSNorm's q_norm / k_norm) instead of w. */
  normUnitOffset?: boolean;
  /** Even, ≤ ROPE_MAX_HEAD_DIM. */
  headDim: number;
  /** Threads per workgroup (one (token, head) each). */
  workgroupSize?: number;
  /** Most workgroups along x before the grid wraps into y (default: the device limit). */
  gridWidth?: number;
}

export interface RopeBuffers {
  /** Rotated in place, e.g. the fused QKV projection [T, (nH + 2·nKV)·headDim]. */
  x: GPUBuffer;
  /** u32 [T]: position of each token within its sequence. */
  positions: GPUBuffer;
  /** [headDim]; required when created with `norm: true`. */
  normWeight?: GPUBuffer;
}

export interface RopeShape {
  tokens: number;
  numHeads: number;
  /** Row stride of x in f32 elements. */
  stride: number;
  /** Column of head 0 in f32 elements (0 for q, nH·headDim for k in a fused QKV buffer). */
  offset: number;
  /** rope_theta (1e6 for Qwen3). */
  theta: number;
  /** Fixed NTK rescaling of the frequencies (GTE v1.5's rope_scaling type "ntk"); absent: plain. */
  ntk?: NtkScaling;
  /** rms_norm_eps; unused without `norm`. */
  eps: number;
}

/**
 * GTE v1.5's NTKScalingRotaryEmbedding, as it stands after __init__ (it rebuilds its cache for
 * max_position_embeddings · factor at once, so the scaling applies to every input, however short):
 *   mixedB absent: inv_freq_i = (theta · factor)^(−2i/d) / factor^(2/d)
 *   mixedB b:      inv_freq_i = theta^(−2i/d) / exp(a · (i + 1)^b),  a = ln(factor) / (d/2)^b
 * factor ≤ 1 leaves the plain frequencies.
 */
export interface NtkScaling {
  factor: number;
  mixedB?: number | null;
}

/** inv_freq_i in float64 for i < headDim/2: theta^(−2i/headDim) (HF's formula), NTK-rescaled when asked. */
export function ropeInverseFrequencies(theta: number, headDim: number, ntk?: NtkScaling): Float64Array {
  const half = headDim / 2;
  const out = new Float64Array(half);
  const scaled = ntk !== undefined && ntk.factor > 1;
  const mixedB = ntk?.mixedB ?? null;
  const base = scaled && mixedB === null ? theta * ntk.factor : theta;
  const a = scaled && mixedB !== null ? Math.log(ntk.factor) / half ** mixedB : 0;
  for (let i = 0; i < half; i++) {
    let inv = 1 / base ** ((2 * i) / headDim);
    if (scaled) inv = mixedB === null ? inv / ntk.factor ** (2 / headDim) : inv / Math.exp(a * (i + 1) ** mixedB);
    out[i] = inv;
  }
  return out;
}

/**
 * Per frequency i < headDim/2: inv_freq_i / 2π turns per position as a 64-bit fixed-point
 * fraction, [hi, lo] u32 words, from the float64 ropeInverseFrequencies.
 */
export function ropeFrequencyTable(theta: number, headDim: number, ntk?: NtkScaling): Uint32Array {
  const half = headDim / 2;
  const table = new Uint32Array(half * 2);
  const inv = ropeInverseFrequencies(theta, headDim, ntk);
  for (let i = 0; i < half; i++) {
    const turns = inv[i] / (2 * Math.PI); // inv ≤ 1 (≤ 1/factor^(2/d) when scaled), so hi < 2^30
    const scaled = turns * 2 ** 32; // exact scaling
    const hi = Math.floor(scaled);
    table[2 * i] = hi;
    table[2 * i + 1] = Math.floor((scaled - hi) * 2 ** 32); // the fraction is exact in float64
  }
  return table;
}

export class RopeKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly norm: boolean,
    readonly headDim: number,
    readonly workgroupSize: number,
    private readonly gridWidth: number,
  ) {}

  static async create(gpu: Gpu, opts: RopeOptions): Promise<RopeKernel> {
    const cpu = gpu.cpuKernel<RopeKernel>('rope', opts); // the CPU backend's twin (src/cpu/attention_kernels.ts)
    if (cpu) return cpu;
    const { headDim, norm } = opts;
    if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0 || headDim > ROPE_MAX_HEAD_DIM) {
      throw new InternalError(`rope: headDim ${headDim} must be even and in [2, ${ROPE_MAX_HEAD_DIM}]`);
    }
    const wg = opts.workgroupSize ?? 64;
    const kernel = await gpu.pipelines.get(ROPE, { WG: wg, HEAD_DIM: headDim, HAS_NORM: norm, NORM_UNIT_OFFSET: opts.normUnitOffset ?? false });
    const width = Math.min(opts.gridWidth ?? Infinity, gpu.device.limits.maxComputeWorkgroupsPerDimension);
    return new RopeKernel(gpu, kernel, norm, headDim, wg, width);
  }

  bind(b: RopeBuffers, label = 'rope'): Bound<RopeShape> {
    if (this.norm && !b.normWeight) throw new InternalError(`${label}: normWeight buffer required`);
    // A disabled binding still needs a buffer; positions is read-only, so binding it twice is valid
    // (x could not stand in: it is bound writable).
    const d = this.gpu.dispatch(this.kernel, [b.x, b.positions, b.normWeight ?? b.positions], PARAMS_BYTES, label);
    let table: { key: string; fields: ParamField[] } | undefined;
    return new Bound(d, (s: RopeShape) => {
      const key = JSON.stringify([s.theta, s.ntk?.factor, s.ntk?.mixedB]);
      if (table?.key !== key) {
        table = { key, fields: Array.from(ropeFrequencyTable(s.theta, this.headDim, s.ntk), (v): ParamField => ['u32', v]) };
      }
      return {
        fields: [
          ['u32', s.tokens], ['u32', s.numHeads], ['u32', s.stride], ['u32', s.offset], ['f32', s.eps],
          ['u32', 0], ['u32', 0], ['u32', 0],
          ...table.fields,
        ],
        workgroups: elementwiseGrid(s.tokens * s.numHeads, this.workgroupSize, this.gridWidth),
      };
    });
  }
}
