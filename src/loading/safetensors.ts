// safetensors: an 8-byte little-endian u64 header length N, N bytes of JSON header
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}), then the
// data section; offsets are relative to its start. Checkpoints too big for one file are sharded:
// model.safetensors.index.json maps every tensor name to its shard file (`weight_map`).
//
// Model files are untrusted input: every length and offset is checked against the file before it
// is used, and each failure is a ModelLoadError naming the file and the tensor. Weights are handed
// out as f32 (F16 and BF16 converted), or in the GPU storage dtype the model asks for
// (toStorageDtype: f16 bits straight from F16 and BF16 data, no f32 copy).

import { ModelLoadError, NotFoundError } from '../gpu/errors';
import type { StorageDtype } from '../gpu/storage_dtype';
import { bf16ToHalf, f32ToHalf, HALF_MAX, type HalfConversion } from './half';
import type { ModelSource } from './source';

/** Every dtype of the safetensors format, with its size in bytes. */
const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type Dtype = keyof typeof DTYPE_BYTES;

/** The dtypes get() converts to f32. */
export const FLOAT_DTYPES: readonly Dtype[] = ['F32', 'F16', 'BF16', 'F64'];

/** Headers bigger than this are refused before decoding: real ones are well under 1 MB per 1000 tensors. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** The tensor's bytes, a view into the file (no copy). */
  readonly data: Uint8Array;
  /** Which file it came from (for messages). */
  readonly file: string;
}

export interface SafetensorsFile {
  readonly file: string;
  readonly tensors: Map<string, TensorInfo>;
  readonly metadata: Record<string, string>;
}

/** A tensor as the header describes it: where its bytes lie in the data section. */
export interface TensorMeta {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Byte range [begin, end) in the data section (after the 8 + N header bytes). */
  readonly begin: number;
  readonly end: number;
  readonly file: string;
}

export interface SafetensorsHeader {
  /** The tensors, sorted by where their bytes begin (the order a stream delivers them). */
  readonly tensors: TensorMeta[];
  readonly metadata: Record<string, string>;
}

/** Bytes per element of a dtype. */
export function dtypeBytes(dtype: Dtype): number {
  return DTYPE_BYTES[dtype];
}

/** The header length N from the first 8 bytes, checked against the cap (and the file size when known). */
export function headerLength(first8: Uint8Array, file: string, modelId: string, fileSize?: number): number {
  const fail = (msg: string) => new ModelLoadError(`${file} (model "${modelId}"): ${msg}`);
  if (first8.byteLength < 8) {
    throw fail(`truncated: ${first8.byteLength} bytes, but the file must start with an 8-byte header length`);
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const headerLen = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (headerLen > MAX_HEADER_BYTES) {
    throw fail(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  }
  if (fileSize !== undefined && 8 + headerLen > fileSize) {
    throw fail(`header length ${headerLen} runs past the end of the file (${fileSize} bytes; truncated download?)`);
  }
  return headerLen;
}

/**
 * Validate a header's JSON (the N bytes after the length) against a data section of `dataLength`
 * bytes (Infinity when a stream's length is not known yet: the reader then checks the end itself).
 * Validates: the header is a JSON object; every tensor has a known dtype, a shape of non-negative
 * integers, and data_offsets [begin, end] with begin ≤ end ≤ data length and end − begin =
 * product(shape) × dtype size; tensors do not overlap. Gaps between tensors are tolerated.
 */
export function parseHeader(json: Uint8Array, dataLength: number, file: string, modelId: string): SafetensorsHeader {
  const fail = (msg: string) => new ModelLoadError(`${file} (model "${modelId}"): ${msg}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw fail('header is not a JSON object');
  }
  const tensors: TensorMeta[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== 'string')) {
        throw fail('__metadata__ must be an object of strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const bad = (msg: string) => fail(`tensor "${name}": ${msg}`);
    if (typeof raw !== 'object' || raw === null) throw bad('entry is not an object');
    const { dtype, shape, data_offsets: offsets } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
      throw bad(`unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`data_offsets ${JSON.stringify(offsets)} is not [begin, end] with non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw bad(`data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) {
      throw bad(`data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes; truncated file?)`);
    }
    const size = DTYPE_BYTES[dtype as Dtype];
    const elements = shape.reduce((a: number, d: number) => a * d, 1);
    if (end - begin !== elements * size) {
      throw bad(`holds ${end - begin} bytes, but shape [${shape.join(', ')}] of ${dtype} needs ${elements} × ${size} = ${elements * size}`);
    }
    tensors.push({ name, dtype: dtype as Dtype, shape: shape as number[], begin, end, file });
  }
  // Sorted by begin, a tensor overlaps an earlier one iff it starts before the furthest end so far.
  // Zero-sized tensors occupy no bytes and may sit anywhere.
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let reach: TensorMeta | undefined;
  for (const t of tensors) {
    if (t.begin === t.end) continue;
    if (reach && t.begin < reach.end) {
      throw fail(`tensors "${reach.name}" [${reach.begin}, ${reach.end}] and "${t.name}" [${t.begin}, ${t.end}] overlap`);
    }
    if (!reach || t.end > reach.end) reach = t;
  }
  return { tensors, metadata };
}

/**
 * Parse and validate one safetensors file held in memory. `file` and `modelId` only feed messages.
 * Checks the header length against the file and the cap, then the header (parseHeader).
 */
export function parseSafetensors(bytes: Uint8Array, file: string, modelId: string): SafetensorsFile {
  const headerLen = headerLength(bytes, file, modelId, bytes.byteLength);
  const data = bytes.subarray(8 + headerLen);
  const header = parseHeader(bytes.subarray(8, 8 + headerLen), data.byteLength, file, modelId);
  const tensors = new Map<string, TensorInfo>();
  for (const t of header.tensors) {
    tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, data: data.subarray(t.begin, t.end), file });
  }
  return { file, tensors, metadata: header.metadata };
}

