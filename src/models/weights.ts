// Moving checkpoint tensors onto the GPU, with the shape checks that turn a mismatched checkpoint
// into an error naming the tensor instead of garbage numbers. Each upload has a storage dtype: f32,
// or f16 for the weights that matmuls and embedding gathers read (src/gpu/storage_dtype.ts); the
// buffer remembers it (gpu.dtypeOf), and kernels check it when bound. Which tensors get the model's
// weight dtype is one rule, storageDtypeOf (src/gpu/weight_dtype.ts): the streaming upload applies it
// from the header before the bytes arrive, and every upload here applies it to what model code asks.

import type { Gpu } from '../gpu/context';
import { dtypeBytes, type StorageDtype } from '../gpu/storage_dtype';
import { storageDtypeOf } from '../gpu/weight_dtype';
import { InternalError, ModelLoadError } from '../gpu/errors';
import { f32ToHalf, HALF_MAX } from '../loading/half';
import type { WeightStore } from '../loading/safetensors';

/**
 * Upload one tensor, checking its shape against what config.json implies. `dtype` is the model's
 * weight dtype (default f32); the tensor is stored as storageDtypeOf says (norms, biases, heads: f32).
 */
export function uploadWeight(gpu: Gpu, weights: WeightStore, name: string, expected?: readonly number[], dtype: StorageDtype = 'f32'): GPUBuffer {
  const stored = storageDtypeOf(weights.resolve(name), weights.shape(name), dtype);
  // A tensor the streaming load already put on the GPU is taken as it is (no copy).
  if (weights.onDevice(name)) return streamedAs(gpu, weights.take(name, expected), name, stored);
  return gpu.upload(weights.getAs(name, stored, expected), name, stored);
}

/**
 * The two uploads every model file makes: `w` for the tensors kept in f32 (norms, biases, small
 * tables) and `mw` for those read by matmuls and the embedding gather, in the load's weight dtype.
 */
export function weightUploaders(gpu: Gpu, weights: WeightStore, dtype: StorageDtype) {
  return {
    w: (name: string, shape: readonly number[]) => uploadWeight(gpu, weights, name, shape),
    mw: (name: string, shape: readonly number[]) => uploadWeight(gpu, weights, name, shape, dtype),
  };
}

/** Destroy every GPU buffer among `parts` (buffers, objects or arrays of them; absent ones skipped). */
export function destroyAll(...parts: unknown[]): void {
  const seen = new Set<GPUBuffer>();
  const visit = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    if (isBuffer(v)) seen.add(v);
    else for (const x of Array.isArray(v) ? v : Object.values(v)) visit(x);
  };
  parts.forEach(visit);
  seen.forEach((b) => b.destroy());
}

function isBuffer(v: object): v is GPUBuffer {
  return typeof (v as GPUBuffer).destroy === 'function' && typeof (v as GPUBuffer).size === 'number';
}

/** Stack tensors along dim 0 (fused projections: q|k|v, gate|up) into one buffer of `dtype`. */
export function concatRows(
  gpu: Gpu,
  weights: WeightStore,
  names: readonly string[],
  expected: readonly (readonly number[])[] | readonly number[],
  label: string,
  dtype: StorageDtype = 'f32',
): GPUBuffer {
  const shapes = (Array.isArray(expected[0]) ? expected : names.map(() => expected)) as readonly (readonly number[])[];
  // The parts are all matrices or all vectors: the first says how the fused tensor is stored.
  const stored = storageDtypeOf(weights.resolve(names[0]), shapes[0], dtype);
  if (names.some((n) => weights.onDevice(n))) return concatOnDevice(gpu, weights, names, shapes, label, stored);
  const parts = names.map((n, i) => weights.getAs(n, stored, shapes[i]));
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = stored === 'f16' ? new Uint16Array(total) : new Float32Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return gpu.upload(out, label, stored);
}

/** f32 values computed at load (scaled tables, sliced rows) in `dtype`. */
export function uploadValues(gpu: Gpu, values: Float32Array, label: string, dtype: StorageDtype = 'f32'): GPUBuffer {
  return dtype === 'f16' ? gpu.upload(toHalfChecked(values, label), label, 'f16') : gpu.upload(values, label);
}

function toHalfChecked(values: Float32Array, label: string): Uint16Array {
  const { bits, overflowAt } = f32ToHalf(values);
  if (overflowAt >= 0) throw new ModelLoadError(`"${label}" has ${values[overflowAt]} at index ${overflowAt} beyond the f16 range (±${HALF_MAX}); load it with dtype: 'f32'`);
  return bits;
}

/**
 * concatRows for streamed tensors: the parts already on the GPU (stored as `dtype`) are copied
 * buffer to buffer into the fused one and freed; parts kept on the host are written into their rows.
 */
function concatOnDevice(gpu: Gpu, weights: WeightStore, names: readonly string[], shapes: readonly (readonly number[])[], label: string, dtype: StorageDtype): GPUBuffer {
  const bytes = shapes.map((s) => s.reduce((a, d) => a * d, 1) * dtypeBytes(dtype));
  // Buffer copies and queue writes go in 4-byte steps: an f16 part of an odd element count cannot.
  const odd = bytes.findIndex((b, i) => b % 4 !== 0 && i < bytes.length - 1);
  if (odd >= 0) {
    throw new ModelLoadError(`"${label}": tensor "${names[odd]}" of shape [${shapes[odd].join(', ')}] has an odd number of elements, so its f16 rows cannot be fused on the GPU; load it with dtype: 'f32'`);
  }
  const out = gpu.weightBuffer(bytes.reduce((a, b) => a + b, 0), label);
  gpu.setDtype(out, dtype);
  const encoder = gpu.device.createCommandEncoder({ label });
  const parts: GPUBuffer[] = [];
  let offset = 0;
  names.forEach((n, i) => {
    if (weights.onDevice(n)) {
      const part = streamedAs(gpu, weights.take(n, shapes[i]), n, dtype);
      parts.push(part);
      encoder.copyBufferToBuffer(part, 0, out, offset, Math.ceil(bytes[i] / 4) * 4);
    } else {
      gpu.write(out, weights.getAs(n, dtype, shapes[i]), offset);
    }
    offset += bytes[i];
  });
  gpu.device.queue.submit([encoder.finish()]);
  // destroy() waits for the submitted copies: WebGPU frees a buffer only after work that uses it.
  for (const p of parts) p.destroy();
  return out;
}

/**
 * A streamed tensor's buffer, checked to be stored as the upload wants it: the streaming load and
 * the model code both follow storageDtypeOf, so a mismatch is a bug (model code asking for a dtype
 * the rule does not give), reported instead of binding f32 bits as f16 or the other way round.
 */
function streamedAs(gpu: Gpu, buf: GPUBuffer, name: string, dtype: StorageDtype): GPUBuffer {
  const got = gpu.dtypeOf(buf);
  if (got !== dtype) {
    buf.destroy();
    throw new InternalError(`"${name}" was streamed to the GPU as ${got} but is wanted as ${dtype} (storageDtypeOf, src/gpu/weight_dtype.ts)`);
  }
  return buf;
}
