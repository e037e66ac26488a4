// Typed wrapper for shaders/hamming_scores.wgsl.

import source from '../../shaders/hamming_scores.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { scanGrid, type ScanOptions } from './dot_scores';
import { packedRowBytes } from './quantize_bits';

export const HAMMING_SCORES: ShaderSpec = {
  file: 'hamming_scores.wgsl',
  source,
  bindings: ['uniform', 'read', 'read', 'storage'],
};

export interface HammingScoresBuffers {
  /** quantize_bits output for the Q queries. */
  queryBits: GPUBuffer;
  /** quantize_bits output for the corpus rows. */
  corpusBits: GPUBuffer;
  /** [Q, count] f32: −(differing bits). */
  scores: GPUBuffer;
}

export interface HammingScoresShape {
  queries: number;
  count: number;
  /** Float dimensions D the bits were packed from (rows are ceil(D/8) bytes). */
  dims: number;
}

export class HammingScoresKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly workgroupSize: number,
    private readonly gridWidth: number,
  ) {}

  static async create(gpu: Gpu, opts: ScanOptions = {}): Promise<HammingScoresKernel> {
    const cpu = gpu.cpuKernel<HammingScoresKernel>('hamming_scores', opts); // the CPU backend's twin (src/cpu/search_kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 64;
    const kernel = await gpu.pipelines.get(HAMMING_SCORES, { WG: wg });
    const width = Math.min(opts.gridWidth ?? Infinity, gpu.device.limits.maxComputeWorkgroupsPerDimension);
    return new HammingScoresKernel(gpu, kernel, wg, width);
  }

  bind(b: HammingScoresBuffers, label = 'hamming_scores'): Bound<HammingScoresShape> {
    const d = this.gpu.dispatch(this.kernel, [b.queryBits, b.corpusBits, b.scores], 8, label);
    const maxZ = this.gpu.device.limits.maxComputeWorkgroupsPerDimension;
    return new Bound(d, (s: HammingScoresShape) => ({
      fields: [['u32', s.count], ['u32', packedRowBytes(s.dims)]],
      workgroups: s.queries === 0 ? [0, 1, 1] : scanGrid(s.count, s.queries, this.workgroupSize, this.gridWidth, maxZ),
    }));
  }
}
