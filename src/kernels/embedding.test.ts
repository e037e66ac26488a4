import { describe, expect, it } from 'vitest';
import { checkIds, EmbeddingKernel, type EmbeddingShape } from './embedding';
import { testGpu } from '../../test/helpers/gpu';
import { maxAbsDiff, randomF32, rng } from '../../test/helpers/random';

function randomIds(n: number, rows: number, seed: number): Uint32Array {
  const r = rng(seed);
  return Uint32Array.from({ length: n }, () => Math.floor(r() * rows));
}

/** Gather-and-add with f32 rounding after each add (WGSL's f32 + is correctly rounded, so results match exactly), clamping ids the way the shader documents. */
function embeddingRef(
  s: EmbeddingShape,
  ids: Uint32Array,
  word: Float32Array,
  pos: [Uint32Array, Float32Array] | null,
  typ: [Uint32Array, Float32Array] | null,
): Float64Array {
  const { tokens: T, hidden: H } = s;
  const out = new Float64Array(T * H);
  for (let t = 0; t < T; t++) {
    const wr = Math.min(ids[t], s.vocab - 1);
    for (let i = 0; i < H; i++) {
      let v = word[wr * H + i];
      if (pos) v = Math.fround(v + pos[1][Math.min(pos[0][t], s.maxPositions - 1) * H + i]);
      if (typ) v = Math.fround(v + typ[1][Math.min(typ[0][t], s.typeVocab - 1) * H + i]);
      out[t * H + i] = v;
    }
  }
  return out;
}

describe('embedding', async () => {
  const gpu = await testGpu();

  async function runCase(
    opts: { positions: boolean; tokenTypes: boolean; workgroupSize?: number },
    s: EmbeddingShape,
    seed: number,
    edit?: (ids: Uint32Array, positions: Uint32Array, types: Uint32Array) => void,
  ): Promise<number> {
    const ids = randomIds(s.tokens, s.vocab, seed);
    const positions = randomIds(s.tokens, s.maxPositions, seed + 1);
    const types = randomIds(s.tokens, s.typeVocab, seed + 2);
    edit?.(ids, positions, types);
    const word = randomF32(s.vocab * s.hidden, seed + 3);
    const pos = randomF32(s.maxPositions * s.hidden, seed + 4);
    const typ = randomF32(s.typeVocab * s.hidden, seed + 5);
    const k = await EmbeddingKernel.create(gpu, opts);
    const bufs = {
      ids: gpu.upload(ids, 'ids'),
      positions: opts.positions ? gpu.upload(positions, 'positions') : undefined,
      tokenTypes: opts.tokenTypes ? gpu.upload(types, 'types') : undefined,
      word: gpu.upload(word, 'word'),
      position: opts.positions ? gpu.upload(pos, 'pos') : undefined,
      tokenType: opts.tokenTypes ? gpu.upload(typ, 'typ') : undefined,
      out: gpu.storage(s.tokens * s.hidden * 4, 'out'),
    };
    gpu.write(bufs.out, new Float32Array(s.tokens * s.hidden).fill(Number.NaN));
    const d = k.bind(bufs).update(s);
    await gpu.run([d]);
    const got = new Float32Array(await gpu.read(bufs.out, s.tokens * s.hidden * 4));
    d.destroy();
    for (const [name, b] of Object.entries(bufs)) if (name !== 'out') b?.destroy();
    gpu.pool.release(bufs.out);
    const want = embeddingRef(s, ids, word, opts.positions ? [positions, pos] : null, opts.tokenTypes ? [types, typ] : null);
    return maxAbsDiff(got, want);
  }

  // Awkward sizes: one token, hidden 1, primes, hidden just past the workgroup sizes.
  const shapes: EmbeddingShape[] = [
    { tokens: 1, hidden: 1, vocab: 1, maxPositions: 1, typeVocab: 1 },
    { tokens: 7, hidden: 13, vocab: 29, maxPositions: 11, typeVocab: 2 },
    { tokens: 31, hidden: 65, vocab: 101, maxPositions: 40, typeVocab: 3 },
    { tokens: 3, hidden: 257, vocab: 5, maxPositions: 3, typeVocab: 1 },
    { tokens: 130, hidden: 384, vocab: 97, maxPositions: 150, typeVocab: 2 },
  ];
  for (const workgroupSize of [32, 64, 128, 256]) {
    for (const positions of [false, true]) {
      for (const tokenTypes of [false, true]) {
        for (const s of shapes) {
          it(`wg=${workgroupSize} positions=${positions} types=${tokenTypes} T=${s.tokens} H=${s.hidden} V=${s.vocab}`, async () => {
            const seed = s.tokens * 1000 + s.hidden + workgroupSize + (positions ? 7 : 0) + (tokenTypes ? 13 : 0);
            // Exact: the same f32 adds in the same order.
            expect(await runCase({ positions, tokenTypes, workgroupSize }, s, seed)).toBe(0);
          });
        }
      }
    }
  }

  it('clamps out-of-range ids, positions and types to the last row instead of reading past the table', async () => {
    const s = { tokens: 6, hidden: 9, vocab: 10, maxPositions: 8, typeVocab: 2 };
    const err = await runCase({ positions: true, tokenTypes: true }, s, 99, (ids, positions, types) => {
      ids.set([10, 0xffffffff, 9]);
      positions.set([8, 1e6], 3);
      types.set([2, 0xffffffff], 1);
    });
    expect(err).toBe(0);
  });

  it('folds more than 65535 tokens into a second grid dimension', async () => {
    const s = { tokens: 65535 + 1234, hidden: 3, vocab: 50, maxPositions: 1, typeVocab: 1 };
    expect(await runCase({ positions: false, tokenTypes: false }, s, 5)).toBe(0);
  });

  it('rejects missing tables and too-small buffers', async () => {
    const k = await EmbeddingKernel.create(gpu, { positions: true, tokenTypes: false });
    const buf = gpu.storage(256, 'b');
    expect(() => k.bind({ ids: buf, word: buf, out: buf })).toThrow(/positions and position table required/);
    const d = k.bind({ ids: buf, positions: buf, word: buf, position: buf, out: gpu.storage(256, 'out') });
    expect(() => d.update({ tokens: 4, hidden: 8, vocab: 100, maxPositions: 4, typeVocab: 0 })).toThrow(/word holds 256 bytes/);
    expect(() => d.update({ tokens: 4, hidden: 8, vocab: 0, maxPositions: 4, typeVocab: 0 })).toThrow(/vocab must be ≥ 1/);
    d.destroy();
  });

  it('checkIds accepts [0, rows) and names the first bad id', () => {
    expect(() => checkIds([0, 5, 9], 10)).not.toThrow();
    expect(() => checkIds([0, 10], 10)).toThrow(/token id 10 at index 1 is outside \[0, 10\)/);
    expect(() => checkIds([-1], 10, 'position')).toThrow(/position -1/);
    expect(() => checkIds([1.5], 10)).toThrow(/1.5/);
  });
});
