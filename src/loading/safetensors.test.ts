import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { MAX_HEADER_BYTES, WeightStore, parseSafetensors, toFloat32 } from './safetensors';
import { memorySource, resolveSource } from './source';
import { ModelLoadError, NotFoundError } from '../gpu/errors';
import { FIXTURES, fixtureDir } from '../../test/helpers/fixtures';
import { DECODER_FAMILIES, loadModelConfig } from '../models/config';

/** A safetensors file from a header (object, or raw text for malformed ones) and a data section. */
function st(header: object | string, data: Uint8Array = new Uint8Array(0), headerLenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  const view = new DataView(out.buffer);
  const len = headerLenOverride ?? json.byteLength;
  view.setUint32(0, len % 2 ** 32, true);
  view.setUint32(4, Math.floor(len / 2 ** 32), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

const f32Bytes = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const u16Bytes = (...v: number[]) => new Uint8Array(new Uint16Array(v).buffer);

function expectLoadError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelLoadError);
  for (const p of parts) expect((err as Error).message).toMatch(p);
}

async function expectRejects(p: Promise<unknown>, cls: Function, ...parts: (string | RegExp)[]): Promise<void> {
  const err = await p.then(
    () => null,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(cls);
  for (const part of parts) expect(err!.message).toMatch(part);
}

describe('WeightStore on the fixtures', () => {
  it('every fixture loads, with the shapes config.json implies', async () => {
    for (const name of FIXTURES) {
      const src = await resolveSource(fixtureDir(name));
      const w = await WeightStore.load(src);
      const cfg = await loadModelConfig(src);
      const emb = DECODER_FAMILIES.includes(cfg.family) || cfg.family === 'gemma3' ? 'embed_tokens.weight' : cfg.family === 'modernbert' ? 'embeddings.tok_embeddings.weight' : 'embeddings.word_embeddings.weight';
      expect(w.shape(emb), name).toEqual([cfg.vocab_size, cfg.hidden_size]);
      expect(w.get(emb).length).toBe(cfg.vocab_size * cfg.hidden_size);
      expect(w.files).toEqual(['model.safetensors']);
      expect(w.metadata).toEqual({ format: 'pt' });
    }
  });

  it('F32 BERT: values equal the bytes on disk (a view, no copy)', async () => {
    const w = await WeightStore.load(await resolveSource(fixtureDir('tiny-bert-embed')));
    expect(w.dtype('embeddings.LayerNorm.weight')).toBe('F32');
    const g = w.get('embeddings.LayerNorm.weight');
    expect(g[0]).toBe(Math.fround(1.0064475536346436));
    expect(g[1]).toBe(Math.fround(0.8828588128089905));
    expect(g[63]).toBe(Math.fround(1.0154459476470947));
    const d = w.get('encoder.layer.1.output.dense.weight');
    expect(w.shape('encoder.layer.1.output.dense.weight')).toEqual([64, 128]);
    expect(d[0]).toBe(Math.fround(-0.08865053206682205));
    expect(d[1]).toBe(Math.fround(0.07626944035291672));
    expect(d[8191]).toBe(Math.fround(-0.003570310538634658));
    // Independent read of the file: header length, then the tensor's offsets.
    const file = await readFile(`${fixtureDir('tiny-bert-embed')}/model.safetensors`);
    const n = Number(file.readBigUInt64LE(0));
    const [begin] = JSON.parse(file.subarray(8, 8 + n).toString('utf8'))['encoder.layer.1.output.dense.weight'].data_offsets;
    for (const i of [0, 77, 4095, 8191]) expect(d[i]).toBe(file.readFloatLE(8 + n + begin + 4 * i));
  });

  it('F16 RoBERTa: converted to f32', async () => {
    const w = await WeightStore.load(await resolveSource(fixtureDir('tiny-roberta-embed')));
    expect(w.dtype('embeddings.word_embeddings.weight')).toBe('F16');
    const e = w.get('embeddings.word_embeddings.weight');
    expect(e).toBeInstanceOf(Float32Array);
    expect(e[0]).toBe(-0.60546875); // 0xb8d8
    expect(e[1]).toBe(-0.006481170654296875); // 0x9ea3
    expect(e[5 * 64 + 7]).toBe(-0.0165557861328125); // 0xa43d
    expect(e[1961 * 64 - 1]).toBe(0.353515625); // 0x35a8
  });

  it('BF16 Qwen3: converted to f32', async () => {
    const w = await WeightStore.load(await resolveSource(fixtureDir('tiny-qwen3-embed')));
    expect(w.dtype('embed_tokens.weight')).toBe('BF16');
    const e = w.get('embed_tokens.weight');
    expect(e[0]).toBe(0.033203125); // 0x3d08
    expect(e[1]).toBe(0.0234375); // 0x3cc0
    expect(e[100 * 64 + 3]).toBe(-0.78125); // 0xbf48
    expect(e[1959 * 64 - 1]).toBe(-0.69921875); // 0xbf33
    expect([...w.get('layers.1.self_attn.k_norm.weight')].filter((_, i) => i === 0 || i === 15)).toEqual([1.046875, 1.0625]);
  });

  it('names resolve with or without the bert./model. prefix', async () => {
    const seq = await WeightStore.load(await resolveSource(fixtureDir('tiny-bert-seqcls')));
    expect(seq.has('embeddings.word_embeddings.weight')).toBe(true);
    expect(seq.resolve('embeddings.word_embeddings.weight')).toBe('bert.embeddings.word_embeddings.weight');
    expect(seq.get('embeddings.word_embeddings.weight')).toEqual(seq.get('bert.embeddings.word_embeddings.weight'));
    expect(seq.resolve('classifier.weight')).toBe('classifier.weight');
    // One prefix is not translated into another.
    expect(seq.has('roberta.embeddings.word_embeddings.weight')).toBe(false);

    const base = await WeightStore.load(await resolveSource(fixtureDir('tiny-bert-embed')));
    expect(base.resolve('bert.pooler.dense.weight')).toBe('pooler.dense.weight');
    expect(base.resolve('roberta.pooler.dense.weight')).toBe('pooler.dense.weight');

    const qwen = await WeightStore.load(await resolveSource(fixtureDir('tiny-qwen3-seqcls')));
    expect(qwen.resolve('norm.weight')).toBe('model.norm.weight');
    expect(qwen.resolve('score.weight')).toBe('score.weight');
    expect(qwen.get('score.weight')[127]).toBe(Math.fround(-0.12413018196821213));
    expect(qwen.shape('layers.0.self_attn.q_proj.weight')).toEqual([128, 64]);
  });

  it('a missing tensor names it and lists close names', async () => {
    const w = await WeightStore.load(await resolveSource(fixtureDir('tiny-bert-embed')));
    expectLoadError(() => w.get('encoder.layer.0.attention.self.qeury.weight'), '"encoder.layer.0.attention.self.qeury.weight" not found', 'model.safetensors', 'closest names: encoder.layer.0.attention.self.query.weight');
    expectLoadError(() => w.shape('encoder.layer.7.output.dense.bias'), 'encoder.layer.7.output.dense.bias', /closest names: .*output\.dense\.bias/);
    expect(w.has('encoder.layer.7.output.dense.bias')).toBe(false);
  });

  it('getShaped checks the shape', async () => {
    const w = await WeightStore.load(await resolveSource(fixtureDir('tiny-bert-embed')));
    expect(w.getShaped('pooler.dense.weight', [64, 64]).length).toBe(4096);
    expectLoadError(() => w.getShaped('pooler.dense.weight', [64, 128]), 'pooler.dense.weight', '[64, 64]', 'expected [64, 128]');
  });

  it('a folder without safetensors says so, naming what it has', async () => {
    await expectRejects(WeightStore.load(memorySource('m', { 'config.json': '{}' })), NotFoundError, 'Model "m" has no model.safetensors or model.safetensors.index.json');
    await expectRejects(WeightStore.load(memorySource('m', { 'pytorch_model.bin': new Uint8Array(4) })), NotFoundError, 'pytorch_model.bin', 'only safetensors');
  });
});

describe('dtype conversion', () => {
  const one = (dtype: string, bits: number) =>
    toFloat32(parseSafetensors(st({ t: { dtype, shape: [1], data_offsets: [0, 2] } }, u16Bytes(bits)), 'f', 'm').tensors.get('t')!, 'm')[0];

  it('F16: normals, subnormals, zeros, infinities, NaN', () => {
    expect(one('F16', 0x3c00)).toBe(1);
    expect(one('F16', 0xc000)).toBe(-2);
    expect(one('F16', 0x3555)).toBe(0.333251953125);
    expect(one('F16', 0x7bff)).toBe(65504);
    expect(one('F16', 0x0400)).toBe(2 ** -14); // smallest normal
    expect(one('F16', 0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(one('F16', 0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(one('F16', 0x8001)).toBe(-(2 ** -24));
    expect(Object.is(one('F16', 0x0000), 0)).toBe(true);
    expect(Object.is(one('F16', 0x8000), -0)).toBe(true);
    expect(one('F16', 0x7c00)).toBe(Infinity);
    expect(one('F16', 0xfc00)).toBe(-Infinity);
    expect(one('F16', 0x7e00)).toBeNaN();
    expect(one('F16', 0xfc01)).toBeNaN();
  });

  it('BF16: the high half of an f32', () => {
    expect(one('BF16', 0x3f80)).toBe(1);
    expect(one('BF16', 0xc0a0)).toBe(-5);
    expect(one('BF16', 0x3eab)).toBe(0.333984375);
    expect(one('BF16', 0x0001)).toBe(2 ** -133); // subnormal
    expect(Object.is(one('BF16', 0x8000), -0)).toBe(true);
    expect(one('BF16', 0x7f80)).toBe(Infinity);
    expect(one('BF16', 0xff80)).toBe(-Infinity);
    expect(one('BF16', 0x7fc0)).toBeNaN();
  });

  it('F64 and misaligned F32 are read correctly', () => {
    const f64 = parseSafetensors(st({ t: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(new Float64Array([0.1, -3]).buffer)), 'f', 'm');
    expect([...toFloat32(f64.tensors.get('t')!, 'm')]).toEqual([Math.fround(0.1), -3]);
    // A 1-byte tensor first puts the F32 data at an odd offset: it must be copied, not viewed.
    const bytes = new Uint8Array([7, ...f32Bytes(1.5, -2.25)]);
    const f = parseSafetensors(st({ b: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, t: { dtype: 'F32', shape: [2], data_offsets: [1, 9] } }, bytes), 'f', 'm');
    expect([...toFloat32(f.tensors.get('t')!, 'm')]).toEqual([1.5, -2.25]);
    expectLoadError(() => toFloat32(f.tensors.get('b')!, 'm'), 'tensor "b" has dtype U8', 'F32, F16, BF16');
  });

  it('zero-sized tensors parse', () => {
    const f = parseSafetensors(st({ e: { dtype: 'F32', shape: [0, 64], data_offsets: [0, 0] }, t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32Bytes(3)), 'f', 'm');
    expect(toFloat32(f.tensors.get('e')!, 'm').length).toBe(0);
    expect(toFloat32(f.tensors.get('t')!, 'm')[0]).toBe(3);
  });
});

describe('corrupt files', () => {
  const good = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const parse = (b: Uint8Array) => parseSafetensors(b, 'model.safetensors', 'org/m');

  it('the good file parses', () => {
    expect([...toFloat32(parse(st(good, f32Bytes(1, 2))).tensors.get('a')!, 'org/m')]).toEqual([1, 2]);
  });

  it('truncated before the header length', () => {
    expectLoadError(() => parse(new Uint8Array(5)), 'model.safetensors', 'org/m', 'truncated: 5 bytes');
  });

  it('header length past the end of the file', () => {
    const b = st(good, f32Bytes(1, 2));
    expectLoadError(() => parse(b.subarray(0, 30)), 'header length', 'runs past the end of the file (30 bytes');
  });

  it('header length over the cap (or a u64 high word)', () => {
    expectLoadError(() => parse(st(good, f32Bytes(1, 2), MAX_HEADER_BYTES + 1)), 'exceeds the 104857600-byte limit');
    expectLoadError(() => parse(st(good, f32Bytes(1, 2), 2 ** 40)), 'exceeds');
  });

  it('malformed JSON header', () => {
    expectLoadError(() => parse(st('{"a": {"dtype": "F32",')), 'model.safetensors', 'header is not valid JSON');
    expectLoadError(() => parse(st('[1, 2]')), 'header is not a JSON object');
    const badUtf8 = st('{"a":1}');
    badUtf8[10] = 0xff;
    expectLoadError(() => parse(badUtf8), 'header is not valid JSON');
  });

  it('offsets past the end of the data (a truncated file)', () => {
    const b = st(good, f32Bytes(1, 2));
    expectLoadError(() => parse(b.subarray(0, b.byteLength - 1)), 'tensor "a"', 'data_offsets [0, 8] run past the end of the data section (7 bytes');
  });

  it('byte length different from shape × dtype size', () => {
    expectLoadError(() => parse(st({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32Bytes(1, 2))), 'tensor "a"', 'holds 8 bytes', 'shape [3] of F32 needs 3 × 4 = 12');
    expectLoadError(() => parse(st({ a: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 8] } }, f32Bytes(1, 2))), 'needs 6 × 2 = 12');
  });

  it('unknown dtype', () => {
    expectLoadError(() => parse(st({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 8] } }, f32Bytes(1, 2))), 'tensor "a"', 'unknown dtype "F128"', 'BF16');
    expectLoadError(() => parse(st({ a: { shape: [1], data_offsets: [0, 4] } }, f32Bytes(1))), 'unknown dtype undefined');
  });

  it('bad shapes and offsets', () => {
    expectLoadError(() => parse(st({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, f32Bytes(1, 2))), 'shape [-2] is not a list of non-negative integers');
    expectLoadError(() => parse(st({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, f32Bytes(1, 2))), 'shape [1.5]');
    expectLoadError(() => parse(st({ a: { dtype: 'F32', shape: 2, data_offsets: [0, 8] } }, f32Bytes(1, 2))), 'shape 2');
    expectLoadError(() => parse(st({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, f32Bytes(1, 2))), 'end before they begin');
    expectLoadError(() => parse(st({ a: { dtype: 'F32', shape: [2], data_offsets: [0] } }, f32Bytes(1, 2))), 'data_offsets [0] is not [begin, end]');
    expectLoadError(() => parse(st({ a: 'x' }, f32Bytes(1, 2))), 'tensor "a": entry is not an object');
    expectLoadError(() => parse(st({ __metadata__: { n: 1 }, ...good }, f32Bytes(1, 2))), '__metadata__ must be an object of strings');
  });

  it('overlapping tensors', () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    expectLoadError(() => parse(st(h, f32Bytes(1, 2))), '"a" [0, 8] and "b" [4, 8] overlap');
    // A zero-sized tensor between them must not hide the overlap.
    const h2 = { a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    expectLoadError(() => parse(st(h2, f32Bytes(1, 2, 3))), '"a" [0, 12] and "b" [8, 12] overlap');
  });

  it('WeightStore.load reports a corrupt file from a source', async () => {
    const src = memorySource('org/m', { 'model.safetensors': st(good, f32Bytes(1)) });
    await expectRejects(WeightStore.load(src), ModelLoadError, 'model.safetensors (model "org/m")', 'run past the end');
  });
});

describe('sharded checkpoints', () => {
  const shard1 = st({ 'bert.embeddings.word_embeddings.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, __metadata__: { format: 'pt' } }, f32Bytes(1, 2, 3, 4));
  const shard2 = st({ 'classifier.weight': { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, u16Bytes(0x3f80, 0xc000));
  const index = {
    metadata: { total_size: 20 },
    weight_map: {
      'bert.embeddings.word_embeddings.weight': 'model-00001-of-00002.safetensors',
      'classifier.weight': 'model-00002-of-00002.safetensors',
    },
  };

  it('loads every shard of the index', async () => {
    const w = await WeightStore.load(
      memorySource('sharded', {
        'model.safetensors.index.json': JSON.stringify(index),
        'model-00001-of-00002.safetensors': shard1,
        'model-00002-of-00002.safetensors': shard2,
      }),
    );
    expect(w.files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(w.names().sort()).toEqual(['bert.embeddings.word_embeddings.weight', 'classifier.weight']);
    expect([...w.get('embeddings.word_embeddings.weight')]).toEqual([1, 2, 3, 4]);
    expect([...w.get('classifier.weight')]).toEqual([1, -2]);
    expect(w.dtype('classifier.weight')).toBe('BF16');
  });

  it('an index pointing at a missing shard', async () => {
    const src = memorySource('sharded', { 'model.safetensors.index.json': JSON.stringify(index), 'model-00001-of-00002.safetensors': shard1 });
    await expectRejects(WeightStore.load(src), NotFoundError, 'shard "model-00002-of-00002.safetensors"', 'model.safetensors.index.json', 'sharded');
  });

  it('a tensor the index promises but its shard lacks', async () => {
    const idx = { weight_map: { ...index.weight_map, 'pooler.dense.weight': 'model-00002-of-00002.safetensors' } };
    const src = memorySource('sharded', {
      'model.safetensors.index.json': JSON.stringify(idx),
      'model-00001-of-00002.safetensors': shard1,
      'model-00002-of-00002.safetensors': shard2,
    });
    await expectRejects(WeightStore.load(src), ModelLoadError, 'tensor "pooler.dense.weight" is not in its shard model-00002-of-00002.safetensors');
  });

  it('malformed indexes', async () => {
    const load = (idx: string) => WeightStore.load(memorySource('sharded', { 'model.safetensors.index.json': idx }));
    await expectRejects(load('{"weight_map": '), ModelLoadError, 'model.safetensors.index.json is not valid JSON');
    await expectRejects(load('{}'), ModelLoadError, 'has no "weight_map" object');
    await expectRejects(load('{"weight_map": {}}'), ModelLoadError, '"weight_map" is empty');
    await expectRejects(load('{"weight_map": {"a": "../../x.safetensors"}}'), ModelLoadError, 'invalid file path');
    await expectRejects(load('{"weight_map": {"a": "x.bin"}}'), ModelLoadError, 'tensor "a" maps to "x.bin"');
  });

  it('the same tensor in two shards', async () => {
    const dup = st({ 'classifier.weight': { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32Bytes(1));
    const src = memorySource('sharded', {
      'model.safetensors.index.json': JSON.stringify(index),
      'model-00001-of-00002.safetensors': dup,
      'model-00002-of-00002.safetensors': shard2,
    });
    await expectRejects(WeightStore.load(src), ModelLoadError, 'tensor "classifier.weight" is in both');
  });
});
