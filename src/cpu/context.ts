// The CPU backend's context: the same surface as the WebGPU Gpu (storage / upload / write / read /
// run / submit / pool) over WebAssembly memory, so models, heads and the engine run unchanged.
// Buffers are CpuBuffer handles (src/cpu/memory.ts); kernel wrappers' create() get their
// WebAssembly implementation from cpuKernel() (src/cpu/kernels.ts); a batch's "pass" is a CpuPass
// that runs its recorded steps at submit, on this thread.

import type { AdapterReport } from '../gpu/device';
import { Gpu, type BufferCopy } from '../gpu/context';
import { GpuError } from '../gpu/errors';
import { createCpuKernel } from './kernels';
import { CpuBuffer, CpuMemory, cpuBuffer } from './memory';
import { MIN_SPLIT_FLOPS } from './split';
import { CpuPass } from './step';
import { defaultThreads, isNode, MAX_THREADS, ThreadPool, threadsUnavailable, type Part, type ThreadedFunction } from './threads';
import { detectSimd, instantiateKernels, kernelModule, type KernelExports, type SimdLevel } from './wasm';

export interface CpuOptions {
  /** Force a SIMD level (default: the best this engine validates). */
  simd?: SimdLevel;
  /**
   * Threads the kernels split across, this one included (default: the cores, at most 4, where
   * shared memory is available — Node, or a cross-origin-isolated page — and 1 elsewhere). Asking
   * for more than 1 where shared memory is missing is an error that says why.
   */
  threads?: number;
  /** Calls smaller than this many flops run on one thread (default MIN_SPLIT_FLOPS; 0 splits every call that can be). */
  minSplitFlops?: number;
}

/** Wasm pages (64 KiB) a shared memory may grow to: the whole 4 GiB, else less where the engine refuses to reserve it. */
const SHARED_MAXIMA = [65536, 32768, 16384];

function sharedMemory(): WebAssembly.Memory {
  let last: unknown;
  for (const maximum of SHARED_MAXIMA) {
    try {
      return new WebAssembly.Memory({ initial: 16, maximum, shared: true });
    } catch (e) {
      last = e;
    }
  }
  throw new GpuError(`The CPU backend could not create a shared WebAssembly memory: ${(last as Error).message}`);
}

/**
 * What the Gpu base class asks of its device on this backend: buffers only. Anything else means a
 * kernel wrapper without a CPU branch tried to build a WebGPU pipeline; say which call it was.
 */
function cpuDevice(mem: CpuMemory): GPUDevice {
  const createBuffer = (d: GPUBufferDescriptor) => mem.alloc(d.size, d.label ?? 'buffer', d.usage);
  return new Proxy({ createBuffer, limits: CPU_LIMITS } as object, {
    get(target, prop) {
      if (prop === 'createBuffer') return createBuffer;
      if (prop === 'limits') return CPU_LIMITS;
      if (typeof prop === 'symbol' || prop === 'then') return (target as Record<PropertyKey, unknown>)[prop];
      throw new GpuError(`The CPU backend has no implementation of a kernel that asked the device for ${prop}: give its wrapper a gpu.cpuKernel() branch (src/cpu/kernels.ts).`);
    },
  }) as GPUDevice;
}

/**
 * The device limits that callers size work by (the vector index's corpus and score rows). One
 * buffer may take 1 GiB: the corpus lives beside the model's weights in one wasm32 memory of at
 * most 4 GiB, and a page's engine may refuse to grow it much further. No grid limit: kernels loop.
 */
const CPU_LIMITS = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30, maxComputeWorkgroupsPerDimension: 2 ** 31 - 1 } as const;

/** GPUBufferUsage.STORAGE's value, for pool keys. */
const STORAGE_USAGE = 0x80;

export class CpuContext extends Gpu {
  private constructor(
    readonly mem: CpuMemory,
    readonly wasm: KernelExports,
    readonly simd: SimdLevel,
    report: AdapterReport,
    /** The worker threads (null: one thread). */
    readonly threadPool: ThreadPool | null,
    /** Calls below this many flops run whole on the calling thread (src/cpu/split.ts). */
    readonly minSplitFlops: number,
  ) {
    super(cpuDevice(mem), report, true);
  }

  static async load(opts: CpuOptions = {}): Promise<CpuContext> {
    const best = detectSimd();
    if (!best) throw new GpuError('The CPU backend needs WebAssembly SIMD (128-bit), which this JavaScript engine does not validate.');
    const simd = opts.simd ?? best;
    const threads = opts.threads ?? (await defaultThreads());
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new GpuError(`threads must be an integer in [1, ${MAX_THREADS}], got ${threads}`);
    if (threads > 1) {
      const why = threadsUnavailable();
      if (why) throw new GpuError(`The CPU backend cannot run ${threads} threads here: ${why}. Use threads: 1, or serve the page with COOP: same-origin and COEP: require-corp.`);
    }
    const shared = threads > 1;
    const memory = shared ? sharedMemory() : new WebAssembly.Memory({ initial: 16 });
    const wasm = await instantiateKernels(simd, memory, shared);
    const pool = shared ? await ThreadPool.start(threads, await kernelModule(simd, true), memory, wasm) : null;
    const report: AdapterReport = {
      vendor: 'wgpool',
      architecture: 'wasm32',
      device: 'cpu',
      description: `WebAssembly ${simd}, ${threads} thread${threads === 1 ? '' : 's'}`,
      isSoftware: true,
      features: [simd],
      limits: {},
      source: isNode() ? 'node' : 'browser',
    };
    return new CpuContext(new CpuMemory(wasm.heapBase(), memory), wasm, simd, report, pool, opts.minSplitFlops ?? MIN_SPLIT_FLOPS);
  }

