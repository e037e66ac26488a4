// The streaming upload with f16 weight storage: each tensor the model stores as f16
// (storageDtypeOf) is converted piece by piece as its bytes arrive, and its GPU buffer must hold
// exactly the bytes the host path writes (toStorageDtype + gpu.upload) — for F32, BF16, F16 and F64
// sources, on chunk boundaries that split elements (1, 3, 7 bytes, random sizes, one chunk), odd
// element counts (the held-back half), and the values where rounding is delicate (ties, subnormals,
// ±0, NaN, ±inf, the largest half). A value past the f16 range fails with the host path's error,
// word for word, and frees what the stream made. Then the model code's uploads (uploadWeight,
// concatRows with a host-kept part) on a real fixture's tensors, converted to each source dtype:
// streamed and host stores give identical buffers. Only buffer bytes are compared, so this runs on
// SwiftShader (f16 storage needs shader-f16 only in shaders that read it).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/gpu/errors';
import type { StorageDtype } from '../../src/gpu/storage_dtype';
import { storageDtypeOf } from '../../src/gpu/weight_dtype';
import { HalfRangeError, WeightStore, parseSafetensors, toStorageDtype, type Dtype, type TensorInfo } from '../../src/loading/safetensors';
import { streamWeights } from '../../src/loading/stream_weights';
import { concatRows, uploadWeight } from '../../src/models/weights';
import { ChunkedSource, safetensors } from '../helpers/chunked_source';
import { fixtureDir } from '../helpers/fixtures';
import { testGpu } from '../helpers/gpu';
import { randomF32, rng } from '../helpers/random';

const f32Bytes = (v: Float32Array) => new Uint8Array(Float32Array.from(v).buffer);
const f64Bytes = (v: number[]) => new Uint8Array(new Float64Array(v).buffer);
/** bfloat16 by truncation: any 16 bits are a valid BF16 tensor. */
const bf16Bytes = (v: Float32Array) => new Uint8Array(Uint16Array.from(new Uint32Array(Float32Array.from(v).buffer), (x) => x >>> 16).buffer);
const u16Bytes = (bits: number[]) => new Uint8Array(Uint16Array.from(bits).buffer);

// Values where f32 → f16 rounding is delicate: ties to even (1 + 2^-11, 1 + 3·2^-11), the largest
// half and the last value that still rounds to it, subnormal halves and the tie below the smallest,
// ±0, ±inf, NaN; then ordinary values.
const DELICATE = Float32Array.from([
  1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, -65504, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14 - 2 ** -25, 0, -0, Infinity, -Infinity, NaN, 1e-8,
]);

const FILE = safetensors([
  { name: 'm.f32', dtype: 'F32', shape: [3, 5], bytes: f32Bytes(DELICATE) }, // 15 halves: odd
  { name: 'm.bf16', dtype: 'BF16', shape: [3, 3], bytes: bf16Bytes(Float32Array.from([...DELICATE.slice(0, 4), 1e-30, -3.5, 7, NaN, -Infinity])), gap: 3 },
  { name: 'm.f16', dtype: 'F16', shape: [2, 7], bytes: u16Bytes([0x3c00, 0x7bff, 0xfbff, 0x0001, 0x8001, 0x7c00, 0xfc00, 0x7e01, 0x7c01, 0x8000, 0, 0x3555, 0x1234, 0xabcd]) },
  { name: 'm.f64', dtype: 'F64', shape: [2, 3], bytes: f64Bytes([0.1, -2.5, 1 + 2 ** -11 + 2 ** -40, 65519, 1e-300, -1e-7]), gap: 1 },
  { name: 'v.bias', dtype: 'F32', shape: [5], bytes: f32Bytes(randomF32(5, 1)) },
  { name: 'classifier.weight', dtype: 'BF16', shape: [2, 3], bytes: bf16Bytes(randomF32(6, 2)) },
  { name: 'empty', dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) },
  { name: 'm.big', dtype: 'F32', shape: [37, 41], bytes: f32Bytes(randomF32(37 * 41, 3, 4)) },
]);

const f16Storage = (t: { name: string; shape: readonly number[] }) => storageDtypeOf(t.name, t.shape, 'f16');

