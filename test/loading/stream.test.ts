// The streaming weight upload: safetensors bodies go into GPU buffers tensor by tensor as chunks
// arrive. Chunk boundaries anywhere (inside the header, inside an element, in a gap), every float
// dtype through the one conversion, host-kept tensors, sharded checkpoints, truncated and aborted
// bodies (nothing left allocated), and the memory estimate refusing before anything is allocated.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuMemoryError, createEngine } from '../../src/index';
import { ModelLoadError } from '../../src/gpu/errors';
import { SHARD_INDEX, parseSafetensors, toFloat32 } from '../../src/loading/safetensors';
import { memorySource } from '../../src/loading/source';
import { streamWeights } from '../../src/loading/stream_weights';
import { ChunkedSource, safetensors } from '../helpers/chunked_source';
import { countingDevice, type CountingDevice } from '../helpers/counting_device';
import { fixtureDir } from '../helpers/fixtures';
import { loadGoldenOf } from '../helpers/goldens';
import { testGpu } from '../helpers/gpu';
import { maxAbsDiff } from '../helpers/random';

const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 7.3) * 3);
const f16 = (v: Float32Array) => {
  // Round-to-nearest half bits via the f32 bits (normal range only, enough for test values).
  const out = new Uint16Array(v.length);
  const u = new Uint32Array(Float32Array.from(v).buffer);
  for (let i = 0; i < v.length; i++) {
    const x = u[i];
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    out[i] = sign | (exp << 10) | ((x >>> 13) & 0x3ff);
  }
  return new Uint8Array(out.buffer);
};
const bf16 = (v: Float32Array) => new Uint8Array(Uint16Array.from(new Uint32Array(Float32Array.from(v).buffer), (x) => x >>> 16).buffer);

const FILE = safetensors([
  { name: 'a.weight', dtype: 'F32', shape: [3, 5], bytes: new Uint8Array(rand(15, 1).buffer) },
  { name: 'b.half', dtype: 'F16', shape: [7], bytes: f16(rand(7, 2)), gap: 3 },
  { name: 'c.brain', dtype: 'BF16', shape: [3], bytes: bf16(rand(3, 3)) },
  { name: 'empty', dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) },
  { name: 'd.double', dtype: 'F64', shape: [2], bytes: new Uint8Array(new Float64Array([0.1, -2.5]).buffer), gap: 1 },
  { name: 'keep.weight', dtype: 'F32', shape: [4], bytes: new Uint8Array(rand(4, 4).buffer) },
]);
const EXPECTED = parseSafetensors(FILE, 'model.safetensors', 'chunked');

describe('streamWeights', () => {
  for (const chunk of [1, 3, 7, 64, FILE.byteLength]) {
    it(`${chunk}-byte chunks: every tensor on the GPU equals the buffered conversion; host-kept ones stay on the host`, async () => {
      const gpu = await testGpu();
      gpu.pool.trim();
      const live = gpu.liveBuffers().buffers;
      const store = await streamWeights(new ChunkedSource({ 'model.safetensors': FILE }, chunk), gpu, { keepOnHost: (t) => t.name === 'keep.weight' });
      for (const [name, t] of EXPECTED.tensors) {
        const want = toFloat32(t, 'chunked');
        if (name === 'keep.weight') {
          expect(store.onDevice(name)).toBe(false);
          expect([...store.get(name)]).toEqual([...want]);
          continue;
        }
        expect(store.onDevice(name)).toBe(true);
        expect(() => store.get(name)).toThrow(/streamed to the GPU/);
        const buf = store.take(name, t.shape);
        const got = new Float32Array(await gpu.read(buf), 0, want.length);
        expect([...got]).toEqual([...want]);
        buf.destroy();
      }
      store.dispose();
      gpu.pool.trim(); // readback staging buffers wait in the pool (live, but not the loader's)
      expect(gpu.liveBuffers().buffers).toBe(live);
    });
  }

  it('a body that ends inside a tensor is a truncation error naming it, and frees what it made', async () => {
    const gpu = await testGpu();
    const live = gpu.liveBuffers();
    const cut = FILE.byteLength - 10; // inside keep.weight, the last tensor
    const err = await streamWeights(new ChunkedSource({ 'model.safetensors': FILE }, 5, { cut, announce: false }), gpu).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err!.message).toMatch(/truncated: the data section ends at byte \d+, inside tensor "keep\.weight"/);
    expect(gpu.liveBuffers()).toEqual(live);
  });

  it('abort while the body is still arriving: AbortError, nothing left allocated', async () => {
    const gpu = await testGpu();
    const live = gpu.liveBuffers();
    const ctl = new AbortController();
    const p = streamWeights(new ChunkedSource({ 'model.safetensors': FILE }, 16, { cut: FILE.byteLength - 30, hang: true }), gpu, { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 50);
    const err = await p.then(() => null, (e: Error) => e);
    expect(err?.name).toBe('AbortError');
    expect(gpu.liveBuffers()).toEqual(live);
  });
});