  override get backend(): 'cpu' {
    return 'cpu';
  }

  /** Threads the kernels split across, the calling one included. */
  get threads(): number {
    return this.threadPool ? this.threadPool.threads : 1;
  }

  /**
   * Run a kernel split into parts (part i on thread i; null parts are empty), or part 0 alone
   * without a pool. Returns a promise only where this thread may not block (a page's main thread).
   */
  parallel(fn: ThreadedFunction, parts: readonly Part[]): void | Promise<void> {
    if (this.threadPool && parts.length > 1) return this.threadPool.run(fn, parts);
    for (const p of parts) if (p) (this.wasm[fn] as (...a: number[]) => void)(...p);
  }

  override get hasF16(): boolean {
    return false;
  }

  override cpuKernel<K>(name: string, opts: unknown): Promise<K> {
    return createCpuKernel(this, name, opts) as Promise<K>;
  }


  /** A CpuBuffer as the typed-as-GPUBuffer handle models hold. */
  buffer(size: number, label: string): GPUBuffer {
    const buf = this.mem.alloc(size, label) as unknown as GPUBuffer;
    this.track(buf, buf.size);
    return buf;
  }

  /** GPUBufferUsage may not exist without WebGPU: the usage is only a label here. */
  override createStorage(size: number, label: string): GPUBuffer {
    return this.createBuffer({ label, size, usage: STORAGE_USAGE });
  }

  /** A pooled buffer; the usage flag is only the pool's key here (GPUBufferUsage may not exist without WebGPU). */
  override storage(bytes: number, label: string): GPUBuffer {
    return this.pool.acquire(bytes, STORAGE_USAGE, label);
  }

  /** Weights stay f32 on this backend (hasF16 is false, so the loader never asks for f16). */
  protected override uploadBytes(data: ArrayBufferView, label: string): GPUBuffer {
    const buf = this.mem.alloc(Math.max(16, Math.ceil(data.byteLength / 4) * 4), label);
    this.mem.bytes(buf, 0, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.track(buf as unknown as GPUBuffer, buf.size);
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

  /** Work enqueued and not yet finished (a split step waiting on its threads); later work waits for it. */
  private pending: Promise<void> | null = null;

  override async run(work: readonly { encode(pass: GPUComputePassEncoder): void }[]): Promise<void> {
    if (this.pending) await this.pending;
    const pass = new CpuPass();
    for (const w of work) w.encode(pass.asPass());
    await pass.execute();
  }

  /**
   * Records now; runs now when nothing is pending (steps that need no worker threads then finish
   * before this returns), else after the pending work. The steps must stay alive until idle().
   */
  override enqueue(_label: string, work: readonly { encode(pass: GPUComputePassEncoder): void }[], copies: readonly BufferCopy[] = []): void {
    const pass = new CpuPass();
    for (const w of work) w.encode(pass.asPass());
    this.inOrder(() => {
      const rest = pass.start();
      if (rest) return rest.then(() => this.copyNow('enqueue', copies));
      this.copyNow('enqueue', copies);
    });
  }

  override copy(label: string, copies: readonly BufferCopy[]): void {
    this.inOrder(() => this.copyNow(label, copies));
  }

  /**
   * Run `fn` now when nothing is pending, else after it; a promise it returns becomes the pending
   * work. In Node and in workers every step finishes synchronously, so nothing is ever pending there.
   */
  private inOrder(fn: () => void | Promise<void>): void {
    const result = this.pending ? this.pending.then(fn) : fn();
    if (!result) return;
    const done: Promise<void> = result.finally(() => {
      if (this.pending === done) this.pending = null;
    });
    this.pending = done;
  }

  private copyNow(label: string, copies: readonly BufferCopy[]): void {
    const heap = new Uint8Array(this.mem.memory.buffer);
    for (const c of copies) {
      const src = cpuBuffer(c.src, label, 'the source');
      const dst = cpuBuffer(c.dst, label, 'the destination');
      this.mem.bytes(src, c.srcOffset, c.bytes); // bounds checks
      this.mem.bytes(dst, c.dstOffset, c.bytes);
      heap.copyWithin(dst.ptr + c.dstOffset, src.ptr + c.srcOffset, src.ptr + c.srcOffset + c.bytes);
    }
  }

  override async runAndRead(_label: string, work: readonly { encode(pass: GPUComputePassEncoder): void }[], outputs: readonly (readonly [GPUBuffer, number])[]): Promise<ArrayBuffer[]> {
    await this.run(work);
    return outputs.map(([buf, bytes]) => this.mem.bytes(cpuBuffer(buf, 'runAndRead', 'an output'), 0, bytes).slice().buffer);
  }

  override async submit(_label: string, work: readonly { encode(pass: GPUComputePassEncoder): void }[], output: GPUBuffer, bytes: number): Promise<{ read(): Promise<ArrayBuffer> }> {
    await this.run(work);
    const copy = this.mem.bytes(cpuBuffer(output, 'submit', 'the output'), 0, bytes).slice().buffer;
    return { read: async () => copy };
  }

  override async read(src: GPUBuffer, bytes = src.size, offset = 0): Promise<ArrayBuffer> {
    if (this.pending) await this.pending;
    return this.mem.bytes(cpuBuffer(src, 'read', 'the source'), offset, bytes).slice().buffer;
  }

  override async idle(): Promise<void> {
    if (this.pending) await this.pending;
  }

  override destroy(): void {
    this.pool.destroy();
    this.forgetLive();
    this.threadPool?.close();
  }
}

export { CpuBuffer };
