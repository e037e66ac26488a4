// The corpus matrix on the GPU: unit rows [capacity, D] f32, and (for binary search) their packed
// sign bits, re-packed lazily after a change. Rows are dense: row r is slot r, 0 ≤ r < count, so a
// scan covers exactly `count` rows and removal fills holes from the tail.
//
// Memory: the matrix grows by doubling (amortized O(1) per row, like the activation pool's size
// classes), up to the device's limit on one buffer and one storage binding. A corpus past that is
// refused with a message that says how big it is and what the adapter allows.

import type { Gpu } from '../gpu/context';
import { BadRequestError, WgpoolError, showValue } from '../gpu/errors';
import { QuantizeBitsKernel, quantizedBytes } from '../kernels/quantize_bits';

/** Thrown when the corpus would outgrow what one GPU buffer / binding may hold on this adapter. */
export class IndexCapacityError extends WgpoolError {
  constructor(message: string) {
    super(message, 400, 'BadRequestError');
    this.name = 'IndexCapacityError';
  }
}

const MIN_CAPACITY = 64;

/** Largest byte size one buffer may have and still be bound whole as storage. */
export function corpusByteLimit(gpu: Gpu): number {
  const l = gpu.device.limits;
  return Math.min(l.maxBufferSize, l.maxStorageBufferBindingSize);
}

function checkFits(gpu: Gpu, dims: number, rows: number): void {
  const limit = corpusByteLimit(gpu);
  if (rows * dims * 4 <= limit) return;
  const l = gpu.device.limits;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  throw new IndexCapacityError(
    `The index would need ${rows} rows × ${dims} floats = ${mib(rows * dims * 4)} in one GPU buffer, but this adapter allows ${mib(limit)} ` +
      `(maxBufferSize ${l.maxBufferSize}, maxStorageBufferBindingSize ${l.maxStorageBufferBindingSize}): at most ${Math.floor(limit / (dims * 4))} rows of ${dims} dimensions.`,
  );
}

export class GpuCorpus {
  private vectorsBuf: GPUBuffer;
  private bitsBuf: GPUBuffer | null = null;
  private bitsDirty = true;
  private packStep: { destroy(): void } | null = null;
  private cap: number;
  count = 0;
  /** Bumped whenever a buffer is replaced, so cached bind groups know to rebind. */
  generation = 0;

  private constructor(
    private readonly gpu: Gpu,
    readonly dims: number,
    capacity: number,
    private readonly quantize: QuantizeBitsKernel,
  ) {
    this.cap = capacity;
    this.vectorsBuf = this.createVectors(capacity);
  }

  static async create(gpu: Gpu, dims: number, capacity = MIN_CAPACITY): Promise<GpuCorpus> {
    if (!Number.isInteger(dims) || dims < 1) throw new BadRequestError(`index dimensions must be a positive integer, got ${showValue(dims)}`);
    const maxRows = Math.floor(corpusByteLimit(gpu) / (dims * 4));
    checkFits(gpu, dims, Math.max(1, capacity));
    return new GpuCorpus(gpu, dims, Math.min(Math.max(MIN_CAPACITY, capacity), maxRows), await QuantizeBitsKernel.create(gpu));
  }

  /** Most rows the adapter allows (the float matrix is the largest buffer). */
  maxRows(): number {
    return Math.floor(corpusByteLimit(this.gpu) / (this.dims * 4));
  }

  get capacity(): number {
    return this.cap;
  }

  get vectors(): GPUBuffer {
    return this.vectorsBuf;
  }

  private createVectors(rows: number): GPUBuffer {
    return this.gpu.createStorage(Math.max(16, rows * this.dims * 4), `index.vectors[${rows}x${this.dims}]`);
  }

  /** Make room for `extra` more rows: double the capacity (clamped to the adapter's limit). */
  async reserve(extra: number): Promise<void> {
    const need = this.count + extra;
    if (need <= this.cap) return;
    checkFits(this.gpu, this.dims, need);
    const rows = Math.min(Math.max(need, this.cap * 2), this.maxRows());
    const grown = this.createVectors(rows);
    if (this.count) this.gpu.copy('index.grow', [{ src: this.vectorsBuf, srcOffset: 0, dst: grown, dstOffset: 0, bytes: this.count * this.dims * 4 }]);
    const old = this.vectorsBuf;
    this.vectorsBuf = grown;
    this.cap = rows;
    this.bitsBuf?.destroy();
    this.bitsBuf = null;
    this.bitsDirty = true;
    this.generation++;
    await this.gpu.idle();
    old.destroy();
  }

  /** Write unit rows (already normalized on the host) at rows [at, at + n). */
  write(at: number, rows: Float32Array): void {
    this.gpu.write(this.vectorsBuf, rows, at * this.dims * 4);
    this.bitsDirty = true;
  }

  /** The rows were written on the GPU (engine.embedInto): the bits need packing again. */
  touched(): void {
    this.bitsDirty = true;
  }

  /**
   * Fill holes: move row from[i] to row to[i] (every from ≥ every to, so no move reads a row that
   * another move wrote), then shrink to `count`. WebGPU cannot copy within one buffer, so rows go
   * through a pooled scratch buffer, all in one submit.
   */
  move(from: readonly number[], to: readonly number[], count: number): void {
    const rowBytes = this.dims * 4;
    if (from.length) {
      const scratch = this.gpu.storage(from.length * rowBytes, 'index.move');
      const v = this.vectorsBuf;
      this.gpu.copy('index.remove', [
        ...from.map((r, i) => ({ src: v, srcOffset: r * rowBytes, dst: scratch, dstOffset: i * rowBytes, bytes: rowBytes })),
        ...to.map((r, i) => ({ src: scratch, srcOffset: i * rowBytes, dst: v, dstOffset: r * rowBytes, bytes: rowBytes })),
      ]);
      this.gpu.pool.release(scratch);
    }
    this.count = count;
    this.bitsDirty = true;
  }

  /** Packed sign bits of rows [0, count), re-packed on the GPU if anything changed since. */
  bits(): GPUBuffer {
    if (!this.bitsBuf) {
      this.bitsBuf = this.gpu.createStorage(Math.max(16, quantizedBytes(this.cap, this.dims)), `index.bits[${this.cap}]`);
      this.bitsDirty = true;
      this.generation++;
    }
    if (this.bitsDirty && this.count > 0) {
      const d = this.quantize.bind({ x: this.vectorsBuf, out: this.bitsBuf }, 'index.pack_bits').update({ rows: this.count, dims: this.dims, inStride: this.dims });
      // Kept until the next packing: the CPU backend may run an enqueued step after this returns.
      this.packStep?.destroy();
      this.packStep = d;
      this.gpu.enqueue('index.pack_bits', [d]);
    }
    this.bitsDirty = false;
    return this.bitsBuf;
  }

  /** Read rows [0, count) back (for persistence). */
  async read(): Promise<Float32Array> {
    if (this.count === 0) return new Float32Array(0);
    return new Float32Array(await this.gpu.read(this.vectorsBuf, this.count * this.dims * 4));
  }

  destroy(): void {
    this.packStep?.destroy();
    this.vectorsBuf.destroy();
    this.bitsBuf?.destroy();
  }
}
