// Which backend runs a model: WebGPU (WGSL kernels) or the CPU (WebAssembly SIMD kernels), behind
// one context type (Gpu), so the engine, models and heads do not know which one they got.
//
// 'auto' takes WebGPU when the adapter is hardware, and the CPU backend when there is no WebGPU
// (no navigator.gpu, no adapter, no Vulkan for Dawn) or the adapter is a software one
// (isFallbackAdapter, or SwiftShader / WARP / llvmpipe by adapter.info — AdapterReport.isSoftware).
// A rule, not a timing: a software rasterizer runs our WGSL at well under 1 GFLOP/s where the
// WASM GEMM reaches several (bench/matmul), and a hardware GPU beats both, so no measurement at load
// would change the answer; deciding costs one requestAdapter (reported as decideMs).

import { CpuContext } from './cpu/context';
import type { SimdLevel } from './cpu/wasm';
import { Gpu } from './gpu/context';
import { BadRequestError } from './gpu/errors';

export type BackendChoice = 'auto' | 'webgpu' | 'cpu';

export interface BackendInfo {
  /** The backend that runs the kernels. */
  name: 'webgpu' | 'cpu';
  /** What was asked for. */
  requested: BackendChoice;
  /** Why `auto` chose as it did (or 'requested'). */
  reason: string;
  /** Threads the CPU kernels use (null on WebGPU). */
  threads: number | null;
  /** The CPU kernels' WebAssembly SIMD level (null on WebGPU). */
  simd: SimdLevel | null;
  /** Milliseconds spent choosing and opening the backend. */
  decideMs: number;
}

export interface BackendOptions {
  backend?: BackendChoice;
  /** Run WebGPU on this device (implies 'webgpu' under 'auto'). */
  device?: GPUDevice;
  /** Force the CPU kernels' SIMD level (default: the best the engine validates). */
  cpuSimd?: SimdLevel;
  /** The CPU kernels' thread count (default: CpuOptions.threads' default). */
  cpuThreads?: number;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export function backendInfo(gpu: Gpu, requested: BackendChoice, reason: string, decideMs: number): BackendInfo {
  const cpu = gpu instanceof CpuContext ? gpu : null;
  return { name: gpu.backend, requested, reason, threads: cpu ? cpu.threads : null, simd: cpu ? cpu.simd : null, decideMs };
}

/** Open the context a model will run on, and say which it is and why. */
export async function openBackend(opts: BackendOptions = {}): Promise<{ gpu: Gpu; info: BackendInfo }> {
  const t0 = now();
  const requested = opts.backend ?? 'webgpu';
  if (requested !== 'auto' && requested !== 'webgpu' && requested !== 'cpu') {
    throw new BadRequestError(`backend must be 'auto', 'webgpu' or 'cpu', got ${JSON.stringify(requested)}`);
  }
  if (requested === 'cpu') {
    const gpu = await CpuContext.load({ simd: opts.cpuSimd, threads: opts.cpuThreads });
    return { gpu, info: backendInfo(gpu, requested, 'requested', now() - t0) };
  }
  if (requested === 'webgpu' || opts.device) {
    const gpu = await Gpu.create({ device: opts.device });
    return { gpu, info: backendInfo(gpu, requested, opts.device ? 'the caller’s device' : 'requested', now() - t0) };
  }
  let reason: string;
  try {
    const gpu = await Gpu.create();
    if (!gpu.adapter.isSoftware) return { gpu, info: backendInfo(gpu, requested, `hardware adapter (${gpu.adapter.vendor || gpu.adapter.description || 'unknown'})`, now() - t0) };
    reason = `software adapter (${[gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' ') || 'fallback'})`;
    gpu.destroy();
  } catch (e) {
    reason = `no WebGPU: ${(e as Error).message}`;
  }
  const gpu = await CpuContext.load({ simd: opts.cpuSimd, threads: opts.cpuThreads });
  return { gpu, info: backendInfo(gpu, requested, reason, now() - t0) };
}
