// The dtype option's rule (src/gpu/weight_dtype.ts) on stand-in contexts: what auto picks on each
// kind of adapter and checkpoint, and the errors for an impossible 'f16'.
import { describe, expect, it } from 'vitest';
import type { Gpu } from './context';
import { chooseWeightDtype, firstOutOfHalfRange, storageDtypeOf } from './weight_dtype';
import { parseSafetensors, WeightStore } from '../loading/safetensors';

/** One tensor `name` (a 1 × n matrix unless `shape` says otherwise). */
function store(values: Float32Array, dtype: 'F32' | 'F16' = 'F32', name = 'w.weight', shape = [1, values.length]): WeightStore {
  const data = dtype === 'F32' ? new Uint8Array(values.buffer) : new Uint8Array(values.length * 2);
  const header = new TextEncoder().encode(JSON.stringify({ [name]: { dtype, shape, data_offsets: [0, data.byteLength] } }));
  const bytes = new Uint8Array(8 + header.byteLength + data.byteLength);
  new DataView(bytes.buffer).setUint32(0, header.byteLength, true);
  bytes.set(header, 8);
  bytes.set(data, 8 + header.byteLength);
  return WeightStore.fromFiles('m', [parseSafetensors(bytes, 'model.safetensors', 'm')]);
}

function context(o: { backend?: 'webgpu' | 'cpu'; f16: boolean; software: boolean }): Gpu {
  return {
    backend: o.backend ?? 'webgpu',
    hasF16: o.f16,
    adapter: { vendor: o.software ? 'mesa' : 'nvidia', architecture: '', description: o.software ? 'llvmpipe' : 'RTX', device: '', isSoftware: o.software, features: [], limits: {}, source: 'node' },
  } as unknown as Gpu;
}

const small = store(Float32Array.of(1, -2, 0.5));
const huge = store(Float32Array.of(1, 1e5));

describe('chooseWeightDtype', () => {
  it('auto: f16 on a hardware adapter with shader-f16, f32 everywhere else, with the reason', () => {
    expect(chooseWeightDtype(context({ f16: true, software: false }), small)).toMatchObject({ name: 'f16', requested: 'auto' });
    expect(chooseWeightDtype(context({ f16: false, software: false }), small)).toMatchObject({ name: 'f32', reason: expect.stringMatching(/no shader-f16/) });
    expect(chooseWeightDtype(context({ f16: true, software: true }), small)).toMatchObject({ name: 'f32', reason: expect.stringMatching(/software adapter/) });
    expect(chooseWeightDtype(context({ backend: 'cpu', f16: false, software: true }), small)).toMatchObject({ name: 'f32', reason: expect.stringMatching(/CPU backend/) });
    expect(chooseWeightDtype(context({ f16: true, software: false }), huge)).toMatchObject({ name: 'f32', reason: 'tensor "w.weight" has values beyond the f16 range' });
  });

  it('f32 and f16 as asked; f16 without shader-f16 or on the CPU backend is an error', () => {
    expect(chooseWeightDtype(context({ f16: true, software: false }), small, 'f32')).toMatchObject({ name: 'f32', reason: 'requested' });
    expect(chooseWeightDtype(context({ f16: true, software: true }), small, 'f16')).toMatchObject({ name: 'f16', reason: 'requested' });
    expect(() => chooseWeightDtype(context({ f16: false, software: true }), small, 'f16')).toThrow(/needs the shader-f16 feature, which mesa llvmpipe does not offer/);
    expect(() => chooseWeightDtype(context({ backend: 'cpu', f16: false, software: true }), small, 'f16')).toThrow(/needs the WebGPU backend/);
    expect(() => chooseWeightDtype(context({ f16: true, software: false }), small, 'bf16' as never)).toThrow(/dtype must be 'auto', 'f32' or 'f16', got "bf16"/);
  });

  it('F16 checkpoints always fit; F32 values past ±65504 do not', () => {
    expect(firstOutOfHalfRange(store(Float32Array.of(1, 2), 'F16'))).toBeNull();
    expect(firstOutOfHalfRange(small)).toBeNull();
    expect(firstOutOfHalfRange(huge)).toBe('w.weight');
  });

  it('only tensors stored as f16 count: a norm or a head past ±65504 stays f32 and does not block f16', () => {
    expect(firstOutOfHalfRange(store(Float32Array.of(1, 1e5), 'F32', 'encoder.layer.0.output.LayerNorm.weight', [2]))).toBeNull();
    expect(firstOutOfHalfRange(store(Float32Array.of(1, 1e5), 'F32', 'bert.pooler.dense.weight', [1, 2]))).toBeNull();
    expect(chooseWeightDtype(context({ f16: true, software: false }), store(Float32Array.of(1e5), 'F32', 'norm.weight', [1]))).toMatchObject({ name: 'f16' });
  });
});

describe('storageDtypeOf (the one per-tensor rule of the streaming and the host uploads)', () => {
  it('body matrices and embedding tables take the weight dtype; vectors and heads stay f32', () => {
    expect(storageDtypeOf('encoder.layer.0.attention.self.query.weight', [8, 8], 'f16')).toBe('f16');
    expect(storageDtypeOf('bert.embeddings.word_embeddings.weight', [100, 8], 'f16')).toBe('f16');
    expect(storageDtypeOf('encoder.layer.0.attention.self.query.bias', [8], 'f16')).toBe('f32');
    expect(storageDtypeOf('embeddings.LayerNorm.weight', [8], 'f16')).toBe('f32');
    for (const head of ['bert.pooler.dense.weight', 'classifier.weight', 'roberta.classifier.dense.weight', 'classifier.out_proj.weight', 'pre_classifier.weight', 'score.weight', 'head.dense.weight', 'lm_head.weight']) {
      expect(storageDtypeOf(head, [4, 8], 'f16'), head).toBe('f32');
    }
    expect(storageDtypeOf('encoder.layer.0.attention.self.query.weight', [8, 8], 'f32')).toBe('f32');
  });
});
