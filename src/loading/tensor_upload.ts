// One checkpoint tensor on its way from the response body into its GPU buffer, piece by piece.
//
// The streaming loader (stream_weights.ts) hands each tensor's bytes over as the network (or the
// disk) delivers them: arbitrary chunk boundaries, so a piece may end inside an element. The few
// bytes of a split element are carried to the next piece; every whole element is converted into a
// small scratch array and written with queue.writeBuffer at its place. So a tensor is never held on
// the host as a whole, let alone the checkpoint: what is in flight is one network chunk plus its image.
//
// beginTensorUpload is THE place where a tensor's stored dtype becomes its GPU storage, chosen per
// tensor by the caller (storageDtypeOf, src/gpu/weight_dtype.ts, from the header alone):
//   f32: decodeF32, the one dtype → f32 conversion (F16 / BF16 / F64 converted on the way);
//   f16: F16 bytes pass through; BF16 → half bit by bit; F32 / F64 via f32 → half (half.ts), with
//        the host path's range check and error (HalfRangeError, the same message). writeBuffer wants
//        4-byte sizes and offsets, so an odd half is held back for the next piece (or written
//        zero-padded at the end, as the host upload pads the buffer).
// Either way the buffer's bytes equal what gpu.upload of the host conversion (toStorageDtype) writes.

import type { Gpu } from '../gpu/context';
import { ModelLoadError } from '../gpu/errors';
import { dtypeBytes as storageBytes, type StorageDtype } from '../gpu/storage_dtype';
import { bf16ToHalfInto, f32ToHalfInto } from './half';
import { FLOAT_DTYPES, HalfRangeError, decodeF32, dtypeBytes, notFloatError, type TensorMeta } from './safetensors';

export interface TensorUpload {
  readonly buffer: GPUBuffer;
  /** The next bytes of the tensor, in order. */
  write(piece: Uint8Array): void;
  /** All bytes written: checks that exactly the tensor's size arrived. */
  end(): void;
}

/** Elements converted and written per writeBuffer at most (keeps the scratch arrays small). */
const SLICE_ELEMENTS = 256 * 1024;

/** Bytes a tensor takes on the GPU in `storage` (what the memory estimate counts). */
export function gpuBytes(t: TensorMeta, storage: StorageDtype = 'f32'): number {
  return t.shape.reduce((a, d) => a * d, 1) * storageBytes(storage);
}

/** Start streaming tensor `t` into a new GPU buffer of `gpu`, stored as `storage`. */
export function beginTensorUpload(gpu: Gpu, t: TensorMeta, modelId: string, storage: StorageDtype = 'f32'): TensorUpload {
  if (!FLOAT_DTYPES.includes(t.dtype)) throw notFloatError(t, modelId);
  const elements = t.shape.reduce((a, d) => a * d, 1);
  const size = dtypeBytes(t.dtype);
  const buffer = gpu.weightBuffer(elements * storageBytes(storage), t.name);
  gpu.setDtype(buffer, storage);
  const carry = new Uint8Array(size);
  let carried = 0;
  let done = 0; // elements received whole
  const emit = storage === 'f16' ? halfWriter(gpu, buffer, t, modelId) : f32Writer(gpu, buffer, t);

  const accept = (bytes: Uint8Array, count: number) => {
    if (count === 0) return;
    if (done + count > elements) throw new ModelLoadError(`${t.file} (model "${modelId}"): tensor "${t.name}": more bytes than its shape holds`);
    emit.write(bytes, count, done);
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
        accept(carry, 1);
        carried = 0;
      }
      while (p.byteLength >= size) {
        const count = Math.min(SLICE_ELEMENTS, Math.floor(p.byteLength / size));
        accept(p.subarray(0, count * size), count);
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
      emit.end();
    },
  };
}

/** Writes whole elements (`count` of them, the first being element `at` of the tensor) to the buffer. */
interface ElementWriter {
  write(bytes: Uint8Array, count: number, at: number): void;
  end(): void;
}

function f32Writer(gpu: Gpu, buffer: GPUBuffer, t: TensorMeta): ElementWriter {
  let scratch = new Float32Array(0);
  return {
    write(bytes, count, at) {
      if (scratch.length < count) scratch = new Float32Array(count);
      decodeF32(t.dtype, bytes, scratch, count);
      gpu.onUpload?.(t.name, count * 4);
      gpu.device.queue.writeBuffer(buffer, at * 4, scratch.buffer, 0, count * 4);
    },
    end() {},
  };
}

function halfWriter(gpu: Gpu, buffer: GPUBuffer, t: TensorMeta, modelId: string): ElementWriter {
  let halves = new Uint16Array(0); // [held-back half?, this piece's halves]
  let wide = new Float32Array(0); // F32 / F64 pieces as f32 first (the host path's rounding)
  let held = -1; // bits of an odd last half not written yet
  let written = 0; // halves in the buffer
  const flush = (n: number) => {
    gpu.onUpload?.(t.name, n * 2);
    gpu.device.queue.writeBuffer(buffer, written * 2, halves.buffer, 0, n * 2);
    written += n;
  };
  return {
    write(bytes, count, at) {
      const lead = held >= 0 ? 1 : 0;
      if (halves.length < count + 1) halves = new Uint16Array(count + 1);
      if (lead) halves[0] = held;
      let overflowAt = -1;
      let value = 'a value';
      if (t.dtype === 'F16') halves.set(new Uint16Array(bytes.slice(0, count * 2).buffer), lead);
      else if (t.dtype === 'BF16') overflowAt = bf16ToHalfInto(bytes, count, halves, lead);
      else {
        if (wide.length < count) wide = new Float32Array(count);
        decodeF32(t.dtype, bytes, wide, count);
        overflowAt = f32ToHalfInto(wide, count, halves, lead);
        if (overflowAt >= 0) value = String(wide[overflowAt]);
      }
      if (overflowAt >= 0) throw new HalfRangeError(t, modelId, value, at + overflowAt);
      const total = lead + count;
      const even = total & ~1;
      held = total > even ? halves[total - 1] : -1;
      if (even > 0) flush(even);
    },
    end() {
      if (held < 0) return;
      halves[0] = held;
      halves[1] = 0; // the buffer's padding (weightBuffer rounds its size up to 4 bytes)
      gpu.onUpload?.(t.name, 2);
      gpu.device.queue.writeBuffer(buffer, written * 2, halves.buffer, 0, 4);
      written += 1;
      held = -1;
    },
  };
}
