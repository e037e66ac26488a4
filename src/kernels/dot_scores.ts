// Typed wrapper for the vector index's dot-product scan: shaders/dot_scores.wgsl for any D,
// shaders/dot_scores_vec4.wgsl when D % 4 == 0 (the same scores, bit for bit, on vec4 loads), both
// with shaders/dot_scores_slot.wgsl (modes, grid, padding candidates) appended.

import source from '../../shaders/dot_scores.wgsl?raw';
import slotSource from '../../shaders/dot_scores_slot.wgsl?raw';
import vec4Source from '../../shaders/dot_scores_vec4.wgsl?raw';
import { Bound, type Gpu, type ParamField } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { elementwiseGrid } from './sigmoid';
import { GpuError, InternalError } from '../gpu/errors';

const SLOT = { file: 'dot_scores_slot.wgsl', source: slotSource };
const BINDINGS = ['uniform', 'read', 'read', 'read', 'storage'] as const;

export const DOT_SCORES: ShaderSpec = { file: 'dot_scores.wgsl', source, includes: [SLOT], bindings: BINDINGS };

/** The vec4 scan, for D a multiple of 4. */
export const DOT_SCORES_VEC4: ShaderSpec = { file: 'dot_scores_vec4.wgsl', source: vec4Source, includes: [SLOT], bindings: BINDINGS };

export interface ScanOptions {
  /** Threads per workgroup (one (query, row) pair each). */
  workgroupSize?: number;
  /** Most workgroups along x before the grid wraps into y (default: the device limit). */
  gridWidth?: number;
}

export interface DotScoresBuffers {
  /** [Q, dims] f32. */
  queries: GPUBuffer;
  /** [capacity, dims] f32. */
  corpus: GPUBuffer;
  /** [Q, count] u32 rows to score (gather mode); omit for a dense scan. */
  rows?: GPUBuffer;
  /** [Q, count] f32. */
  scores: GPUBuffer;
}

export interface DotScoresShape {
  queries: number;
  /** Rows scanned (dense) or candidates per query (gather). */
  count: number;
  dims: number;
  /** Gather mode: candidate rows ≥ rowLimit are padding (score −3.4e38). */
  rowLimit?: number;
}

/** Workgroups for a (row, query) scan: rows on a 2-D grid, queries on z. */
export function scanGrid(count: number, queries: number, workgroupSize: number, width: number, maxZ: number): [number, number, number] {
  if (queries > maxZ) throw new GpuError(`scan: ${queries} queries exceed maxComputeWorkgroupsPerDimension ${maxZ}; split the batch`);
  const [x, y] = elementwiseGrid(count, workgroupSize, width);
  return [x, y, queries];
}

export class DotScoresKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    private readonly kernelVec4: CompiledKernel | null,
    readonly workgroupSize: number,
    private readonly gridWidth: number,
  ) {}

  /** `vec4: false` keeps the scalar scan for every D (tests compare both). */
  static async create(gpu: Gpu, opts: ScanOptions & { vec4?: boolean } = {}): Promise<DotScoresKernel> {
    const cpu = gpu.cpuKernel<DotScoresKernel>('dot_scores', opts); // the CPU backend's twin (src/cpu/search_kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 64;
    const [kernel, kernelVec4] = await Promise.all([
      gpu.pipelines.get(DOT_SCORES, { WG: wg }),
      opts.vec4 === false ? Promise.resolve(null) : gpu.pipelines.get(DOT_SCORES_VEC4, { WG: wg }),
    ]);
    const width = Math.min(opts.gridWidth ?? Infinity, gpu.device.limits.maxComputeWorkgroupsPerDimension);
    return new DotScoresKernel(gpu, kernel, kernelVec4, wg, width);
  }

  /** Bind for vectors of `dims` floats: the vec4 scan when dims % 4 == 0. */
  bind(b: DotScoresBuffers, dims: number, label = 'dot_scores'): Bound<DotScoresShape> {
    const gather = !!b.rows;
    const kernel = dims % 4 === 0 && this.kernelVec4 ? this.kernelVec4 : this.kernel;
    // The rows binding must hold something in dense mode; the kernel never reads it there.
    const d = this.gpu.dispatch(kernel, [b.queries, b.corpus, b.rows ?? b.queries, b.scores], 16, label);
    const maxZ = this.gpu.device.limits.maxComputeWorkgroupsPerDimension;
    return new Bound(d, (s: DotScoresShape) => {
      if (s.dims !== dims) throw new InternalError(`dot_scores: bound for ${dims} dims, updated with ${s.dims}`);
      const fields: ParamField[] = [['u32', s.count], ['u32', s.dims], ['u32', gather ? 1 : 0], ['u32', s.rowLimit ?? 0xffffffff]];
      const workgroups = s.queries === 0 ? [0, 1, 1] : scanGrid(s.count, s.queries, this.workgroupSize, this.gridWidth, maxZ);
      return { fields, workgroups };
    });
  }
}
