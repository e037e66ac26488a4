// One checkpoint tensor on its way from the response body into its GPU buffer, piece by piece.
//
// The streaming loader (stream_weights.ts) hands each tensor's bytes over as the network (or the
// disk) delivers them: arbitrary chunk boundaries, so a piece may end inside an element. The few
// bytes of a split element are carried to the next piece; every whole element is decoded to f32
// (decodeF32, the one dtype conversion) into a small scratch array and written with
// queue.writeBuffer at its place. So a tensor is never held on the host as a whole, let alone the
// checkpoint: what is in flight is one network chunk plus its f32 image.
//
// beginTensorUpload is THE place where a tensor's stored dtype becomes its GPU storage: f32 today
// (F16 / BF16 / F64 converted on the way). An f16 storage path chooses here, per tensor.

import type { Gpu } from '../gpu/context';
import { ModelLoadError } from '../gpu/errors';
import { FLOAT_DTYPES, decodeF32, dtypeBytes, notFloatError, type TensorMeta } from './safetensors';

export interface TensorUpload {
  readonly buffer: GPUBuffer;
  /** The next bytes of the tensor, in order. */
  write(piece: Uint8Array): void;
  /** All bytes written: checks that exactly the tensor's size arrived. */
  end(): void;
}

/** Bytes of f32 written per writeBuffer at most (keeps the scratch array small). */
const SLICE_ELEMENTS = 256 * 1024;

/** f32 bytes a tensor takes on the GPU (what the memory estimate counts). */
export function gpuBytes(t: TensorMeta): number {
  return t.shape.reduce((a, d) => a * d, 1) * 4;
}

/** Start streaming tensor `t` into a new GPU buffer of `gpu`. */
export function beginTensorUpload(gpu: Gpu, t: TensorMeta, modelId: string): TensorUpload {
  if (!FLOAT_DTYPES.includes(t.dtype)) throw notFloatError(t, modelId);
  const elements = t.shape.reduce((a, d) => a * d, 1);
  const size = dtypeBytes(t.dtype);
  const buffer = gpu.weightBuffer(elements * 4, t.name);
  const carry = new Uint8Array(size);
  let carried = 0;
  let done = 0; // elements written
  let scratch = new Float32Array(0);

  const emit = (bytes: Uint8Array, count: number) => {
    if (count === 0) return;
    if (done + count > elements) throw new ModelLoadError(`${t.file} (model "${modelId}"): tensor "${t.name}": more bytes than its shape holds`);
    if (scratch.length < count) scratch = new Float32Array(count);
    decodeF32(t.dtype, bytes, scratch, count);
    gpu.onUpload?.(t.name, count * 4);
    gpu.device.queue.writeBuffer(buffer, done * 4, scratch.buffer, 0, count * 4);
    done += count;
  };

  return {
    buffer,
    write(piece: Uint8Array) {
      let p = piece;
      if (carried > 0) {
        const need = Math.min(size - carried, p.byteLength);
        carry.set(p.subarray(0, need), carried);
        carried += need;
        p = p.subarray(need);
        if (carried < size) return;
        emit(carry, 1);
        carried = 0;
      }
      while (p.byteLength >= size) {
        const count = Math.min(SLICE_ELEMENTS, Math.floor(p.byteLength / size));
        emit(p.subarray(0, count * size), count);
        p = p.subarray(count * size);
      }
      if (p.byteLength > 0) {
        carry.set(p);
        carried = p.byteLength;
      }
    },
    end() {
      if (carried !== 0 || done !== elements) {
        throw new ModelLoadError(`${t.file} (model "${modelId}"): tensor "${t.name}" ended after ${done * size + carried} of ${elements * size} bytes`);
      }
    },
  };
}