describe('loading with streaming', () => {
  let model: Record<string, Uint8Array>;
  let cd: CountingDevice;
  beforeAll(async () => {
    const dir = fixtureDir('tiny-bert-embed');
    model = {};
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'modules.json', '1_Pooling/config.json', 'config_sentence_transformers.json', 'sentence_bert_config.json', 'model.safetensors']) {
      model[f] = new Uint8Array(await readFile(`${dir}/${f}`));
    }
    cd = await countingDevice();
  });
  afterAll(() => cd.real.destroy());

  it('a sharded checkpoint streams shard by shard and matches the goldens', async () => {
    const whole = parseSafetensors(model['model.safetensors'], 'model.safetensors', 'm');
    const names = [...whole.tensors.keys()];
    const half = Math.ceil(names.length / 2);
    const shard = (part: string[]) =>
      safetensors(part.map((n) => {
        const t = whole.tensors.get(n)!;
        return { name: n, dtype: t.dtype, shape: [...t.shape], bytes: t.data };
      }));
    const files: Record<string, Uint8Array | string> = { ...model };
    delete files['model.safetensors'];
    files['model-00001-of-00002.safetensors'] = shard(names.slice(0, half));
    files['model-00002-of-00002.safetensors'] = shard(names.slice(half));
    const weightMap = Object.fromEntries(names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
    files[SHARD_INDEX] = JSON.stringify({ weight_map: weightMap });
    const golden = loadGoldenOf('tiny-bert-embed', 'embed');
    const engine = await createEngine({ model: memorySource('sharded', files), device: cd.device });
    try {
      const r = await engine.embed(golden.cases.map((c) => c.text));
      golden.cases.forEach((c, i) => expect(maxAbsDiff(r.embeddings[i], c.embedding)).toBeLessThan(1e-5));
      expect(engine.memory!.weightsBytes).toBe(names.reduce((a, n) => a + whole.tensors.get(n)!.shape.reduce((x, d) => x * d, 1) * 4, 0));
    } finally {
      await engine.dispose();
    }
    expect(cd.liveLabels()).toEqual([]);
  });

  it('a tensor over the per-buffer limit is refused naming it and the limit, before anything is allocated', async () => {
    const whole = parseSafetensors(model['model.safetensors'], 'model.safetensors', 'm');
    const [name, t] = [...whole.tensors].sort((a, b) => b[1].data.byteLength - a[1].data.byteLength)[0];
    const bytes = t.data.byteLength; // F32 fixture: the same on the GPU
    const small = await countingDevice({ maxStorageBufferBindingSize: bytes - 4 });
    try {
      const err = await createEngine({ model: memorySource('limits', model), device: small.device }).then(() => null, (e: Error) => e);
      expect(err).toBeInstanceOf(GpuMemoryError);
      expect(err!.message).toContain(`tensor "${name}" needs ${bytes} bytes`);
      expect(err!.message).toContain(`largest bindable buffer of ${bytes - 4} bytes`);
      expect(small.liveLabels()).toEqual([]);
    } finally {
      small.real.destroy();
    }
  });

  it('the estimate against gpuMemoryBudget and the batch budget against the buffer limit', async () => {
    const budget = await createEngine({ model: memorySource('budget', model), device: cd.device, gpuMemoryBudget: 1 << 20 }).then(() => null, (e: Error) => e);
    expect(budget).toBeInstanceOf(GpuMemoryError);
    expect(budget!.message).toMatch(/needs about [\d.]+ MiB of GPU memory \(weights [\d.]+ MiB \+ activations for 8192 tokens [\d.]+ MiB\), more than the gpuMemoryBudget of 1\.0 MiB/);
    const batch = await createEngine({ model: memorySource('batch', model), device: cd.device, scheduler: { maxBatchTokens: 50_000_000 } }).then(() => null, (e: Error) => e);
    expect(batch).toBeInstanceOf(GpuMemoryError);
    expect(batch!.message).toMatch(/a batch of 50000000 tokens needs .* lower scheduler\.maxBatchTokens/);
    expect(cd.liveLabels()).toEqual([]);
  });
});