// ---------------------------------------------------------------------------------------------
// dtype → f32

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16Table: Float32Array | undefined;

/** IEEE half → f32 for all 65536 bit patterns (subnormals, ±0, ±inf and NaN included). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24; // subnormal (and ±0): frac × 2^-14 / 1024
    else if (exp === 0x1f) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

/**
 * Decode `count` elements of a float dtype from little-endian bytes into `out` (from index 0).
 * The one dtype → f32 conversion: toFloat32 (a whole tensor in memory) and the streaming upload
 * (tensor_upload.ts, piece by piece as bytes arrive) both call it.
 */
export function decodeF32(dtype: Dtype, data: Uint8Array, out: Float32Array, count: number): void {
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN && data.byteOffset % 4 === 0) {
        out.set(new Float32Array(data.buffer, data.byteOffset, count));
        return;
      }
      const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let i = 0; i < count; i++) out[i] = v.getFloat32(i * 4, true);
      return;
    }
    case 'F16': {
      const table = halfTable();
      for (let i = 0; i < count; i++) out[i] = table[data[2 * i] | (data[2 * i + 1] << 8)];
      return;
    }
    case 'BF16': {
      // bfloat16 is the top half of an f32: shift the 16 bits into the high half.
      const bits = new Uint32Array(out.buffer, out.byteOffset, count);
      // Both views share the host's byte order, so this holds on big-endian hosts too.
      for (let i = 0; i < count; i++) bits[i] = ((data[2 * i] | (data[2 * i + 1] << 8)) << 16) >>> 0;
      return;
    }
    case 'F64': {
      const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let i = 0; i < count; i++) out[i] = v.getFloat64(i * 8, true);
      return;
    }
    default:
      throw new ModelLoadError(`dtype ${dtype} is not a float dtype (${FLOAT_DTYPES.join(', ')})`);
  }
}

/** The error for a tensor whose dtype cannot become f32 weights. */
export function notFloatError(t: { name: string; dtype: Dtype; file: string }, modelId: string): ModelLoadError {
  return new ModelLoadError(
    `${t.file} (model "${modelId}"): tensor "${t.name}" has dtype ${t.dtype}; only ${FLOAT_DTYPES.join(', ')} weights can be loaded`,
  );
}

/** Convert a tensor's bytes to f32. F32 data that is 4-byte aligned is returned as a view, not a copy. */
export function toFloat32(t: TensorInfo, modelId: string): Float32Array {
  const { data } = t;
  const n = t.shape.reduce((a, d) => a * d, 1);
  if (!FLOAT_DTYPES.includes(t.dtype)) throw notFloatError(t, modelId);
  if (t.dtype === 'F32' && LITTLE_ENDIAN && data.byteOffset % 4 === 0) return new Float32Array(data.buffer, data.byteOffset, n);
  const out = new Float32Array(n);
  decodeF32(t.dtype, data, out, n);
  return out;
}

