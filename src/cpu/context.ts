// The CPU backend's context: the same surface as the WebGPU Gpu (storage / upload / write / read /
// run / submit / pool) over WebAssembly memory, so models, heads and the engine run unchanged.
// Buffers are CpuBuffer handles (src/cpu/memory.ts); kernel wrappers' create() get their
// WebAssembly implementation from cpuKernel() (src/cpu/kernels.ts); a batch's "pass" is a CpuPass
// that runs its recorded steps at submit, on this thread.

import type { AdapterReport } from '../gpu/device';
import { Gpu } from '../gpu/context';
import { GpuError } from '../gpu/errors';
import { createCpuKernel } from './kernels';
import { CpuBuffer, CpuMemory, cpuBuffer } from './memory';
import { CpuPass } from './step';
import { detectSimd, instantiateKernels, type KernelExports, type SimdLevel } from './wasm';

export interface CpuOptions {
  /** Force a SIMD level (default: the best this engine validates). */
  simd?: SimdLevel;
}

/**
 * What the Gpu base class asks of its device on this backend: buffers only. Anything else means a
 * kernel wrapper without a CPU branch tried to build a WebGPU pipeline; say which call it was.
 */
function cpuDevice(mem: CpuMemory): GPUDevice {
  const createBuffer = (d: GPUBufferDescriptor) => mem.alloc(d.size, d.label ?? 'buffer', d.usage);
  return new Proxy({ createBuffer } as object, {
    get(target, prop) {
      if (prop === 'createBuffer') return createBuffer;
      if (typeof prop === 'symbol' || prop === 'then') return (target as Record<PropertyKey, unknown>)[prop];
      throw new GpuError(`The CPU backend has no implementation of a kernel that asked the device for ${prop}: give its wrapper a gpu.cpuKernel() branch (src/cpu/kernels.ts).`);
    },
  }) as GPUDevice;
}

/** GPUBufferUsage.STORAGE's value, for pool keys. */
const STORAGE_USAGE = 0x80;

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

export class CpuContext extends Gpu {
  private constructor(
    readonly mem: CpuMemory,
    readonly wasm: KernelExports,
    readonly simd: SimdLevel,
    report: AdapterReport,
  ) {
    super(cpuDevice(mem), report, true);
  }

  static async load(opts: CpuOptions = {}): Promise<CpuContext> {
    const best = detectSimd();
    if (!best) throw new GpuError('The CPU backend needs WebAssembly SIMD (128-bit), which this JavaScript engine does not validate.');
    const simd = opts.simd ?? best;
    const memory = new WebAssembly.Memory({ initial: 16 });
    const wasm = await instantiateKernels(simd, memory);
    const report: AdapterReport = {
      vendor: 'wgpool',
      architecture: 'wasm32',
      device: 'cpu',
      description: `WebAssembly ${simd}, 1 thread`,
      isSoftware: true,
      features: [simd],
      limits: {},
      source: isNode() ? 'node' : 'browser',
    };
    return new CpuContext(new CpuMemory(wasm.heapBase(), memory), wasm, simd, report);
  }

  override get backend(): 'cpu' {
    return 'cpu';
  }

  /** Kernels run on the calling thread (Web Worker / worker_threads splitting is not built yet). */
  get threads(): number {
    return 1;
  }

  override get hasF16(): boolean {
    return false;
  }

  override cpuKernel<K>(name: string, opts: unknown): Promise<K> {
    return createCpuKernel(this, name, opts) as Promise<K>;
  }

  /** Weight buffers made by upload(), freed with this context (as the WebGPU Gpu does). */
  private readonly uploaded = new Set<CpuBuffer>();

  /** A CpuBuffer as the typed-as-GPUBuffer handle models hold. */
  buffer(size: number, label: string): GPUBuffer {
    return this.buffers.track(this.mem.alloc(size, label)) as unknown as GPUBuffer;
  }

  /** A pooled buffer; the usage flag is only the pool's key here (GPUBufferUsage may not exist without WebGPU). */
  override storage(bytes: number, label: string): GPUBuffer {
    return this.pool.acquire(bytes, STORAGE_USAGE, label);
  }

  override upload(data: ArrayBufferView, label: string): GPUBuffer {
    const buf = this.buffers.track(this.mem.alloc(Math.max(16, Math.ceil(data.byteLength / 4) * 4), label));
    this.mem.bytes(buf, 0, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.uploaded.add(buf);
    return buf as unknown as GPUBuffer;
  }

  override write(buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    const b = cpuBuffer(buf, 'write', 'the destination');
    this.mem.bytes(b, offset, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  override dispatch(): never {
    throw new GpuError('The CPU backend has no WebGPU dispatches: kernels come from gpu.cpuKernel().');
  }

  override stage(): never {
    throw new GpuError('The CPU backend has no command encoders: use submit() or read().');
  }

  override async run(work: readonly { encode(pass: GPUComputePassEncoder): void }[]): Promise<void> {
    const pass = new CpuPass();
    for (const w of work) w.encode(pass.asPass());
    pass.execute();
  }

  override async submit(_label: string, work: readonly { encode(pass: GPUComputePassEncoder): void }[], output: GPUBuffer, bytes: number): Promise<{ read(): Promise<ArrayBuffer> }> {
    await this.run(work);
    const copy = this.mem.bytes(cpuBuffer(output, 'submit', 'the output'), 0, bytes).slice().buffer;
    return { read: async () => copy };
  }

  override async read(src: GPUBuffer, bytes = src.size, offset = 0): Promise<ArrayBuffer> {
    return this.mem.bytes(cpuBuffer(src, 'read', 'the source'), offset, bytes).slice().buffer;
  }

  override idle(): Promise<void> {
    return Promise.resolve();
  }

  override destroy(): void {
    this.pool.destroy();
    for (const b of this.uploaded) b.destroy();
    this.uploaded.clear();
  }
}

export { CpuBuffer };
