// Typed wrapper for shaders/attention.wgsl.

import source from '../../shaders/attention.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { InternalError } from '../gpu/errors';

const BINDINGS = ['uniform', 'read', 'read', 'read', 'read', 'read', 'storage', 'read'] as const;

/** Rows of MPNet's relative position bias table: HF always indexes 32 buckets. */
export const REL_BIAS_BUCKETS = 32;

/** One thread per (query, head), keys streamed from global memory. */
export const ATTENTION: ShaderSpec = { file: 'attention.wgsl', source, bindings: BINDINGS };
/** One workgroup per (query block, head), K/V staged in workgroup memory tiles. */
export const ATTENTION_TILED: ShaderSpec = { file: 'attention.wgsl', source, entryPoint: 'main_tiled', bindings: BINDINGS };
export const ATTENTION_VEC4: ShaderSpec = { file: 'attention.wgsl', source, entryPoint: 'main_vec4', bindings: BINDINGS };
export const ATTENTION_QBLOCK: ShaderSpec = { file: 'attention.wgsl', source, entryPoint: 'main_qblock', bindings: BINDINGS };
/** Queries per thread in main_qblock, and its largest head dim. */
const QBLOCK = 4;
const QBLOCK_MAX_HEAD_DIM = 128;

/** The shader's private q / accumulator arrays hold this many elements. */
export const ATTENTION_MAX_HEAD_DIM = 256;

export interface AttentionOptions {
  /** Keys at positions ≤ the query's (decoders); otherwise the whole sequence (encoders). */
  causal: boolean;
  /** head_dim, ≤ ATTENTION_MAX_HEAD_DIM. */
  headDim: number;
  /** Threads per workgroup: queries per workgroup in both schedules. */
  workgroupSize?: number;
  /** Use the workgroup-per-query-block schedule with K/V tiles in workgroup memory. */
  tiled?: boolean;
  /**
   * vec4 loads and state (main_vec4); needs headDim, strides and offsets that are multiples of 4.
   * Default: on whenever headDim % 4 == 0 and not tiled.
   */
  vec4?: boolean;
  /**
   * With vec4: four queries per thread (main_qblock), so each K/V row load serves four queries.
   * Default: on with vec4 when headDim ≤ 128.
   */
  queryBlock?: boolean;
  /** Keys per tile (tiled only); default `defaultKvTile(headDim)`. */
  kvTile?: number;
  /** Add MPNet's bucketed relative position bias (binding `relBias`) to every score. */
  relativeBias?: boolean;
}

export interface AttentionBuffers {
  /** Queries, read at qStride / qOffset; q, k and v may be one fused QKV buffer. */
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** u32 [T]: sequence index of each token. */
  seqOf: GPUBuffer;
  /** u32 [B+1]: sequence b owns tokens [cuSeqLens[b], cuSeqLens[b+1]). */
  cuSeqLens: GPUBuffer;
  /** [T, numHeads·headDim]. */
  out: GPUBuffer;
  /** f32 [REL_BIAS_BUCKETS, numHeads] (encoder.relative_attention_bias.weight); required with relativeBias. */
  relBias?: GPUBuffer;
}

export interface AttentionShape {
  tokens: number;
  numHeads: number;
  /** Divides numHeads (grouped-query attention; equal for MHA). */
  numKvHeads: number;
  /** Row strides and column offsets in f32 elements. */
  qStride: number;
  kStride: number;
  vStride: number;
  qOffset: number;
  kOffset: number;
  vOffset: number;
  /** Usually 1 / sqrt(headDim). */
  scale: number;
  /**
   * Sliding window W: only keys with |query − key| < W (causal: the last W keys, the query's own
   * included). 0 or absent: the whole sequence (or prefix, causal).
   */
  window?: number;
}

/** Workgroup memory beside the K/V tiles (the block's key range, padded). */
const TILED_EXTRA_BYTES = 16;

/**
 * Default keys per tile: K and V tiles within the 16 KiB every device has (not a raised limit:
 * smaller tiles leave room for more resident workgroups), at most 32.
 */
export function defaultKvTile(headDim: number): number {
  return Math.max(1, Math.min(32, Math.floor((16384 - TILED_EXTRA_BYTES) / (2 * 4 * headDim))));
}

