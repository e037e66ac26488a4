// The CPU backend's "device memory": one WebAssembly.Memory that every kernel reads and writes, and
// buffers as handles into it (CpuBuffer: a byte offset and a size). The model, heads and engine
// hold CpuBuffers where the WebGPU backend hands them GPUBuffers, through the same calls
// (ctx.storage, ctx.upload, ctx.write, pool.release, buffer.destroy), so none of them forks.
//
// Allocation: 64-byte aligned, each block followed by at least 32 bytes of slack so the kernels'
// 8-wide matmul tiles may read (never write) a little past a row's end without leaving the memory.
// Freed blocks go to free lists by exact size (BufferPool's size classes make exact reuse the
// common case); the top grows the memory in whole 64 KiB pages. New blocks are zeroed, as WebGPU
// zeroes new buffers.

import { GpuError } from '../gpu/errors';

const ALIGN = 64;
const SLACK = 32;
const PAGE = 65536;

/** A buffer of the CPU backend: bytes [ptr, ptr + size) of the kernels' memory. */
export class CpuBuffer {
  readonly mapState = 'unmapped';
  /** The matmul kernel's packed copy of this buffer when it is a weight (src/cpu/matmul_kernels.ts). */
  packed: { n: number; k: number; buffer: CpuBuffer } | undefined;
  private live = true;

  constructor(
    private readonly memory: CpuMemory,
    readonly ptr: number,
    readonly size: number,
    readonly usage: number,
    public label: string,
  ) {}

  get destroyed(): boolean {
    return !this.live;
  }

  destroy(): void {
    if (!this.live) return;
    this.live = false;
    this.packed?.buffer.destroy();
    this.packed = undefined;
    this.memory.free(this);
  }
}

export class CpuMemory {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private liveBytes = 0;

  constructor(heapBase: number, memory: WebAssembly.Memory) {
    this.memory = memory;
    this.top = Math.ceil(Math.max(heapBase, ALIGN) / ALIGN) * ALIGN;
  }

  private static blockBytes(size: number): number {
    return Math.ceil((Math.max(size, 4) + SLACK) / ALIGN) * ALIGN;
  }

  alloc(size: number, label: string, usage = 0): CpuBuffer {
    if (!Number.isFinite(size) || size < 0) throw new GpuError(`${label}: cannot allocate ${size} bytes`);
    const block = CpuMemory.blockBytes(size);
    let ptr = this.freeLists.get(block)?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      const end = ptr + block;
      if (end > 2 ** 32 - PAGE) throw new GpuError(`${label}: the CPU backend's 4 GiB WebAssembly memory is full (${(this.top / 2 ** 20).toFixed(0)} MiB in use)`);
      const have = this.memory.buffer.byteLength;
      if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
      this.top = end;
    } else {
      new Uint8Array(this.memory.buffer, ptr, block).fill(0);
    }
    this.liveBytes += block;
    return new CpuBuffer(this, ptr, size, usage, label);
  }

  free(buf: CpuBuffer): void {
    const block = CpuMemory.blockBytes(buf.size);
    const list = this.freeLists.get(block);
    if (list) list.push(buf.ptr);
    else this.freeLists.set(block, [buf.ptr]);
    this.liveBytes -= block;
  }

  stats(): { liveBytes: number; reservedBytes: number } {
    return { liveBytes: this.liveBytes, reservedBytes: this.top };
  }

  /** A byte view of a buffer (re-made per call: growing the memory detaches old views). */
  bytes(buf: CpuBuffer, offset = 0, length = buf.size - offset): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > buf.size) {
      throw new GpuError(`${buf.label}: bytes [${offset}, ${offset + length}) are outside its ${buf.size} bytes`);
    }
    return new Uint8Array(this.memory.buffer, buf.ptr + offset, length);
  }
}

/** A CpuBuffer passed where the models' types say GPUBuffer; anything else is a mixing bug. */
export function cpuBuffer(b: GPUBuffer | CpuBuffer | undefined, label: string, what: string): CpuBuffer {
  if (!(b instanceof CpuBuffer)) throw new GpuError(`${label}: ${what} is not a CPU-backend buffer (a WebGPU buffer bound to a CPU kernel?)`);
  if (b.destroyed) throw new GpuError(`${label}: ${what} (${b.label}) was destroyed`);
  return b;
}
