// The streaming weight load: safetensors bodies go into GPU buffers tensor by tensor as their bytes
// arrive, so a checkpoint is never held whole on the host (the buffered path, WeightStore.load,
// holds each file once, then the GPU copy makes it twice).
//
// Per file: read the 8-byte length and the JSON header from the front of the stream, validate it
// (parseHeader, the same checks as the buffered parser), hand it to `onHeader` (the memory estimate
// refuses there, before anything is allocated), then walk the data section in offset order: each
// tensor's bytes go to beginTensorUpload (a GPU buffer in the tensor's storage dtype, f32 or f16 as
// `storage` says from the header, converted and written piece by piece) — or, for the few
// tensors model code reads on the CPU (`keepOnHost`), into a host array of the tensor's size.
// Sharded checkpoints stream shard after shard. Any failure or abort destroys every buffer made so
// far and cancels the body.

import type { Gpu } from '../gpu/context';
import type { StorageDtype } from '../gpu/storage_dtype';
import { ModelLoadError, NotFoundError, abortError } from '../gpu/errors';
import { SHARD_INDEX, SINGLE_FILE, WeightStore, headerLength, parseHeader, type SafetensorsHeader, type TensorInfo, type TensorMeta } from './safetensors';
import { bytesStream, type FileStream, type ModelSource } from './source_base';
import { beginTensorUpload, type TensorUpload } from './tensor_upload';

export interface StreamWeightOptions {
  signal?: AbortSignal;
  /** Tensors (stored names) that stay on the host: model code reads their values on the CPU. */
  keepOnHost?: (t: TensorMeta) => boolean;
  /** How each streamed tensor is stored on the GPU (default f32): storageDtypeOf with the model's weight dtype. */
  storage?: (t: TensorMeta) => StorageDtype;
  /** Each file's validated header, before any of its tensors is allocated; throwing stops the load. */
  onHeader?: (file: string, header: SafetensorsHeader) => void;
}

/** The checkpoint's files: model.safetensors, or the shards of model.safetensors.index.json. */
async function checkpointFiles(source: ModelSource, signal?: AbortSignal): Promise<{ files: string[]; entries: [string, string][] | null }> {
  if (await source.exists(SHARD_INDEX)) {
    const { entries, shards } = await WeightStore.readShardIndex(source, signal);
    return { files: shards, entries };
  }
  if (await source.exists(SINGLE_FILE)) return { files: [SINGLE_FILE], entries: null };
  throw new NotFoundError(`Model "${source.id}" has no ${SINGLE_FILE} or ${SHARD_INDEX}`);
}

/** A source's file as a stream: its own stream() when it has one, else its bytes as one chunk. */
export async function openFileStream(source: ModelSource, path: string, signal?: AbortSignal): Promise<FileStream> {
  if (source.stream) return source.stream(path, signal);
  const data = await source.bytes(path, signal);
  return { body: bytesStream(data), size: data.byteLength };
}

/** Stream a model's checkpoint into GPU buffers of `gpu`; the store hands them out with take(). */
export async function streamWeights(source: ModelSource, gpu: Gpu, opts: StreamWeightOptions = {}): Promise<WeightStore> {
  const { files, entries } = await checkpointFiles(source, opts.signal);
  const tensors = new Map<string, TensorInfo>();
  const resident = new Map<string, GPUBuffer>();
  const metadata: Record<string, string> = {};
  try {
    for (const file of files) {
      const header = await streamFile(source, file, gpu, opts, (t, data, buffer) => {
        const prev = tensors.get(t.name);
        if (prev) throw new ModelLoadError(`Model "${source.id}": tensor "${t.name}" is in both ${prev.file} and ${t.file}`);
        tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, data, file });
        if (buffer) resident.set(t.name, buffer);
      });
      Object.assign(metadata, header.metadata);
    }
    const store = WeightStore.streamed(source.id, tensors, resident, files, metadata);
    if (entries) store.checkShardMap(entries);
    return store;
  } catch (e) {
    for (const b of resident.values()) b.destroy();
    throw e;
  }
}

