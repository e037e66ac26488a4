// Moving checkpoint tensors onto the GPU, with the shape checks that turn a mismatched checkpoint
// into an error naming the tensor instead of garbage numbers.

import type { Gpu } from '../gpu/context';
import type { WeightStore } from '../loading/safetensors';

/** One tensor as f32, its shape checked against what config.json implies when given. */
function read(weights: WeightStore, name: string, expected?: readonly number[]): Float32Array {
  return expected ? weights.getShaped(name, expected) : weights.get(name);
}

/**
 * Upload one tensor as f32, checking its shape against what config.json implies. A tensor the
 * streaming load already put on the GPU is taken as it is (no copy).
 */
export function uploadWeight(gpu: Gpu, weights: WeightStore, name: string, expected?: readonly number[]): GPUBuffer {
  if (weights.onDevice(name)) return weights.take(name, expected);
  return gpu.upload(read(weights, name, expected), name);
}

/** Stack tensors along dim 0 (fused projections: q|k|v, gate|up) into one buffer. */
export function concatRows(gpu: Gpu, weights: WeightStore, names: readonly string[], expected: readonly (readonly number[])[] | readonly number[], label: string): GPUBuffer {
  const shapes = (Array.isArray(expected[0]) ? expected : names.map(() => expected)) as readonly (readonly number[])[];
  if (names.some((n) => weights.onDevice(n))) return concatOnDevice(gpu, weights, names, shapes, label);
  const parts = names.map((n, i) => read(weights, n, shapes[i]));
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return gpu.upload(out, label);
}

/**
 * concatRows for streamed tensors: the parts already on the GPU are copied buffer to buffer into the
 * fused one and freed; parts kept on the host are written into their rows.
 */
function concatOnDevice(gpu: Gpu, weights: WeightStore, names: readonly string[], shapes: readonly (readonly number[])[], label: string): GPUBuffer {
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
      gpu.write(out, read(weights, n, shapes[i]), offset);
    }
    offset += bytes[i];
  });
  gpu.device.queue.submit([encoder.finish()]);
  // destroy() waits for the submitted copies: WebGPU frees a buffer only after work that uses it.
  for (const p of parts) p.destroy();
  return out;
}
