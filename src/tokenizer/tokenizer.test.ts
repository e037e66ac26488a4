import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { TextTokenizer } from './tokenizer';
import { memorySource, resolveSource } from '../loading/source';
import { BadRequestError, ModelLoadError, NotFoundError } from '../gpu/errors';
import { FIXTURES, fixtureDir, type FixtureName } from '../../test/helpers/fixtures';
import { casePair, loadGolden, loadGoldenOf } from '../../test/helpers/goldens';

const load = async (name: FixtureName) => TextTokenizer.load(await resolveSource(fixtureDir(name)));

describe('golden tokenization (every case of every fixture)', () => {
  for (const name of FIXTURES) {
    it(name, async () => {
      const tok = await load(name);
      const golden = loadGolden(name);
      for (const c of golden.cases) {
        const enc = tok.encode(c.text, casePair(c));
        const label = `${name}: ${JSON.stringify(c.text)} / ${JSON.stringify(casePair(c))}`;
        expect(enc.ids, label).toEqual(c.input_ids);
        expect(enc.typeIds, label).toEqual(c.token_type_ids);
        expect(enc.tokens, label).toEqual(c.tokens);
        expect(enc.sequenceIds.length).toBe(enc.ids.length);
      }
    });
  }
});

describe('pairs', () => {
  it('sequence ids mark the special tokens and each text', async () => {
    const tok = await load('tiny-bert-crossenc');
    const enc = tok.encode('what', 'the');
    expect(enc.tokens).toEqual(['[CLS]', 'what', '[SEP]', 'the', '[SEP]']);
    expect(enc.sequenceIds).toEqual([null, 0, null, 1, null]);
    expect(enc.typeIds).toEqual([0, 0, 0, 1, 1]);
  });

  it('an empty second text is still a pair (HF Rust: [CLS] a [SEP] [SEP])', async () => {
    const bert = await load('tiny-bert-crossenc');
    const single = bert.encode('what');
    const pair = bert.encode('what', '');
    expect(pair.ids).toEqual([...single.ids, 3]);
    expect(pair.typeIds).toEqual([0, 0, 0, 1]);
    expect(bert.encode('', '').ids).toEqual([2, 3, 3]);

    const roberta = await load('tiny-roberta-embed');
    expect(roberta.encode('hello', '').ids).toEqual([...roberta.encode('hello').ids, 2, 2]);
    const qwen = await load('tiny-qwen3-embed');
    expect(qwen.encode('hello', '').ids).toEqual([...qwen.encode('hello').ids, 1956]);
  });

  it('RoBERTa and Qwen3 pair layouts', async () => {
    const roberta = await load('tiny-roberta-embed');
    const a = roberta.tokenize('hi');
    const b = roberta.tokenize('you');
    expect(roberta.encode('hi', 'you').tokens).toEqual(['<s>', ...a, '</s>', '</s>', ...b, '</s>']);
    const qwen = await load('tiny-qwen3-seqcls');
    const enc = qwen.encode('hi', 'you');
    expect(enc.tokens).toEqual([...qwen.tokenize('hi'), '<|im_end|>', ...qwen.tokenize('you'), '<|im_end|>']);
    expect(enc.sequenceIds.filter((s) => s === null).length).toBe(2);
  });

  it('numSpecialTokens', async () => {
    expect([(await load('tiny-bert-embed')).numSpecialTokens(), (await load('tiny-bert-embed')).numSpecialTokens(true)]).toEqual([2, 3]);
    expect([(await load('tiny-roberta-embed')).numSpecialTokens(), (await load('tiny-roberta-embed')).numSpecialTokens(true)]).toEqual([2, 4]);
    expect([(await load('tiny-qwen3-embed')).numSpecialTokens(), (await load('tiny-qwen3-embed')).numSpecialTokens(true)]).toEqual([1, 2]);
  });

  it('addSpecialTokens: false', async () => {
    const tok = await load('tiny-bert-embed');
    const enc = tok.encode('hello world', undefined, { addSpecialTokens: false });
    expect(enc.tokens).toEqual(tok.tokenize('hello world'));
    expect(enc.sequenceIds.every((s) => s === 0)).toBe(true);
  });
});