type Sink = (t: TensorMeta, data: Uint8Array, buffer: GPUBuffer | null) => void;

/** One file: header, then every tensor's bytes to its writer; returns the header. */
async function streamFile(source: ModelSource, file: string, gpu: Gpu, opts: StreamWeightOptions, sink: Sink): Promise<SafetensorsHeader> {
  const { signal } = opts;
  const { body, size } = await openFileStream(source, file, signal);
  const reader = body.getReader();
  const onAbort = () => void reader.cancel(abortError(signal?.reason)).catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  const fail = (msg: string) => new ModelLoadError(`${file} (model "${source.id}"): ${msg}`);
  const made: GPUBuffer[] = [];
  let chunk: Uint8Array = new Uint8Array(0);
  let read = 0; // file bytes delivered so far
  const next = async (): Promise<boolean> => {
    if (signal?.aborted) throw abortError(signal.reason);
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (e) {
      if (signal?.aborted) throw abortError(signal.reason);
      throw e;
    }
    if (signal?.aborted) throw abortError(signal.reason);
    if (step.done) return false;
    chunk = step.value;
    read += chunk.byteLength;
    return true;
  };
  /** The next `n` bytes as one array (the header; small). */
  const take = async (n: number, what: string): Promise<Uint8Array> => {
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n) {
      if (chunk.byteLength === 0 && !(await next())) throw fail(`truncated: the file ends after ${read} bytes, inside the ${what}`);
      const k = Math.min(n - have, chunk.byteLength);
      out.set(chunk.subarray(0, k), have);
      chunk = chunk.subarray(k);
      have += k;
    }
    return out;
  };
  try {
    const headerLen = headerLength(await take(8, '8-byte header length'), file, source.id, size);
    const dataLength = size === undefined ? Infinity : size - 8 - headerLen;
    const header = parseHeader(await take(headerLen, 'header'), dataLength, file, source.id);
    opts.onHeader?.(file, header);
    const order = header.tensors;
    let pos = 0; // data-section offset of chunk[0]
    for (let i = 0; i < order.length; i++) {
      const t = order[i];
      const onHost = opts.keepOnHost?.(t) ?? false;
      const bytes = t.end - t.begin;
      let host: Uint8Array | null = null;
      let upload: TensorUpload | null = null;
      if (onHost) host = new Uint8Array(bytes);
      else {
        upload = beginTensorUpload(gpu, t, source.id, opts.storage?.(t) ?? 'f32');
        made.push(upload.buffer);
      }
      // Skip a gap before the tensor, then copy its bytes as they come.
      let filled = 0;
      while (filled < bytes || pos < t.begin) {
        if (chunk.byteLength === 0 && !(await next())) {
          throw fail(`truncated: the data section ends at byte ${pos}, inside tensor "${t.name}" [${t.begin}, ${t.end}] (truncated download?)`);
        }
        if (pos < t.begin) {
          const skip = Math.min(t.begin - pos, chunk.byteLength);
          chunk = chunk.subarray(skip);
          pos += skip;
          continue;
        }
        const k = Math.min(bytes - filled, chunk.byteLength);
        const piece = chunk.subarray(0, k);
        if (host) host.set(piece, filled);
        else upload!.write(piece);
        chunk = chunk.subarray(k);
        pos += k;
        filled += k;
      }
      upload?.end();
      sink(t, host ?? new Uint8Array(0), upload ? upload.buffer : null);
    }
    // Trailing bytes after the last tensor are tolerated, as by the buffered parser; drain them so a
    // short body is still caught by the source's length check.
    while (await next());
    return header;
  } catch (e) {
    for (const b of made) b.destroy();
    await reader.cancel(e).catch(() => undefined);
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
