// Property: for ANY bytes, parseSafetensors either refuses them with a ModelLoadError or returns
// tensors whose every byte lies inside the file, whose size is exactly shape × dtype, and which do
// not overlap; converting them to f32 allocates at most 2× their bytes (F16/BF16 → f32), so a
// header declaring huge shapes or offsets can never make the loader allocate beyond the file.
// Inputs: valid files built from random tensors, then mutated — header JSON (dtype, shape,
// data_offsets, names, __metadata__), the length prefix, random bytes, and truncation — plus
// shard indexes read through WeightStore from an in-memory source.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelLoadError, NotFoundError } from '../../src/gpu/errors';
import { FLOAT_DTYPES, parseSafetensors, toFloat32, WeightStore, type Dtype } from '../../src/loading/safetensors';
import { memorySource } from '../../src/loading/source';
import { anyValue, fuzzParams, number, settle, Tally } from '../helpers/fuzz';

const DTYPES: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 };
type Entry = { dtype: unknown; shape: unknown; data_offsets: unknown };
const tally = new Tally();
afterAll(() => console.log(tally.report('safetensors fuzz')));

/** A valid safetensors file: tensors laid out back to back. */
function build(header: Record<string, unknown>, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const tensorSpec = fc.record({
  name: fc.oneof(fc.constantFrom('embeddings.word_embeddings.weight', 'a', '__metadata__x', ''), fc.string({ unit: 'binary', maxLength: 12 })),
  dtype: fc.constantFrom(...Object.keys(DTYPES)),
  shape: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
});

/** Random valid file: header entries plus the data section. */
const validFile = fc.uniqueArray(tensorSpec, { selector: (t) => t.name, maxLength: 5 }).chain((specs) => {
  const header: Record<string, Entry> = {};
  let offset = 0;
  for (const s of specs) {
    const bytes = s.shape.reduce((a, d) => a * d, 1) * DTYPES[s.dtype];
    header[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  return fc.uint8Array({ minLength: offset, maxLength: offset }).map((data) => ({ header, data }));
});

/** One edit of a header entry's field: a wrong type, a huge or negative number, a swapped pair. */
const entryEdit = fc.record({
  which: fc.nat(),
  field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'entry'),
  value: fc.oneof(
    anyValue,
    fc.constantFrom('Q4_K', 'f32', 'F32 ', 'F16', 'BF16', 'F64', 'I64'),
    fc.array(number, { maxLength: 4 }),
    fc.tuple(fc.nat({ max: 4000 }), fc.nat({ max: 4000 })),
    fc.constantFrom([0, 2 ** 53], [2 ** 40, 2 ** 41], [5, 3], [-4, 4], [0, 1e300], [1e6, 1e6], [2 ** 31, 2 ** 31, 2 ** 31], [0, 0]),
  ),
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('entry' as const), edits: fc.array(entryEdit, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('metadata' as const), value: anyValue }),
  fc.record({ kind: fc.constant('length' as const), value: fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, 1n, 7n, 100n * 1024n * 1024n + 1n, (1n << 53n) + 1n, (1n << 64n) - 1n)) }),
  fc.record({ kind: fc.constant('bytes' as const), flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('none' as const) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(file: { header: Record<string, Entry>; data: Uint8Array }, m: Mutation): Uint8Array {
  const header: Record<string, unknown> = structuredClone(file.header);
  const names = Object.keys(header);
  switch (m.kind) {
    case 'entry':
      for (const e of m.edits) {
        if (names.length === 0) break;
        const name = names[e.which % names.length];
        const entry = header[name];
        if (e.field === 'entry' || typeof entry !== 'object' || entry === null) header[name] = e.value;
        else (entry as Record<string, unknown>)[e.field] = e.value;
      }
      return build(header, file.data);
    case 'metadata':
      header.__metadata__ = m.value;
      return build(header, file.data);
    case 'length':
      return build(header, file.data, m.value);
    case 'bytes': {
      const bytes = build(header, file.data);
      for (const [at, v] of m.flips) if (bytes.length) bytes[at % bytes.length] = v;
      return bytes;
    }
    case 'truncate': {
      const bytes = build(header, file.data);
      return bytes.subarray(0, m.at % (bytes.length + 1));
    }
    default:
      return build(header, file.data);
  }
}

/** The checks on a file the parser accepted. */
function checkAccepted(bytes: Uint8Array, parsed: ReturnType<typeof parseSafetensors>): void {
  const spans: [number, number][] = [];
  for (const t of parsed.tensors.values()) {
    const start = t.data.byteOffset - bytes.byteOffset;
    expect(t.data.buffer).toBe(bytes.buffer);
    expect(start).toBeGreaterThanOrEqual(8);
    expect(start + t.data.byteLength).toBeLessThanOrEqual(bytes.byteLength);
    const elements = t.shape.reduce((a, d) => a * d, 1);
    expect(t.data.byteLength).toBe(elements * DTYPES[t.dtype]);
    if (t.data.byteLength) spans.push([start, start + t.data.byteLength]);
    if ((FLOAT_DTYPES as readonly Dtype[]).includes(t.dtype)) {
      const f = toFloat32(t, 'fuzz');
      expect(f.length).toBe(elements);
      expect(f.byteLength).toBeLessThanOrEqual(2 * t.data.byteLength);
    } else {
      expect(() => toFloat32(t, 'fuzz')).toThrow(ModelLoadError);
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
}

describe('safetensors fuzz', () => {
  it('mutated files: a ModelLoadError or in-bounds tensors, never an allocation past the file', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, mutation, async (file, m) => {
        const bytes = mutate(file, m);
        const out = await settle(() => parseSafetensors(bytes, 'model.safetensors', 'fuzz'), 2000);
        tally.add(`parseSafetensors (${m.kind})`, out.kind === 'ok' ? 'ok' : out.label);
        if (out.kind === 'error') expect(out.error).toBeInstanceOf(ModelLoadError);
        else checkAccepted(bytes, out.value as ReturnType<typeof parseSafetensors>);
      }),
      fuzzParams(600, 30_000),
    );
  });

  it('random bytes of any length are refused with a ModelLoadError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          checkAccepted(bytes, parseSafetensors(bytes, 'model.safetensors', 'fuzz'));
          tally.add('parseSafetensors (random bytes)', 'ok');
        } catch (e) {
          if (!(e instanceof ModelLoadError)) throw e;
          tally.add('parseSafetensors (random bytes)', 'ModelLoadError(400)');
        }
      }),
      fuzzParams(300, 10_000),
    );
  });

  it('mutated shard indexes through WeightStore: typed errors only', async () => {
    const shardA = build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8));
    const shardB = build({ b: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4));
    const indexValue = fc.oneof(
      anyValue,
      fc.constantFrom({ weight_map: { a: 'a.safetensors', b: 'b.safetensors' } }, { weight_map: { a: 'a.safetensors' } }, { weight_map: { b: 'a.safetensors' } }, { weight_map: {} }),
      fc.record({ weight_map: fc.dictionary(fc.constantFrom('a', 'b', 'c', '__proto__', 'constructor'), fc.oneof(fc.constantFrom('a.safetensors', 'b.safetensors', '../a.safetensors', '/etc/passwd.safetensors', 'c.safetensors', 'a.bin'), anyValue), { maxKeys: 4 }) }),
    );
    await fc.assert(
      fc.asyncProperty(indexValue, async (index) => {
        const src = memorySource('fuzz', { 'model.safetensors.index.json': JSON.stringify(index) ?? 'null', 'a.safetensors': shardA, 'b.safetensors': shardB });
        const out = await settle(() => WeightStore.load(src), 2000);
        tally.add('WeightStore.load (shard index)', out.kind === 'ok' ? 'ok' : out.label);
        if (out.kind === 'error') expect(out.error instanceof ModelLoadError || out.error instanceof NotFoundError).toBe(true);
        else for (const n of (out.value as WeightStore).names()) expect((out.value as WeightStore).get(n).length).toBe(2);
      }),
      fuzzParams(200, 10_000),
    );
  });
});