/** The host path's buffer of a tensor: toStorageDtype, then gpu.upload. */
async function hostBytes(gpu: Awaited<ReturnType<typeof testGpu>>, t: TensorInfo, dtype: StorageDtype): Promise<Uint8Array> {
  const buf = gpu.upload(toStorageDtype(t, dtype, 'chunked'), t.name, dtype);
  const bytes = new Uint8Array(await gpu.read(buf));
  buf.destroy();
  return bytes;
}

const random = rng(11);
const CHUNKS: [string, number | (() => number)][] = [
  ['1-byte', 1],
  ['3-byte', 3],
  ['7-byte', 7],
  ['random 1–40-byte', () => 1 + Math.floor(random() * 40)],
  ['one', FILE.byteLength],
];

describe('streaming with f16 storage', () => {
  const host = parseSafetensors(FILE, 'model.safetensors', 'chunked');

  for (const [what, chunk] of CHUNKS) {
    it(`${what} chunks: every buffer holds the host conversion's bytes, in the dtype the rule gives`, async () => {
      const gpu = await testGpu();
      gpu.pool.trim();
      const live = gpu.liveBuffers().buffers;
      const store = await streamWeights(new ChunkedSource({ 'model.safetensors': FILE }, chunk), gpu, { storage: f16Storage });
      const seen: Record<string, StorageDtype> = {};
      for (const [name, t] of host.tensors) {
        const dtype = f16Storage(t);
        const buf = store.take(name);
        seen[name] = gpu.dtypeOf(buf);
        const got = new Uint8Array(await gpu.read(buf));
        expect(got.byteLength, name).toBe(buf.size);
        expect(Buffer.from(got).equals(Buffer.from(await hostBytes(gpu, t, dtype))), `${name} bytes`).toBe(true);
        buf.destroy();
      }
      expect(seen).toEqual({ 'm.f32': 'f16', 'm.bf16': 'f16', 'm.f16': 'f16', 'm.f64': 'f16', 'v.bias': 'f32', 'classifier.weight': 'f32', empty: 'f16', 'm.big': 'f16' });
      store.dispose();
      gpu.pool.trim();
      expect(gpu.liveBuffers().buffers).toBe(live);
    });
  }

  for (const [dtype, bytes, index] of [
    ['F32', f32Bytes(Float32Array.from([1, 2, 3, -4, -70000, 6])), 4],
    ['BF16', bf16Bytes(Float32Array.from([1, 2, 1e5, 4, 5, 6])), 2],
    ['F64', f64Bytes([1, 2, 3, 4, 5, 65520]), 5],
  ] as [Dtype, Uint8Array, number][]) {
    it(`${dtype}: a value past ±65504 fails with the host path's error, and nothing stays allocated`, async () => {
      const file = safetensors([
        { name: 'ok.weight', dtype: 'F32', shape: [2, 2], bytes: f32Bytes(Float32Array.from([1, 2, 3, 4])) },
        { name: 'big.weight', dtype, shape: [2, 3], bytes },
      ]);
      const t = parseSafetensors(file, 'model.safetensors', 'chunked').tensors.get('big.weight')!;
      const hostErr = (() => {
        try {
          toStorageDtype(t, 'f16', 'chunked');
        } catch (e) {
          return e as Error;
        }
        return null;
      })();
      expect(hostErr).toBeInstanceOf(HalfRangeError);
      expect(hostErr!.message).toContain(`at index ${index} beyond the f16 range`);
      const gpu = await testGpu();
      gpu.pool.trim();
      const live = gpu.liveBuffers();
      for (const chunk of [1, 3, 7]) {
        const err = await streamWeights(new ChunkedSource({ 'model.safetensors': file }, chunk), gpu, { storage: f16Storage }).then(() => null, (e: Error) => e);
        expect(err).toBeInstanceOf(ModelLoadError);
        expect(err).toBeInstanceOf(HalfRangeError);
        expect(err!.name).toBe('ModelLoadError');
        expect(err!.message).toBe(hostErr!.message);
        expect((err as HalfRangeError).tensor).toBe('big.weight');
        expect(gpu.liveBuffers()).toEqual(live);
      }
      // As f32 the same file streams.
      const store = await streamWeights(new ChunkedSource({ 'model.safetensors': file }, 3), gpu);
      expect(gpu.dtypeOf(store.take('big.weight'))).toBe('f32');
      store.dispose();
    });
  }
});