/**
 * A tensor in the dtype it will have on the GPU: f32 (toFloat32), or f16 bits. F16 data is passed
 * through (a view when 2-byte aligned), BF16 is converted bit by bit, F32/F64 via f32. A value past
 * the half range (±65504) is an error naming the tensor: it would become ±inf on the GPU.
 */
export function toStorageDtype(t: TensorInfo, dtype: StorageDtype, modelId: string): Float32Array | Uint16Array {
  if (dtype === 'f32') return toFloat32(t, modelId);
  const n = t.shape.reduce((a, d) => a * d, 1);
  if (t.dtype === 'F16') {
    if (LITTLE_ENDIAN && t.data.byteOffset % 2 === 0) return new Uint16Array(t.data.buffer, t.data.byteOffset, n);
    return Uint16Array.from({ length: n }, (_, i) => t.data[2 * i] | (t.data[2 * i + 1] << 8));
  }
  const conv: HalfConversion = t.dtype === 'BF16' ? bf16ToHalf(t.data, n) : f32ToHalf(toFloat32(t, modelId));
  if (conv.overflowAt >= 0) {
    throw new HalfRangeError(t, modelId, t.dtype === 'BF16' ? 'a value' : String(toFloat32(t, modelId)[conv.overflowAt]), conv.overflowAt);
  }
  return conv.bits;
}

/**
 * A weight that would become ±inf as f16: the host conversion (toStorageDtype) and the streaming
 * upload (tensor_upload.ts) throw this same error, so a load fails the same way either path. A
 * ModelLoadError (400); dtype 'auto' catches it and stores the model in f32 instead (load_model.ts).
 */
export class HalfRangeError extends ModelLoadError {
  readonly tensor: string;
  constructor(t: { name: string; file: string }, modelId: string, value: string, index: number) {
    super(`${t.file} (model "${modelId}"): tensor "${t.name}" has ${value} at index ${index} beyond the f16 range (±${HALF_MAX}); load it with dtype: 'f32'`);
    this.tensor = t.name;
  }
}

// ---------------------------------------------------------------------------------------------
// WeightStore

/** Prefixes HF head models put before the base model's names (BertForX: "bert.", Qwen3ForX: "model.", DistilBertForX: "distilbert.", MPNetForX: "mpnet.", GTE: "new."). */
export const BASE_PREFIXES = ['bert.', 'roberta.', 'model.', 'distilbert.', 'mpnet.', 'new.'] as const;

export const SINGLE_FILE = 'model.safetensors';
export const SHARD_INDEX = 'model.safetensors.index.json';

export interface WeightLoadOptions {
  signal?: AbortSignal;
}

/**
 * All tensors of a checkpoint (one file or shards), looked up by HF state_dict name.
 *
 * Name resolution: an exact name wins; otherwise a name is also found with or without one of
 * BASE_PREFIXES, so model code can ask for "embeddings.word_embeddings.weight" whether the file
 * came from BertModel (no prefix) or BertForSequenceClassification ("bert." prefix), and vice versa.
 */
export class WeightStore {
  private constructor(
    readonly modelId: string,
    private readonly tensors: Map<string, TensorInfo>,
    /** The files the tensors came from, in load order. */
    readonly files: readonly string[],
    /** __metadata__ of every file, merged. */
    readonly metadata: Readonly<Record<string, string>>,
    /**
     * Tensors already on the GPU (streamed, stream_weights.ts), by stored name; their TensorInfo
     * holds no bytes. Model code takes them with take(); what nobody takes is freed by dispose().
     */
    private readonly resident: Map<string, GPUBuffer> = new Map(),
  ) {}

  /** A store whose tensors were streamed: `resident` ones live in GPU buffers, the rest in `tensors`' bytes. */
  static streamed(modelId: string, tensors: Map<string, TensorInfo>, resident: Map<string, GPUBuffer>, files: readonly string[], metadata: Record<string, string>): WeightStore {
    return new WeightStore(modelId, tensors, files, metadata, resident);
  }