export class AttentionKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly headDim: number,
    readonly workgroupSize: number,
    readonly vec4 = false,
    readonly queryBlock = false,
    readonly relativeBias = false,
  ) {}

  static async create(gpu: Gpu, opts: AttentionOptions): Promise<AttentionKernel> {
    const cpu = gpu.cpuKernel<AttentionKernel>('attention', opts); // the CPU backend's twin (src/cpu/attention_kernels.ts)
    if (cpu) return cpu;
    const { headDim, causal } = opts;
    if (!Number.isInteger(headDim) || headDim < 1 || headDim > ATTENTION_MAX_HEAD_DIM) {
      throw new InternalError(`attention: headDim ${headDim} must be an integer in [1, ${ATTENTION_MAX_HEAD_DIM}]`);
    }
    const wg = opts.workgroupSize ?? 64;
    const relBias = opts.relativeBias ?? false;
    if (!opts.tiled) {
      const vec4 = opts.vec4 ?? headDim % 4 === 0;
      if (vec4 && headDim % 4 !== 0) throw new InternalError(`attention: vec4 needs headDim % 4 == 0, got ${headDim}`);
      const queryBlock = vec4 && (opts.queryBlock ?? headDim <= QBLOCK_MAX_HEAD_DIM);
      if (queryBlock && headDim > QBLOCK_MAX_HEAD_DIM) throw new InternalError(`attention: queryBlock needs headDim ≤ ${QBLOCK_MAX_HEAD_DIM}, got ${headDim}`);
      const spec = queryBlock ? ATTENTION_QBLOCK : vec4 ? ATTENTION_VEC4 : ATTENTION;
      const kernel = await gpu.pipelines.get(spec, { WG: wg, HEAD_DIM: headDim, CAUSAL: causal, HAS_REL_BIAS: relBias });
      return new AttentionKernel(gpu, kernel, headDim, wg, vec4, queryBlock, relBias);
    }
    const limit = gpu.device.limits.maxComputeWorkgroupStorageSize;
    const kvTile = opts.kvTile ?? defaultKvTile(headDim);
    if (!Number.isInteger(kvTile) || kvTile < 1 || 2 * 4 * kvTile * headDim + TILED_EXTRA_BYTES > limit) {
      throw new InternalError(`attention: kvTile ${kvTile} must be a positive integer with K and V tiles (2·kvTile·headDim f32) within ${limit} B of workgroup memory`);
    }
    const kernel = await gpu.pipelines.get(ATTENTION_TILED, { WG: wg, HEAD_DIM: headDim, CAUSAL: causal, KV_TILE: kvTile, HAS_REL_BIAS: relBias });
    return new AttentionKernel(gpu, kernel, headDim, wg, false, false, relBias);
  }

  bind(b: AttentionBuffers, label = 'attention'): Bound<AttentionShape> {
    if (this.relativeBias && !b.relBias) throw new InternalError(`${label}: relBias buffer required (created with relativeBias)`);
    // A disabled binding still needs a buffer; seqOf is read-only, so binding it twice is valid.
    const d = this.gpu.dispatch(this.kernel, [b.q, b.k, b.v, b.seqOf, b.cuSeqLens, b.out, b.relBias ?? b.seqOf], 48, label);
    const hd = this.headDim;
    return new Bound(d, (s: AttentionShape) => {
      if (s.numKvHeads < 1 || s.numHeads % s.numKvHeads !== 0) {
        throw new InternalError(`${label}: numHeads ${s.numHeads} is not a multiple of numKvHeads ${s.numKvHeads}`);
      }
      const window = s.window ?? 0;
      if (!Number.isInteger(window) || window < 0 || window > 0xffffffff) throw new InternalError(`${label}: window ${window} must be a non-negative integer`);
      for (const [name, offset, heads, stride] of [
        ['q', s.qOffset, s.numHeads, s.qStride],
        ['k', s.kOffset, s.numKvHeads, s.kStride],
        ['v', s.vOffset, s.numKvHeads, s.vStride],
      ] as const) {
        if (offset + heads * hd > stride) {
          throw new InternalError(`${label}: ${name} heads [${offset}, ${offset + heads * hd}) overrun the row stride ${stride}`);
        }
        if (this.vec4 && (offset % 4 !== 0 || stride % 4 !== 0)) {
          throw new InternalError(`${label}: the vec4 schedule needs ${name} offset ${offset} and stride ${stride} to be multiples of 4`);
        }
      }
      return {
        fields: [
          ['u32', s.tokens], ['u32', s.numHeads], ['u32', s.numKvHeads],
          ['u32', s.qStride], ['u32', s.kStride], ['u32', s.vStride],
          ['u32', s.qOffset], ['u32', s.kOffset], ['u32', s.vOffset],
          ['f32', s.scale], ['u32', window], ['u32', 0],
        ],
        workgroups: [Math.ceil(s.tokens / ((this.queryBlock ? QBLOCK : 1) * this.workgroupSize)), s.numHeads],
      };
    });
  }
}
