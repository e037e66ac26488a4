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

/**
 * Parse and validate one safetensors file held in memory. `file` and `modelId` only feed messages.
 * Validates: header length fits the file and the cap; the header is a JSON object; every tensor has
 * a known dtype, a shape of non-negative integers, and data_offsets [begin, end] with
 * begin ≤ end ≤ data length and end − begin = product(shape) × dtype size; tensors do not overlap.
 * Gaps between tensors are tolerated (they cannot make a read go wrong).
 */
export function parseSafetensors(bytes: Uint8Array, file: string, modelId: string): SafetensorsFile {
  const fail = (msg: string) => new ModelLoadError(`${file} (model "${modelId}"): ${msg}`);
  if (bytes.byteLength < 8) {
    throw fail(`truncated: ${bytes.byteLength} bytes, but the file must start with an 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen > MAX_HEADER_BYTES) {
    throw fail(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  }
  if (8 + headerLen > bytes.byteLength) {
    throw fail(`header length ${headerLen} runs past the end of the file (${bytes.byteLength} bytes; truncated download?)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw fail('header is not a JSON object');
  }
  const data = bytes.subarray(8 + headerLen);
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
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
    if (end > data.byteLength) {
      throw bad(`data_offsets [${begin}, ${end}] run past the end of the data section (${data.byteLength} bytes; truncated file?)`);
    }
    const size = DTYPE_BYTES[dtype as Dtype];
    const elements = shape.reduce((a: number, d: number) => a * d, 1);
    if (end - begin !== elements * size) {
      throw bad(`holds ${end - begin} bytes, but shape [${shape.join(', ')}] of ${dtype} needs ${elements} × ${size} = ${elements * size}`);
    }
    spans.push([begin, end, name]);
    tensors.set(name, { name, dtype: dtype as Dtype, shape: shape as number[], data: data.subarray(begin, end), file });
  }
  // Sorted by begin, a tensor overlaps an earlier one iff it starts before the furthest end so far.
  // Zero-sized tensors occupy no bytes and may sit anywhere.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let reach: [number, number, string] | undefined;
  for (const span of spans) {
    const [begin, end, name] = span;
    if (begin === end) continue;
    if (reach && begin < reach[1]) {
      throw fail(`tensors "${reach[2]}" [${reach[0]}, ${reach[1]}] and "${name}" [${begin}, ${end}] overlap`);
    }
    if (!reach || end > reach[1]) reach = span;
  }
  return { file, tensors, metadata };
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

/** Convert a tensor's bytes to f32. F32 data that is 4-byte aligned is returned as a view, not a copy. */
export function toFloat32(t: TensorInfo, modelId: string): Float32Array {
  const { data } = t;
  const n = t.shape.reduce((a, d) => a * d, 1);
  switch (t.dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN && data.byteOffset % 4 === 0) return new Float32Array(data.buffer, data.byteOffset, n);
      const out = new Float32Array(n);
      const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let i = 0; i < n; i++) out[i] = v.getFloat32(i * 4, true);
      return out;
    }
    case 'F16': {
      const table = halfTable();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[data[2 * i] | (data[2 * i + 1] << 8)];
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of an f32: shift the 16 bits into the high half.
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      // Both views share the host's byte order, so this holds on big-endian hosts too.
      for (let i = 0; i < n; i++) bits[i] = ((data[2 * i] | (data[2 * i + 1] << 8)) << 16) >>> 0;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let i = 0; i < n; i++) out[i] = v.getFloat64(i * 8, true);
      return out;
    }
    default:
      throw new ModelLoadError(
        `${t.file} (model "${modelId}"): tensor "${t.name}" has dtype ${t.dtype}; only ${FLOAT_DTYPES.join(', ')} weights can be loaded`,
      );
  }
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
    const v = t.dtype === 'BF16' ? 'a value' : String(toFloat32(t, modelId)[conv.overflowAt]);
    throw new ModelLoadError(
      `${t.file} (model "${modelId}"): tensor "${t.name}" has ${v} at index ${conv.overflowAt} beyond the f16 range (±${HALF_MAX}); load it with dtype: 'f32'`,
    );
  }
  return conv.bits;
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
  ) {}

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

  private static async loadSharded(source: ModelSource, opts: WeightLoadOptions): Promise<WeightStore> {
    const index = await source.json<{ weight_map?: unknown }>(SHARD_INDEX, opts.signal);
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
    const parsed: SafetensorsFile[] = [];
    // One shard at a time: holding a single shard's download in flight keeps peak memory down.
    for (const shard of shards) {
      if (!(await source.exists(shard))) {
        throw new NotFoundError(`Model "${source.id}": shard "${shard}" named by ${SHARD_INDEX} is missing`);
      }
      parsed.push(parseSafetensors(await source.bytes(shard, opts.signal), shard, source.id));
    }
    const store = WeightStore.fromFiles(source.id, parsed);
    for (const [name, shard] of entries) {
      const t = store.tensors.get(name);
      if (!t) throw fail(`tensor "${name}" is not in its shard ${shard}`);
      if (t.file !== shard) throw fail(`tensor "${name}" is mapped to ${shard} but found in ${t.file}`);
    }
    return store;
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
    return toFloat32(this.info(name), this.modelId);
  }

  /** The tensor as f32, after checking its shape: a clear load error beats a wrong matmul. */
  getShaped(name: string, shape: readonly number[]): Float32Array {
    return toFloat32(this.shaped(name, shape), this.modelId);
  }

  /** The tensor in a GPU storage dtype (f32, or f16 bits), its shape checked when given. */
  getAs(name: string, dtype: StorageDtype, shape?: readonly number[]): Float32Array | Uint16Array {
    return toStorageDtype(shape ? this.shaped(name, shape) : this.info(name), dtype, this.modelId);
  }

  private shaped(name: string, shape: readonly number[]): TensorInfo {
    const t = this.info(name);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelLoadError(
        `Model "${this.modelId}": tensor "${t.name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] (does config.json match the weights?)`,
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
