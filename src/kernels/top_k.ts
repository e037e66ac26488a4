// Typed wrapper for shaders/top_k.wgsl: plans the passes (each shrinking every query's candidate
// list by chunk/k ≥ 4) and the ping-pong buffers between them.

import source from '../../shaders/top_k.wgsl?raw';
import type { Dispatch, Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { GpuError, InternalError } from '../gpu/errors';

export const TOP_K: ShaderSpec = {
  file: 'top_k.wgsl',
  source,
  bindings: ['uniform', 'read', 'read', 'storage', 'storage'],
};

/** The id top_k writes for a padding slot (fewer than k candidates). */
export const NO_ID = 0xffffffff;

/** Largest k one selection serves (k rounds per chunk: beyond this a sort is the better tool). */
export const MAX_K = 1024;

export interface TopKOptions {
  /** Threads per workgroup, a power of two. */
  workgroupSize?: number;
  /** Candidates per workgroup in a pass (at least 4k is used; default by adapter, see create). */
  chunk?: number;
}

export interface TopKBuffers {
  /** [Q, count] f32. */
  scores: GPUBuffer;
  /** [Q, count] u32 candidate ids; omit when candidate j is row j. */
  ids?: GPUBuffer;
  /** [Q, k] f32 and u32 results, best first. */
  outScores: GPUBuffer;
  outIds: GPUBuffer;
}

export interface TopKShape {
  queries: number;
  count: number;
  k: number;
}

/** Encodes every pass of one selection; `destroy()` returns its buffers to the pool. */
export interface TopKRun {
  encode(pass: GPUComputePassEncoder): void;
  passes: number;
  destroy(): void;
}

export class TopKKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly workgroupSize: number,
    private readonly chunk: number,
  ) {}

  static async create(gpu: Gpu, opts: TopKOptions = {}): Promise<TopKKernel> {
    const cpu = gpu.cpuKernel<TopKKernel>('top_k', opts); // the CPU backend's twin (src/cpu/search_kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 64;
    if (!Number.isInteger(Math.log2(wg))) throw new InternalError(`top_k: workgroupSize must be a power of two, got ${wg}`);
    const kernel = await gpu.pipelines.get(TOP_K, { WG: wg });
    // Every round of a chunk ends in barriers, which SwiftShader runs as fiber switches: there,
    // fewer, longer chunks win (100k scores, k = 10: 535 ms at 1024, 150 ms at 16384). A GPU wants
    // enough workgroups to fill its cores, and 4096 still leaves 25 for 100k rows.
    return new TopKKernel(gpu, kernel, wg, opts.chunk ?? (gpu.adapter.isSoftware ? 16384 : 4096));
  }

  /** Chunk size for k: at least 4k, so each pass shrinks the list ≥ 4×. */
  chunkFor(k: number): number {
    return Math.max(this.chunk, 4 * k);
  }

  /** Bind and size every pass for this shape (buffers from the pool, released by destroy()). */
  plan(b: TopKBuffers, s: TopKShape, label = 'top_k'): TopKRun {
    const { queries: Q, k } = s;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new InternalError(`top_k: k must be an integer in 1..${MAX_K}, got ${k}`);
    const maxGroups = this.gpu.device.limits.maxComputeWorkgroupsPerDimension;
    if (Q > maxGroups) throw new GpuError(`top_k: ${Q} queries exceed maxComputeWorkgroupsPerDimension ${maxGroups}; split the batch`);
    const chunk = this.chunkFor(k);
    const dispatches: Dispatch[] = [];
    const temps: GPUBuffer[] = [];
    if (Q === 0 || s.count === 0) return { encode: () => {}, passes: 0, destroy: () => {} };
    let count = s.count;
    let inScores = b.scores;
    let inIds = b.ids;
    for (let p = 0; ; p++) {
      const chunks = Math.ceil(count / chunk);
      if (chunks > maxGroups) throw new GpuError(`top_k: ${count} candidates need ${chunks} workgroups, over the device's ${maxGroups}`);
      const last = chunks === 1;
      const outScores = last ? b.outScores : this.gpu.storage(Q * chunks * k * 4, `${label}.scores${p}`);
      const outIds = last ? b.outIds : this.gpu.storage(Q * chunks * k * 4, `${label}.ids${p}`);
      if (!last) temps.push(outScores, outIds);
      const d = this.gpu.dispatch(this.kernel, [inScores, inIds ?? inScores, outScores, outIds], 16, `${label}.pass${p}`);
      d.update([['u32', count], ['u32', k], ['u32', chunk], ['u32', inIds ? 1 : 0]], [chunks, Q]);
      dispatches.push(d);
      if (last) break;
      inScores = outScores;
      inIds = outIds;
      count = chunks * k;
    }
    return {
      passes: dispatches.length,
      encode: (pass) => dispatches.forEach((d) => d.encode(pass)),
      destroy: () => {
        dispatches.forEach((d) => d.destroy());
        temps.forEach((t) => this.gpu.pool.release(t));
      },
    };
  }
}
