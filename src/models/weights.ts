// Moving checkpoint tensors onto the GPU, with the shape checks that turn a mismatched checkpoint
// into an error naming the tensor instead of garbage numbers.

import type { Gpu } from '../gpu/context';
import type { WeightStore } from '../loading/safetensors';

/** One tensor as f32, its shape checked against what config.json implies when given. */
function read(weights: WeightStore, name: string, expected?: readonly number[]): Float32Array {
  return expected ? weights.getShaped(name, expected) : weights.get(name);
}

/** Upload one tensor as f32, checking its shape against what config.json implies. */
export function uploadWeight(gpu: Gpu, weights: WeightStore, name: string, expected?: readonly number[]): GPUBuffer {
  return gpu.upload(read(weights, name, expected), name);
}

/** Stack tensors along dim 0 (fused projections: q|k|v, gate|up) into one buffer. */
export function concatRows(gpu: Gpu, weights: WeightStore, names: readonly string[], expected: readonly (readonly number[])[] | readonly number[], label: string): GPUBuffer {
  const shapes = (Array.isArray(expected[0]) ? expected : names.map(() => expected)) as readonly (readonly number[])[];
  const parts = names.map((n, i) => read(weights, n, shapes[i]));
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return gpu.upload(out, label);
}
