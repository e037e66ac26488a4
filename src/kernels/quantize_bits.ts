// Typed wrapper for shaders/quantize_bits.wgsl.

import source from '../../shaders/quantize_bits.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { elementwiseGrid } from './sigmoid';

export const QUANTIZE_BITS: ShaderSpec = {
  file: 'quantize_bits.wgsl',
  source,
  bindings: ['uniform', 'read', 'storage'],
};

export interface QuantizeBitsOptions {
  /** Threads per workgroup (one output u32 word each). */
  workgroupSize?: number;
  /** Most workgroups along x before the grid wraps into y (default: the device limit). */
  gridWidth?: number;
}

export interface QuantizeBitsBuffers {
  /** [rows, inStride] f32. */
  x: GPUBuffer;
  /** At least `quantizedBytes(rows, dims)` bytes rounded up to 4; read back as a Uint8Array. */
  out: GPUBuffer;
}

export interface QuantizeBitsShape {
  rows: number;
  /** Columns packed (D); the row's byte count is ceil(D/8). */
  dims: number;
  inStride: number;
}

/** Packed bytes per row: ceil(D / 8). */
export function packedRowBytes(dims: number): number {
  return Math.ceil(dims / 8);
}

/** Bytes the kernel writes (a whole number of u32 words). */
export function quantizedBytes(rows: number, dims: number): number {
  return Math.ceil((rows * packedRowBytes(dims)) / 4) * 4;
}

/** Row r of a read-back ubinary buffer. */
export function ubinaryRow(bytes: Uint8Array, dims: number, row: number): Uint8Array {
  const nb = packedRowBytes(dims);
  return bytes.subarray(row * nb, (row + 1) * nb);
}

/** sentence-transformers' 'binary' precision from 'ubinary' bytes: each byte − 128 as int8. */
export function binaryFromUbinary(ubinary: Uint8Array): Int8Array {
  return Int8Array.from(ubinary, (b) => b - 128);
}

export class QuantizeBitsKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly workgroupSize: number,
    private readonly gridWidth: number,
  ) {}

  static async create(gpu: Gpu, opts: QuantizeBitsOptions = {}): Promise<QuantizeBitsKernel> {
    const cpu = gpu.cpuKernel<QuantizeBitsKernel>('quantize_bits', opts); // the CPU backend's twin (src/cpu/gather_kernels.ts)
    if (cpu) return cpu;
    const wg = opts.workgroupSize ?? 64;
    const kernel = await gpu.pipelines.get(QUANTIZE_BITS, { WG: wg });
    const width = Math.min(opts.gridWidth ?? Infinity, gpu.device.limits.maxComputeWorkgroupsPerDimension);
    return new QuantizeBitsKernel(gpu, kernel, wg, width);
  }

  bind(b: QuantizeBitsBuffers, label = 'quantize_bits'): Bound<QuantizeBitsShape> {
    const d = this.gpu.dispatch(this.kernel, [b.x, b.out], 12, label);
    return new Bound(d, (s: QuantizeBitsShape) => ({
      fields: [['u32', s.rows], ['u32', s.dims], ['u32', s.inStride]],
      workgroups: elementwiseGrid(quantizedBytes(s.rows, s.dims) / 4, this.workgroupSize, this.gridWidth),
    }));
  }
}