describe('truncation', () => {
  const long = loadGoldenOf('tiny-bert-embed', 'embed').cases[7];
  const longQ = loadGoldenOf('tiny-qwen3-embed', 'embed').cases[7];

  it('right: keeps [CLS], the first tokens and [SEP]', async () => {
    const tok = await load('tiny-bert-embed');
    const enc = tok.encode(long.text, undefined, { maxTokens: 10 });
    expect(enc.ids).toEqual([...long.input_ids.slice(0, 9), 3]);
    expect(tok.truncate(tok.encode(long.text), 10, 'right')).toEqual(enc);
  });

  it('left: keeps [CLS], the last tokens and [SEP]', async () => {
    const tok = await load('tiny-bert-embed');
    const enc = tok.encode(long.text, undefined, { maxTokens: 10, truncationSide: 'left' });
    expect(enc.ids).toEqual([2, ...long.input_ids.slice(-9)]);
    expect(enc.typeIds).toEqual(new Array(10).fill(0));
  });

  it('Qwen3: the trailing <|endoftext|> stays (last-token pooling reads it)', async () => {
    const tok = await load('tiny-qwen3-embed');
    expect(tok.encode(longQ.text, undefined, { maxTokens: 5 }).ids).toEqual([...longQ.input_ids.slice(0, 4), 1956]);
    expect(tok.encode(longQ.text, undefined, { maxTokens: 5, truncationSide: 'left' }).ids).toEqual(longQ.input_ids.slice(-5));
  });

  it('no-op when it fits; the exact length fits', async () => {
    const tok = await load('tiny-bert-embed');
    const enc = tok.encode(long.text);
    expect(tok.truncate(enc, 1000, 'left')).toBe(enc);
    expect(tok.truncate(enc, enc.ids.length, 'left')).toBe(enc);
    expect(tok.truncate(enc, 2, 'right').ids).toEqual([2, 3]);
  });

  it('pairs: longest_first as HF Rust tokenizers split it', async () => {
    const tok = await load('tiny-bert-crossenc');
    const c = loadGoldenOf('tiny-bert-crossenc', 'score').cases[0]; // 7 + 10 text tokens, 3 specials
    const full = tok.encode(c.text, c.text_pair);
    const a = full.ids.slice(1, 8);
    const b = full.ids.slice(9, 19);
    expect([a.length, b.length]).toEqual([7, 10]);
    // room 16: only the longer text shrinks (7, 9)
    expect(tok.encode(c.text, c.text_pair, { maxTokens: 19 }).ids).toEqual([2, ...a, 3, ...b.slice(0, 9), 3]);
    // room 14: (7, 7)
    expect(tok.encode(c.text, c.text_pair, { maxTokens: 17 }).ids).toEqual([2, ...a, 3, ...b.slice(0, 7), 3]);
    // room 12: both shrink, (6, 6)
    expect(tok.encode(c.text, c.text_pair, { maxTokens: 15 }).ids).toEqual([2, ...a.slice(0, 6), 3, ...b.slice(0, 6), 3]);
    // room 9: (4, 5), the odd token to the longer text
    const t = tok.encode(c.text, c.text_pair, { maxTokens: 12, truncationSide: 'left' });
    expect(t.ids).toEqual([2, ...a.slice(-4), 3, ...b.slice(-5), 3]);
    expect(t.typeIds).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    // equal lengths, odd room: the second text gets the odd token
    const eq = tok.encode('one two three', 'four five six');
    expect(tok.truncate(eq, 6, 'right').tokens).toEqual(['[CLS]', 'one', '[SEP]', 'four', 'five', '[SEP]']);
  });

  it('no room for the special tokens is a BadRequestError', async () => {
    const tok = await load('tiny-bert-embed');
    expect(() => tok.encode(long.text, undefined, { maxTokens: 1 })).toThrow(BadRequestError);
    expect(() => tok.encode(long.text, undefined, { maxTokens: 1 })).toThrow(/2 special tokens/);
    expect(() => tok.encode('a', undefined, { maxTokens: -1 })).toThrow(BadRequestError);
    expect(() => tok.truncate(tok.encode(long.text), 5, 'middle' as 'left')).toThrow(/'left' or 'right'/);
  });
});

