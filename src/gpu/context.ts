// The GPU context every kernel wrapper and model receives: device, adapter report, pipeline cache,
// buffer pool, and the create-once / encode-many `Dispatch`.

import { acquireDevice, type AcquiredDevice, type AdapterReport, type DeviceOptions } from './device';
import { BufferPool, type BufferCount } from './buffers';
import { GpuError } from './errors';
import { PipelineCache, type CompiledKernel } from './pipelines';
import type { StorageDtype } from './storage_dtype';

export const STORAGE = GPUBufferUsageFlagsOf('STORAGE', 'COPY_SRC', 'COPY_DST');

/** GPUBufferUsage may be a late global in Node (installed by Dawn), so resolve flags lazily. */
function GPUBufferUsageFlagsOf(...names: (keyof typeof GPUBufferUsage)[]): () => number {
  return () => names.reduce((acc, n) => acc | GPUBufferUsage[n], 0);
}

/** Values of a Params uniform, in WGSL struct order. Every field is a 4-byte scalar. */
export type ParamField = ['u32' | 'i32' | 'f32', number];

/** Pack 4-byte scalars into a uniform-sized (multiple of 16 bytes) buffer. */
export function packParams(fields: readonly ParamField[]): ArrayBuffer {
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const data = new ArrayBuffer(bytes);
  const view = new DataView(data);
  fields.forEach(([type, v], i) => {
    if (type === 'u32') view.setUint32(i * 4, v >>> 0, true);
    else if (type === 'i32') view.setInt32(i * 4, v | 0, true);
    else view.setFloat32(i * 4, v, true);
  });
  return data;
}

/**
 * One kernel invocation bound to its buffers, built once and encoded for every batch. Shapes change
 * per batch through `update()` (a Params write + new workgroup counts), never through a new pipeline.
 * Each Dispatch owns its uniform buffer: queue.writeBuffer lands before the whole submit, so two
 * dispatches of one submit must not share one.
 */
/** One copyBufferToBuffer: `bytes` from src at srcOffset to dst at dstOffset. */
export interface BufferCopy {
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  bytes: number;
}

export class Dispatch {
  readonly params: GPUBuffer;
  readonly bindGroup: GPUBindGroup;
  workgroups: [number, number, number] = [0, 1, 1];

