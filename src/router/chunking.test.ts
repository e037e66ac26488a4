import { describe, expect, it } from 'vitest';
import { checkChunkingOptions, chunkCount, combineChunks, splitChunks, ubinaryOf } from './chunking';
import { InternalError } from '../gpu/errors';

describe('chunking options', () => {
  it('is off unless chunking or max_embed_len is set, and checks the values', () => {
    expect(checkChunkingOptions({})).toBeUndefined();
    expect(checkChunkingOptions({ enableChunkedProcessing: false })).toBeUndefined();
    expect(checkChunkingOptions({ enableChunkedProcessing: true })).toStrictEqual({ enabled: true });
    expect(checkChunkingOptions({ maxEmbedLen: 100 })).toStrictEqual({ enabled: false, maxEmbedLen: 100 });
    expect(checkChunkingOptions({ enableChunkedProcessing: true, maxEmbedLen: 9, renormalizeChunks: true })).toStrictEqual({ enabled: true, maxEmbedLen: 9, renormalize: true });
    expect(() => checkChunkingOptions({ maxEmbedLen: 0 })).toThrow('maxEmbedLen must be a positive integer, got 0.');
    expect(() => checkChunkingOptions({ maxEmbedLen: 2.5 })).toThrow('maxEmbedLen must be a positive integer');
    expect(() => checkChunkingOptions({ enableChunkedProcessing: 'yes' as never })).toThrow('enableChunkedProcessing must be a boolean');
  });
});

describe('chunkCount (vLLM length rules and messages)', () => {
  it('chunks past max_model_len when enabled, with no cap unless max_embed_len is set', () => {
    expect(chunkCount(32, 32, { enabled: true })).toBe(1);
    expect(chunkCount(33, 32, { enabled: true })).toBe(2);
    expect(chunkCount(64, 32, { enabled: true })).toBe(2);
    expect(chunkCount(65, 32, { enabled: true })).toBe(3);
    expect(chunkCount(1_000_000, 32, { enabled: true })).toBe(31250);
  });

  it('refuses past max_embed_len, chunking or not', () => {
    const msg = "This model's maximum embedding input length is 100 tokens. However, you requested 101 tokens in the input for embedding generation. Please reduce the length of the input.";
    expect(() => chunkCount(101, 32, { enabled: true, maxEmbedLen: 100 })).toThrow(msg);
    expect(() => chunkCount(101, 32, { enabled: false, maxEmbedLen: 100 })).toThrow(msg);
    expect(chunkCount(100, 32, { enabled: true, maxEmbedLen: 100 })).toBe(4);
    // max_embed_len below the model's limit caps the input too (vLLM test_max_embed_len).
    expect(() => chunkCount(20, 32, { enabled: false, maxEmbedLen: 16 })).toThrow("maximum embedding input length is 16 tokens. However, you requested 20 tokens");
  });

  it('without chunking, past max_model_len asks to enable it', () => {
    expect(() => chunkCount(40, 32, { enabled: false, maxEmbedLen: 100 })).toThrow(
      "This model's maximum position embeddings length is 32 tokens. However, you requested 40 tokens in the input for embedding generation. Please reduce the length of the input or enable chunked processing.",
    );
  });
});

describe('splitChunks', () => {
  it('cuts the ids as vLLM chunk_list does: consecutive slices, no special tokens added, the last shorter', () => {
    const ids = Array.from({ length: 10 }, (_, i) => 100 + i);
    const typeIds = ids.map((_, i) => (i >= 7 ? 1 : 0));
    const chunks = splitChunks({ ids, typeIds }, 4);
    expect(chunks.map((c) => c.ids)).toStrictEqual([[100, 101, 102, 103], [104, 105, 106, 107], [108, 109]]);
    expect(chunks.map((c) => c.typeIds)).toStrictEqual([[0, 0, 0, 0], [0, 0, 0, 1], [1, 1]]);
    expect(splitChunks({ ids: Int32Array.from([1, 2, 3]) }, 3)).toStrictEqual([{ ids: [1, 2, 3], typeIds: [0, 0, 0] }]);
    expect(() => splitChunks({ ids }, 0)).toThrow(InternalError);
  });
});

describe('combineChunks', () => {
  it('is the token-count-weighted mean, not normalized again unless asked', () => {
    const a = Float32Array.from([1, 0]);
    const b = Float32Array.from([0, 1]);
    expect(Array.from(combineChunks([a, b], [3, 1]))).toStrictEqual([0.75, 0.25]);
    const r = combineChunks([a, b], [3, 1], true);
    const n = Math.hypot(0.75, 0.25);
    expect(r[0]).toBeCloseTo(0.75 / n, 6);
    expect(r[1]).toBeCloseTo(0.25 / n, 6);
    // One chunk: the vector itself, bit for bit.
    const v = Float32Array.from([0.1, -0.7, 0.3]);
    expect(combineChunks([v], [17])).toStrictEqual(v);
    expect(() => combineChunks([a], [1, 2])).toThrow(InternalError);
    expect(() => combineChunks([a, Float32Array.from([1])], [1, 1])).toThrow(InternalError);
  });
});

describe('ubinaryOf', () => {
  it('packs x > 0 MSB-first with a zero-padded last byte (numpy.packbits)', () => {
    const v = Float32Array.from([1, -1, 0, 2, -0.5, 0.1, 3, -2, 5, -1, 1]);
    expect(Array.from(ubinaryOf(v))).toStrictEqual([0b10010110, 0b10100000]);
  });
});
