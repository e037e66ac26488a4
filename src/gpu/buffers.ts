// Buffers pooled by size class. Activations for a batch come from here and go back after the batch,
// so steady-state serving allocates nothing: a batch of similar size reuses the last one's buffers.

/** Size classes: 256 B granularity below 4 KiB, then 4 steps per power of two (≤ 25% waste). */
export function sizeClass(bytes: number): number {
  const n = Math.max(16, Math.ceil(bytes));
  if (n <= 4096) return Math.ceil(n / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(n));
  const step = p / 4;
  return Math.ceil(n / step) * step;
}

/** Buffers a context made and has not destroyed yet, and how many it made and destroyed in all. */
export interface BufferCount {
  liveBuffers: number;
  liveBytes: number;
  created: number;
  destroyed: number;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly live = new Set<GPUBuffer>();
  private bytesLive = 0;
  private bytesFree = 0;

  /** `create` is the context's counted createBuffer (Gpu.liveBuffers()). */
  constructor(private readonly create: (desc: GPUBufferDescriptor) => GPUBuffer) {}

  /** A buffer of at least `bytes` (its size is the size class, so bind with an explicit size when it matters). */
  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const size = sizeClass(bytes);
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    let buf = list?.pop();
    if (buf) {
      this.bytesFree -= size;
      buf.label = label;
    } else {
      buf = this.create({ label, size, usage });
    }
    this.live.add(buf);
    this.bytesLive += size;
    return buf;
  }

  release(buf: GPUBuffer): void {
    if (!this.live.delete(buf)) return;
    this.bytesLive -= buf.size;
    this.bytesFree += buf.size;
    const key = `${buf.usage}:${buf.size}`;
    const list = this.free.get(key);
    if (list) list.push(buf);
    else this.free.set(key, [buf]);
  }

  stats(): { liveBytes: number; freeBytes: number; liveBuffers: number; freeBuffers: number } {
    let freeBuffers = 0;
    for (const list of this.free.values()) freeBuffers += list.length;
    return { liveBytes: this.bytesLive, freeBytes: this.bytesFree, liveBuffers: this.live.size, freeBuffers };
  }

  /** Destroy pooled free buffers (live ones stay with their owners). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.bytesFree = 0;
  }

  destroy(): void {
    this.trim();
    for (const b of this.live) b.destroy();
    this.live.clear();
    this.bytesLive = 0;
  }
}