  /** Load model.safetensors, or every shard named by model.safetensors.index.json. */
  static async load(source: ModelSource, opts: WeightLoadOptions = {}): Promise<WeightStore> {
    if (await source.exists(SHARD_INDEX)) return WeightStore.loadSharded(source, opts);
    if (await source.exists(SINGLE_FILE)) {
      const parsed = parseSafetensors(await source.bytes(SINGLE_FILE, opts.signal), SINGLE_FILE, source.id);
      return new WeightStore(source.id, parsed.tensors, [SINGLE_FILE], parsed.metadata);
    }
    const other = ['pytorch_model.bin', 'model.pt', 'tf_model.h5', 'onnx/model.onnx'];
    const found = [];
    for (const f of other) if (await source.exists(f)) found.push(f);
    throw new NotFoundError(
      `Model "${source.id}" has no ${SINGLE_FILE} or ${SHARD_INDEX}` +
        (found.length ? `; it has ${found.join(', ')}, but only safetensors weights are supported` : ''),
    );
  }

  /** Build from files already parsed (tests, in-memory checkpoints). Later files may not redefine a name. */
  static fromFiles(modelId: string, files: readonly SafetensorsFile[]): WeightStore {
    const tensors = new Map<string, TensorInfo>();
    const metadata: Record<string, string> = {};
    for (const f of files) {
      Object.assign(metadata, f.metadata);
      for (const [name, t] of f.tensors) {
        const prev = tensors.get(name);
        if (prev) throw new ModelLoadError(`Model "${modelId}": tensor "${name}" is in both ${prev.file} and ${t.file}`);
        tensors.set(name, t);
      }
    }
    return new WeightStore(modelId, tensors, files.map((f) => f.file), metadata);
  }

  /** The shard index: every tensor's shard, and the shards in first-mentioned order (each checked to exist). */
  static async readShardIndex(source: ModelSource, signal?: AbortSignal): Promise<{ entries: [string, string][]; shards: string[] }> {
    const index = await source.json<{ weight_map?: unknown }>(SHARD_INDEX, signal);
    const fail = (msg: string) => new ModelLoadError(`${SHARD_INDEX} (model "${source.id}"): ${msg}`);
    const map = index?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw fail('has no "weight_map" object');
    const entries = Object.entries(map as Record<string, unknown>);
    if (entries.length === 0) throw fail('"weight_map" is empty');
    const shards: string[] = [];
    for (const [name, shard] of entries) {
      if (typeof shard !== 'string' || !shard.endsWith('.safetensors')) {
        throw fail(`tensor "${name}" maps to ${JSON.stringify(shard)}, not a .safetensors file`);
      }
      if (!shards.includes(shard)) shards.push(shard);
    }
    for (const shard of shards) {
      if (!(await source.exists(shard))) {
        throw new NotFoundError(`Model "${source.id}": shard "${shard}" named by ${SHARD_INDEX} is missing`);
      }
    }
    return { entries: entries as [string, string][], shards };
  }

  private static async loadSharded(source: ModelSource, opts: WeightLoadOptions): Promise<WeightStore> {
    const { entries, shards } = await WeightStore.readShardIndex(source, opts.signal);
    const parsed: SafetensorsFile[] = [];
    // One shard at a time: holding a single shard's download in flight keeps peak memory down.
    for (const shard of shards) parsed.push(parseSafetensors(await source.bytes(shard, opts.signal), shard, source.id));
    const store = WeightStore.fromFiles(source.id, parsed);
    store.checkShardMap(entries);
    return store;
  }

  /** Every tensor the index names is in the shard it names. */
  checkShardMap(entries: readonly [string, string][]): void {
    const fail = (msg: string) => new ModelLoadError(`${SHARD_INDEX} (model "${this.modelId}"): ${msg}`);
    for (const [name, shard] of entries) {
      const t = this.tensors.get(name);
      if (!t) throw fail(`tensor "${name}" is not in its shard ${shard}`);
      if (t.file !== shard) throw fail(`tensor "${name}" is mapped to ${shard} but found in ${t.file}`);
    }
  }

  /** All stored tensor names, as in the files. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  /** The stored name `name` resolves to (exact, or with/without a base-model prefix). */
  resolve(name: string): string {
    return this.info(name).name;
  }

  shape(name: string): number[] {
    return [...this.info(name).shape];
  }

