// Typed wrapper for shaders/dot_scores.wgsl.

import source from '../../shaders/dot_scores.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { elementwiseGrid } from './sigmoid';

export const DOT_SCORES: ShaderSpec = {
  file: 'dot_scores.wgsl',
  source,
  bindings: ['uniform', 'read', 'read', 'read', 'storage'],
};

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
  if (queries > maxZ) throw new Error(`scan: ${queries} queries exceed maxComputeWorkgroupsPerDimension ${maxZ}; split the batch`);
  const [x, y] = elementwiseGrid(count, workgroupSize, width);
  return [x, y, queries];
}

export class DotScoresKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly workgroupSize: number,
    private readonly gridWidth: number,
  ) {}

  static async create(gpu: Gpu, opts: ScanOptions = {}): Promise<DotScoresKernel> {
    const wg = opts.workgroupSize ?? 64;
    const kernel = await gpu.pipelines.get(DOT_SCORES, { WG: wg });
    const width = Math.min(opts.gridWidth ?? Infinity, gpu.device.limits.maxComputeWorkgroupsPerDimension);
    return new DotScoresKernel(gpu, kernel, wg, width);
  }

  bind(b: DotScoresBuffers, label = 'dot_scores'): Bound<DotScoresShape> {
    const gather = !!b.rows;
    // The rows binding must hold something in dense mode; the kernel never reads it there.
    const d = this.gpu.dispatch(this.kernel, [b.queries, b.corpus, b.rows ?? b.queries, b.scores], 16, label);
    const maxZ = this.gpu.device.limits.maxComputeWorkgroupsPerDimension;
    return new Bound(d, (s: DotScoresShape) => ({
      fields: [['u32', s.count], ['u32', s.dims], ['u32', gather ? 1 : 0], ['u32', s.rowLimit ?? 0xffffffff]],
      workgroups: s.queries === 0 ? [0, 1, 1] : scanGrid(s.count, s.queries, this.workgroupSize, this.gridWidth, maxZ),
    }));
  }
}
