import { describe, expect, it } from 'vitest';
import type { ModelSource } from '../loading/source';
import { mergeHfOverrides, withHfOverrides } from './hf_overrides';

function memorySource(files: Record<string, string>): ModelSource & { extra(): string } {
  return {
    id: 'mem',
    exists: async (p) => p in files,
    bytes: async (p) => new TextEncoder().encode(files[p]),
    text: async (p) => files[p],
    json: async <T>(p: string) => JSON.parse(files[p]) as T,
    extra: () => 'passed through',
  };
}

describe('hf_overrides', () => {
  it('merges nested objects key by key; arrays and scalars replace', () => {
    expect(mergeHfOverrides({ a: 1, n: { x: 1, y: 2 }, l: [1, 2] }, { a: 2, n: { y: 3 }, l: [9], z: true })).toStrictEqual({ a: 2, n: { x: 1, y: 3 }, l: [9], z: true });
  });

  it('serves config.json with the overrides through json, text and bytes; other files and methods pass through', async () => {
    const src = memorySource({ 'config.json': '{"model_type":"bert","is_matryoshka":false}', 'tokenizer.json': '{"t":1}' });
    const s = withHfOverrides(src, { is_matryoshka: true, matryoshka_dimensions: [8, 16] }) as typeof src;
    const want = { model_type: 'bert', is_matryoshka: true, matryoshka_dimensions: [8, 16] };
    expect(await s.json('config.json')).toStrictEqual(want);
    expect(JSON.parse(await s.text('config.json'))).toStrictEqual(want);
    expect(JSON.parse(new TextDecoder().decode(await s.bytes('config.json')))).toStrictEqual(want);
    expect(await s.json('tokenizer.json')).toStrictEqual({ t: 1 });
    expect(s.id).toBe('mem');
    expect(s.extra()).toBe('passed through');
    expect(withHfOverrides(src, undefined)).toBe(src);
    expect(() => withHfOverrides(src, [] as never)).toThrow(/must be a JSON object/);
  });
});