describe('metadata and decode', () => {
  it('modelMaxLength and padTokenId', async () => {
    expect((await load('tiny-bert-embed')).modelMaxLength).toBe(512);
    expect((await load('tiny-bert-embed')).padTokenId).toBe(0);
    expect((await load('tiny-roberta-embed')).padTokenId).toBe(1);
    expect((await load('tiny-qwen3-embed')).modelMaxLength).toBe(32768);
    expect((await load('tiny-qwen3-seqcls')).padTokenId).toBe(1956);
  });

  it('the "very large int" sentinel and a missing model_max_length mean no limit', () => {
    const json = JSON.parse(readFileSync(`${fixtureDir('tiny-bert-embed')}/tokenizer.json`, 'utf8'));
    // HF writes int(1e30); JSON.parse reads it as 1e30.
    expect(TextTokenizer.fromJson(json, JSON.parse('{"model_max_length": 1000000000000000019884624838656}'), 'x').modelMaxLength).toBe(Infinity);
    expect(TextTokenizer.fromJson(json, {}, 'x').modelMaxLength).toBe(Infinity);
    expect(TextTokenizer.fromJson(json, { pad_token: { content: '[MASK]', __type: 'AddedToken' } }, 'x').padTokenId).toBe(4);
    expect(TextTokenizer.fromJson(json, {}, 'x').padTokenId).toBeUndefined();
  });

  it('tokenId / idToToken', async () => {
    const tok = await load('tiny-bert-embed');
    expect(tok.tokenId('[CLS]')).toBe(2);
    expect(tok.tokenId('hell')).toBe(3078);
    expect(tok.tokenId('no-such-token')).toBeUndefined();
    expect(tok.idToToken(3)).toBe('[SEP]');
    expect(tok.specialTokenIds.has(0) && tok.specialTokenIds.has(4) && !tok.specialTokenIds.has(5)).toBe(true);
  });

  it('decode', async () => {
    const bert = await load('tiny-bert-embed');
    expect(bert.decode(bert.encode('Hello world').ids, true)).toBe('hello world');
    expect(bert.decode(bert.encode('Hello').ids)).toBe('[CLS] hello [SEP]');
    expect(bert.decode([])).toBe('');
    const qwen = await load('tiny-qwen3-embed');
    expect(qwen.decode(qwen.encode('The quick brown fox.').ids, true)).toBe('The quick brown fox.');
    expect(qwen.decode(qwen.encode('Hi').ids)).toBe('Hi<|endoftext|>');
  });

  it('tokenize gives no special tokens', async () => {
    expect((await load('tiny-bert-embed')).tokenize('Hello')).toEqual(['hell', '##o']);
  });
});

describe('load errors', () => {
  it('missing tokenizer.json', async () => {
    await expect(TextTokenizer.load(memorySource('org/m', {}))).rejects.toThrow(NotFoundError);
    await expect(TextTokenizer.load(memorySource('org/m', {}))).rejects.toThrow(/tokenizer\.json.*org\/m/);
  });

  it('tokenizer_config.json is optional', async () => {
    const json = readFileSync(`${fixtureDir('tiny-bert-embed')}/tokenizer.json`, 'utf8');
    const tok = await TextTokenizer.load(memorySource('org/m', { 'tokenizer.json': json }));
    expect(tok.encode('Hello').ids).toEqual([2, 3078, 1007, 3]);
  });

  it('malformed or unusable tokenizer.json', async () => {
    await expect(TextTokenizer.load(memorySource('org/m', { 'tokenizer.json': '{' }))).rejects.toThrow(/tokenizer\.json is not valid JSON/);
    await expect(TextTokenizer.load(memorySource('org/m', { 'tokenizer.json': '[]' }))).rejects.toThrow(ModelLoadError);
    const err = await TextTokenizer.load(memorySource('org/m', { 'tokenizer.json': '{"model": {"type": "Nope"}}' })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toMatch(/tokenizer\.json of model "org\/m" cannot be used/);
  });
});