  constructor(
    private readonly gpu: Gpu,
    readonly kernel: CompiledKernel,
    buffers: readonly (GPUBuffer | GPUBufferBinding)[],
    paramsBytes: number,
    readonly label: string,
  ) {
    this.params = gpu.createBuffer({
      label: `${label}.params`,
      size: Math.max(16, Math.ceil(paramsBytes / 16) * 16),
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const n = kernel.spec.bindings.length;
    if (buffers.length !== n - 1) {
      throw new GpuError(`${label}: ${kernel.spec.file} takes ${n - 1} buffers, got ${buffers.length}`);
    }
    this.bindGroup = gpu.device.createBindGroup({
      label,
      layout: kernel.layout,
      entries: [
        { binding: 0, resource: { buffer: this.params } },
        ...buffers.map((b, i) => ({ binding: i + 1, resource: 'buffer' in b ? b : { buffer: b } })),
      ],
    });
  }

  /** Write this dispatch's Params and workgroup grid for the next submit. */
  update(fields: readonly ParamField[], workgroups: readonly number[]): this {
    this.gpu.device.queue.writeBuffer(this.params, 0, packParams(fields));
    const max = this.gpu.device.limits.maxComputeWorkgroupsPerDimension;
    const [x = 1, y = 1, z = 1] = workgroups.map((w) => Math.max(0, Math.ceil(w)));
    if (x > max || y > max || z > max) {
      throw new GpuError(`${this.label}: grid ${x}×${y}×${z} exceeds maxComputeWorkgroupsPerDimension ${max}`);
    }
    this.workgroups = [x, y, z];
    return this;
  }

  encode(pass: GPUComputePassEncoder): void {
    const [x, y, z] = this.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    pass.setPipeline(this.kernel.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }

  destroy(): void {
    this.params.destroy();
  }
}

/** What a kernel wrapper computes from a typed shape: the Params fields and the workgroup grid. */
export interface Plan {
  fields: readonly ParamField[];
  workgroups: readonly number[];
}

/**
 * A Dispatch with a typed shape: wrappers supply `plan(shape)`, callers call `update(shape)` per
 * batch and `encode(pass)` into the batch's single compute pass.
 */
export class Bound<S> {
  constructor(
    readonly dispatch: Dispatch,
    private readonly plan: (shape: S) => Plan,
  ) {}

  update(shape: S): this {
    const p = this.plan(shape);
    this.dispatch.update(p.fields, p.workgroups);
    return this;
  }

  encode(pass: GPUComputePassEncoder): void {
    this.dispatch.encode(pass);
  }

  destroy(): void {
    this.dispatch.destroy();
  }
}

/** A copy into a mappable buffer, encoded with the compute work and read after the submit. */
export class Staged {
  constructor(
    private readonly gpu: Gpu,
    private readonly staging: GPUBuffer,
    readonly byteLength: number,
  ) {}

  async read(): Promise<ArrayBuffer> {
    try {
      await this.staging.mapAsync(GPUMapMode.READ, 0, this.byteLength);
      return this.staging.getMappedRange(0, this.byteLength).slice(0);
    } finally {
      if (this.staging.mapState === 'mapped') this.staging.unmap();
      this.gpu.pool.release(this.staging);
    }
  }
}

export class Gpu {
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  private readonly owned: boolean;
  /** Weight buffers made by upload(): destroyed with this context even on a caller's device. */
  private readonly uploads = new Set<GPUBuffer>();
  /** Every buffer made through createBuffer() and not yet destroyed, with its size (liveBuffers()). */
  private readonly live = new Map<GPUBuffer, number>();
  private liveBytes = 0;
  private created = 0;
  private destroyed = 0;
  /** The storage dtype of every weight uploaded as f16 (the weight handle's dtype; absent = f32). */
  private readonly dtypes = new WeakMap<GPUBuffer, StorageDtype>();
  /**
   * Called before each upload with its label and size (the load's progress stream and abort check
   * hook in here); throwing refuses the upload.
   */
  onUpload?: (label: string, bytes: number) => void;

  protected constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
    owned: boolean,
  ) {
    this.pipelines = new PipelineCache(device);
    this.pool = new BufferPool((desc) => this.createBuffer(desc));
    this.owned = owned;
  }

  static async create(opts: DeviceOptions = {}): Promise<Gpu> {
    const acquired: AcquiredDevice = await acquireDevice(opts);
    return new Gpu(acquired.device, acquired.report, !opts.device);
  }

  get hasF16(): boolean {
    return this.device.features.has('shader-f16');
  }

  /** Which backend runs the kernels: WebGPU here; the CPU backend (src/cpu/context.ts) says 'cpu'. */
  get backend(): 'webgpu' | 'cpu' {
    return 'webgpu';
  }

  /**
   * The seam below the models: every kernel wrapper's create() asks its context first, and a CPU
   * context answers with its WebAssembly kernel of the same surface (bind → update / encode /
   * destroy). A WebGPU context has none, and the wrapper builds its pipeline.
   */
  cpuKernel<K>(_name: string, _opts: unknown): Promise<K> | null {
    return null;
  }

  /** WGSL `enable subgroups;` compiles on this device (requested whenever the adapter has it). */
  get hasSubgroups(): boolean {
    return this.device.features.has('subgroups');
  }

  /**
   * device.createBuffer, counted: every buffer wgpool makes goes through here, so liveBuffers() can
   * say what is still allocated (after an aborted load it must be nothing). The buffer's destroy()
   * is wrapped to take it off the count; destroying the device clears the count too.
   */
  createBuffer(desc: GPUBufferDescriptor): GPUBuffer {
    const buf = this.device.createBuffer(desc);
    this.track(buf, desc.size);
    return buf;
  }

  /** An unpooled storage buffer (copyable both ways) that the caller owns, e.g. the index's corpus matrix. */
  createStorage(size: number, label: string): GPUBuffer {
    return this.createBuffer({ label, size, usage: STORAGE() });
  }

  /** Count a buffer made elsewhere (the CPU backend's uploads) until its destroy(). */
  protected track(buf: GPUBuffer, size: number): void {
    this.live.set(buf, size);
    this.liveBytes += size;
    this.created++;
    const destroy = buf.destroy.bind(buf);
    (buf as { destroy: () => void }).destroy = () => {
      const n = this.live.get(buf);
      if (n !== undefined) {
        this.live.delete(buf);
        this.liveBytes -= n;
        this.destroyed++;
      }
      destroy();
    };
  }

  /**
   * Buffers this context made that are not destroyed yet (weights, pooled activations, uniforms,
   * readback staging), and their bytes. Public for debugging and tests: after dispose() or an aborted
   * load it is { buffers: 0, bytes: 0 }; engine.liveBuffers() forwards it.
   */
  /** liveBuffers() with the totals made and destroyed (the soak and fuzz suites' leak checks). */
  bufferCount(): BufferCount {
    return { liveBuffers: this.live.size, liveBytes: this.liveBytes, created: this.created, destroyed: this.destroyed };
  }

  liveBuffers(): { buffers: number; bytes: number } {
    return { buffers: this.live.size, bytes: this.liveBytes };
  }

  /** A storage buffer (pooled) of at least `bytes`. */
  storage(bytes: number, label: string): GPUBuffer {
    return this.pool.acquire(bytes, STORAGE(), label);
  }

  /**
   * A storage buffer filled from host data (created mapped: no staging copy). `dtype` records how a
   * weight is stored (f16 data arrives as a Uint16Array of half bits); kernels that read weights check
   * it against their variant at bind time (dtypeOf).
   */
  upload(data: ArrayBufferView, label: string, dtype: StorageDtype = 'f32'): GPUBuffer {
    const buf = this.uploadBytes(data, label);
    this.uploads.add(buf);
    if (dtype !== 'f32') this.dtypes.set(buf, dtype);
    return buf;
  }

  /**
   * Bytes of the weight buffers still allocated (tables, heads, streamed tensors): what the model
   * holds on the device. Streamed parts fused into one buffer (concatRows) and freed do not count.
   */
  get uploadedBytes(): number {
    let n = 0;
    for (const b of this.uploads) if (this.live.has(b)) n += b.size;
    return n;
  }

  /** Record how a buffer made elsewhere stores weights (the matmul trial's scratch weights). */
  setDtype(buf: GPUBuffer, dtype: StorageDtype): void {
    if (dtype === 'f32') this.dtypes.delete(buf);
    else this.dtypes.set(buf, dtype);
  }

  /** How `buf` stores its elements: 'f16' for weights uploaded as such, else 'f32'. */
  dtypeOf(buf: GPUBuffer): StorageDtype {
    return this.dtypes.get(buf) ?? 'f32';
  }

  protected uploadBytes(data: ArrayBufferView, label: string): GPUBuffer {
    this.onUpload?.(label, data.byteLength);
    const buf = this.weightBuffer(data.byteLength, label, true);
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buf.unmap();
    return buf;
  }

  /**
   * An empty weight buffer of `bytes` (rounded up to 4, at least 16), filled later with
   * queue.writeBuffer (the streaming upload) or buffer copies; destroyed with this context. A size
   * over the adapter's per-buffer limits is refused naming `label` and the limit.
   */
  weightBuffer(bytes: number, label: string, mappedAtCreation = false): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 4) * 4);
    const limit = this.maxWeightBytes();
    if (size > limit) {
      throw new GpuError(
        `Tensor "${label}" needs a ${size}-byte buffer, more than this adapter's limit of ${limit} bytes (min of maxBufferSize ${this.device.limits.maxBufferSize} and maxStorageBufferBindingSize ${this.device.limits.maxStorageBufferBindingSize}).`,
      );
    }
    const buf = this.createBuffer({ label, size, usage: STORAGE(), mappedAtCreation });
    this.uploads.add(buf);
    return buf;
  }

  /** The largest buffer a kernel can bind whole: min(maxBufferSize, maxStorageBufferBindingSize). */
  maxWeightBytes(): number {
    return Math.min(this.device.limits.maxBufferSize, this.device.limits.maxStorageBufferBindingSize);
  }

  /** Write host data into a (pooled) buffer through the queue, ordered before the next submit. */
  write(buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    // writeBuffer needs a multiple of 4 bytes.
    if (data.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
      padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.device.queue.writeBuffer(buf, offset, padded);
    } else {
      this.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
    }
  }

  dispatch(kernel: CompiledKernel, buffers: readonly (GPUBuffer | GPUBufferBinding)[], paramsBytes: number, label: string): Dispatch {
    return new Dispatch(this, kernel, buffers, paramsBytes, label);
  }

  /** Encode a copy of `src[offset, offset+bytes)` for reading after this encoder's submit. */
  stage(encoder: GPUCommandEncoder, src: GPUBuffer, bytes: number, offset = 0): Staged {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.pool.acquire(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    encoder.copyBufferToBuffer(src, offset, staging, 0, size);
    return new Staged(this, staging, size);
  }

  /** Run dispatches in one compute pass, one submit; surfaces validation errors as exceptions. */
  async run(dispatches: readonly { encode(pass: GPUComputePassEncoder): void }[], label = 'run'): Promise<void> {
    this.device.pushErrorScope('validation');
    const encoder = this.device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    for (const d of dispatches) d.encode(pass);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    const err = await this.device.popErrorScope();
    if (err) throw new GpuError(`${label}: ${err.message}`);
    await this.device.queue.onSubmittedWorkDone();
  }

  /**
   * One batch: encode `work` into one compute pass, copy `bytes` of `output` for readback, submit.
   * Resolves once submitted (the CPU backend: once computed); `read()` then waits for the answer.
   */
  async submit(label: string, work: readonly { encode(pass: GPUComputePassEncoder): void }[], output: GPUBuffer, bytes: number): Promise<{ read(): Promise<ArrayBuffer> }> {
    const encoder = this.device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    for (const w of work) w.encode(pass);
    pass.end();
    const staged = this.stage(encoder, output, bytes);
    this.device.queue.submit([encoder.finish()]);
    return staged;
  }

  /**
   * Submit `work` in one compute pass, then `copies`, without waiting; it is ordered before later
   * submits, reads and copies (embedInto lands rows this way; the index packs its corpus bits).
   */
  enqueue(label: string, work: readonly { encode(pass: GPUComputePassEncoder): void }[], copies: readonly BufferCopy[] = []): void {
    const encoder = this.device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    for (const w of work) w.encode(pass);
    pass.end();
    for (const c of copies) encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Copy byte ranges between buffers, in order, in one submit (src and dst must differ per copy). */
  copy(label: string, copies: readonly BufferCopy[]): void {
    if (!copies.length) return;
    const encoder = this.device.createCommandEncoder({ label });
    for (const c of copies) encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
    this.device.queue.submit([encoder.finish()]);
  }

  /** One batch with several outputs: `work` in one compute pass, then each `[buffer, bytes]` read back. */
  async runAndRead(label: string, work: readonly { encode(pass: GPUComputePassEncoder): void }[], outputs: readonly (readonly [GPUBuffer, number])[]): Promise<ArrayBuffer[]> {
    const encoder = this.device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    for (const w of work) w.encode(pass);
    pass.end();
    const staged = outputs.map(([buf, bytes]) => this.stage(encoder, buf, bytes));
    this.device.queue.submit([encoder.finish()]);
    return Promise.all(staged.map(async (st, i) => (await st.read()).slice(0, outputs[i][1])));
  }

  /** Resolves when all submitted work has finished. */
  idle(): Promise<void> {
    return this.device.queue.onSubmittedWorkDone();
  }

  /** Read a whole storage buffer (or a prefix) back to the host. */
  async read(src: GPUBuffer, bytes = src.size, offset = 0): Promise<ArrayBuffer> {
    const encoder = this.device.createCommandEncoder({ label: 'read' });
    const staged = this.stage(encoder, src, bytes, offset);
    this.device.queue.submit([encoder.finish()]);
    return (await staged.read()).slice(0, bytes);
  }

  destroy(): void {
    this.pool.destroy();
    for (const b of this.uploads) b.destroy();
    this.uploads.clear();
    // Whatever else this context made (Dispatch uniforms, autotune scratch): nothing outlives it,
    // also on a caller's device.
    for (const b of [...this.live.keys()]) b.destroy();
    if (this.owned) {
      this.device.destroy();
      this.forgetLive();
    }
  }

  /** A destroyed device (or the CPU backend's dropped memory) frees every buffer it made. */
  protected forgetLive(): void {
    this.live.clear();
    this.liveBytes = 0;
  }
}