/** The fixture's tensors in `dtype` (F32 as they are; F16 / BF16 converted): a checkpoint as a hub would serve it. */
function fixtureAs(dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  const whole = parseSafetensors(new Uint8Array(readFileSync(`${fixtureDir('tiny-bert-embed')}/model.safetensors`)), 'model.safetensors', 'x');
  return safetensors([...whole.tensors.values()].map((t) => {
    const v = toStorageDtype(t, 'f32', 'x') as Float32Array;
    const bytes = dtype === 'F32' ? f32Bytes(v) : dtype === 'BF16' ? bf16Bytes(v) : new Uint8Array((toStorageDtype(t, 'f16', 'x') as Uint16Array).slice().buffer);
    return { name: t.name, dtype, shape: [...t.shape], bytes };
  }));
}

describe("the model code's uploads with f16 weights: streamed and host stores give identical buffers", () => {
  for (const dtype of ['F32', 'BF16', 'F16'] as const) {
    it(`tiny-bert-embed as ${dtype}, 7-byte chunks, a fused qkv with one part kept on the host`, async () => {
      const file = fixtureAs(dtype);
      const gpu = await testGpu();
      const hostStore = WeightStore.fromFiles('chunked', [parseSafetensors(file, 'model.safetensors', 'chunked')]);
      const keep = 'encoder.layer.0.attention.self.key.weight';
      const streamed = await streamWeights(new ChunkedSource({ 'model.safetensors': file }, 7), gpu, { storage: f16Storage, keepOnHost: (t) => t.name === keep });
      const same = async (a: GPUBuffer, b: GPUBuffer, label: string) => {
        expect(gpu.dtypeOf(a), label).toBe(gpu.dtypeOf(b));
        expect(a.size, label).toBe(b.size);
        expect(Buffer.from(await gpu.read(a)).equals(Buffer.from(await gpu.read(b))), `${label} bytes`).toBe(true);
        a.destroy();
        b.destroy();
      };
      const a = 'encoder.layer.0.attention.self.';
      for (const [which, shape] of [['weight', [64, 64]], ['bias', [64]]] as const) {
        const names = ['query', 'key', 'value'].map((x) => `${a}${x}.${which}`);
        const fused = (s: WeightStore) => concatRows(gpu, s, names, shape, `qkv.${which}`, 'f16');
        const [h, s] = [fused(hostStore), fused(streamed)];
        expect(gpu.dtypeOf(s)).toBe(which === 'weight' ? 'f16' : 'f32');
        await same(h, s, `qkv.${which}`);
      }
      const fusedNames = new Set(['query', 'key', 'value'].flatMap((x) => [`${a}${x}.weight`, `${a}${x}.bias`]));
      let f16Count = 0;
      for (const name of hostStore.names()) {
        if (fusedNames.has(name)) continue;
        const [h, s] = [uploadWeight(gpu, hostStore, name, undefined, 'f16'), uploadWeight(gpu, streamed, name, undefined, 'f16')];
        if (gpu.dtypeOf(s) === 'f16') f16Count++;
        await same(h, s, name);
      }
      expect(f16Count).toBeGreaterThan(10); // the matrices and tables; norms and biases stayed f32
      streamed.dispose();
    });
  }

  it('model code asking a streamed tensor in another dtype than the rule gave is an internal error, not misread bits', async () => {
    const gpu = await testGpu();
    const file = safetensors([{ name: 'w.weight', dtype: 'F32', shape: [2, 2], bytes: f32Bytes(Float32Array.from([1, 2, 3, 4])) }]);
    const streamed = await streamWeights(new ChunkedSource({ 'model.safetensors': file }, 5), gpu, { storage: () => 'f16' });
    expect(() => uploadWeight(gpu, streamed, 'w.weight', [2, 2])).toThrow(/"w\.weight" was streamed to the GPU as f16 but is wanted as f32/);
    streamed.dispose();
  });
});
