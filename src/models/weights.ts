// Moving checkpoint tensors onto the GPU, with the shape checks that turn a mismatched checkpoint
// into an error naming the tensor instead of garbage numbers. Each upload has a storage dtype: f32,
// or f16 for the weights that matmuls and embedding gathers read (src/gpu/storage_dtype.ts); the
// buffer remembers it (gpu.dtypeOf), and kernels check it when bound.

import type { Gpu } from '../gpu/context';
import type { StorageDtype } from '../gpu/storage_dtype';
import { ModelLoadError } from '../gpu/errors';
import { f32ToHalf, HALF_MAX } from '../loading/half';
import type { WeightStore } from '../loading/safetensors';

/** Upload one tensor in `dtype` (default f32), checking its shape against what config.json implies. */
export function uploadWeight(gpu: Gpu, weights: WeightStore, name: string, expected?: readonly number[], dtype: StorageDtype = 'f32'): GPUBuffer {
  // A tensor the streaming load already put on the GPU is taken as it is (no copy).
  if (weights.onDevice(name)) {
    streamedAsF32(name, dtype);
    return weights.take(name, expected);
  }
  return gpu.upload(weights.getAs(name, dtype, expected), name, dtype);
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
  if (names.some((n) => weights.onDevice(n))) return concatOnDevice(gpu, weights, names, shapes, label, dtype);
  const parts = names.map((n, i) => weights.getAs(n, dtype, shapes[i]));
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = dtype === 'f16' ? new Uint16Array(total) : new Float32Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return gpu.upload(out, label, dtype);
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
 * concatRows for streamed tensors: the parts already on the GPU are copied buffer to buffer into the
 * fused one and freed; parts kept on the host are written into their rows.
 */
function concatOnDevice(gpu: Gpu, weights: WeightStore, names: readonly string[], shapes: readonly (readonly number[])[], label: string, dtype: StorageDtype): GPUBuffer {
  streamedAsF32(label, dtype);
  const bytes = shapes.map((s) => s.reduce((a, d) => a * d, 1) * 4);
  const out = gpu.weightBuffer(bytes.reduce((a, b) => a + b, 0), label);
  const encoder = gpu.device.createCommandEncoder({ label });
  const parts: GPUBuffer[] = [];
  let offset = 0;
  names.forEach((n, i) => {
    if (weights.onDevice(n)) {
      const part = weights.take(n, shapes[i]);
      parts.push(part);
      encoder.copyBufferToBuffer(part, 0, out, offset, bytes[i]);
    } else {
      gpu.write(out, weights.getAs(n, 'f32', shapes[i]), offset);
    }
    offset += bytes[i];
  });
  gpu.device.queue.submit([encoder.finish()]);
  // destroy() waits for the submitted copies: WebGPU frees a buffer only after work that uses it.
  for (const p of parts) p.destroy();
  return out;
}

/**
 * Streamed tensors are stored as f32 (tensor_upload.ts): a load that stores f16 weights reads the
 * checkpoint whole instead (load_model.ts), so an f16 request for a streamed tensor is a bug here.
 */
export function streamedAsF32(name: string, dtype: StorageDtype): void {
  if (dtype !== 'f32') throw new ModelLoadError(`internal: "${name}" was streamed to the GPU as f32 but is wanted as ${dtype}`);
}