  dtype(name: string): Dtype {
    return this.info(name).dtype;
  }

  /**
   * The tensor as f32, row-major in its stored shape. Aligned F32 data is a view into the loaded file
   * (do not write to it); F16/BF16/F64 are converted into a new array on every call.
   */
  get(name: string): Float32Array {
    return toFloat32(this.hostInfo(name), this.modelId);
  }

  /** The tensor as f32, after checking its shape: a clear load error beats a wrong matmul. */
  getShaped(name: string, shape: readonly number[]): Float32Array {
    return toFloat32(this.shaped(name, shape), this.modelId);
  }

  /** The tensor in a GPU storage dtype (f32, or f16 bits), its shape checked when given. */
  getAs(name: string, dtype: StorageDtype, shape?: readonly number[]): Float32Array | Uint16Array {
    return toStorageDtype(shape ? this.shaped(name, shape) : this.hostInfo(name), dtype, this.modelId);
  }

  /** A host tensor after checking its shape: a clear load error beats a wrong matmul. */
  private shaped(name: string, shape: readonly number[]): TensorInfo {
    const t = this.hostInfo(name);
    this.checkShape(t, shape);
    return t;
  }

  /** Whether the tensor was streamed straight into a GPU buffer (and not taken yet). */
  onDevice(name: string): boolean {
    return this.resident.has(this.info(name).name);
  }

  /**
   * The tensor's GPU buffer (f32, its stored shape), after checking the shape. The caller owns it
   * from now on (it is also destroyed with its Gpu context); a second take() of the name throws.
   */
  take(name: string, shape?: readonly number[]): GPUBuffer {
    const t = this.info(name);
    if (shape) this.checkShape(t, shape);
    const buf = this.resident.get(t.name);
    if (!buf) throw new ModelLoadError(`Model "${this.modelId}": tensor "${t.name}" is not on the GPU (taken twice, or loaded without streaming)`);
    this.resident.delete(t.name);
    return buf;
  }

  /** Free the streamed tensors nobody took (e.g. a pooler the task does not use). */
  dispose(): void {
    for (const b of this.resident.values()) b.destroy();
    this.resident.clear();
  }

  private checkShape(t: TensorInfo, shape: readonly number[]): void {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelLoadError(
        `Model "${this.modelId}": tensor "${t.name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] (does config.json match the weights?)`,
      );
    }
  }

  /** A tensor whose bytes are on the host; a streamed one is an error that says how to read it. */
  private hostInfo(name: string): TensorInfo {
    const t = this.info(name);
    if (this.resident.has(t.name)) {
      throw new ModelLoadError(
        `Model "${this.modelId}": tensor "${t.name}" was streamed to the GPU, so its values are not on the host; take() its buffer, or list it in hostTensors() (src/loading/load_model.ts) when model code reads it on the CPU`,
      );
    }
    return t;
  }

  private info(name: string): TensorInfo {
    const t = this.lookup(name);
    if (t) return t;
    const close = this.closeNames(name, 5);
    throw new ModelLoadError(
      `Model "${this.modelId}": tensor "${name}" not found in ${this.files.join(', ')}` +
        (close.length ? `; closest names: ${close.join(', ')}` : ''),
    );
  }

  private lookup(name: string): TensorInfo | undefined {
    const exact = this.tensors.get(name);
    if (exact) return exact;
    const prefix = BASE_PREFIXES.find((p) => name.startsWith(p));
    if (prefix) return this.tensors.get(name.slice(prefix.length));
    const hits = BASE_PREFIXES.map((p) => this.tensors.get(p + name)).filter((t): t is TensorInfo => t !== undefined);
    if (hits.length > 1) {
      throw new ModelLoadError(`Model "${this.modelId}": tensor "${name}" is ambiguous: ${hits.map((t) => t.name).join(', ')}`);
    }
    return hits[0];
  }

  private closeNames(name: string, k: number): string[] {
    const strip = (s: string) => {
      const p = BASE_PREFIXES.find((q) => s.startsWith(q));
      return p ? s.slice(p.length) : s;
    };
    const target = strip(name);
    return this.names()
      .map((n) => ({ n, d: editDistance(strip(n), target) }))
      .sort((a, b) => a.d - b.d || (a.n < b.n ? -1 : 1))
      .slice(0, k)
      .map((x) => x.n);
  }
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}
