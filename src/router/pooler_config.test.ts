import { describe, expect, it } from 'vitest';
import { FakeEngine } from '../serve/fake_engine';
import { chunkingOptions, parsePoolerConfig, poolerEngineOptions, withPoolerConfig } from './pooler_config';

describe('parsePoolerConfig', () => {
  it('reads vLLM field names into wgpool options', () => {
    expect(parsePoolerConfig('{"pooling_type":"LAST"}')).toStrictEqual({ pooling: 'last', chunking: { enabled: false } });
    expect(parsePoolerConfig({ seq_pooling_type: 'MEAN', tok_pooling_type: 'ALL' })).toMatchObject({ pooling: 'mean' });
    expect(parsePoolerConfig({ pooling_type: 'ALL', task: 'token_embed' })).toStrictEqual({ task: 'token_embed', chunking: { enabled: false } });
    expect(parsePoolerConfig({ enable_chunked_processing: true, max_embed_len: 3072 }).chunking).toStrictEqual({ enabled: true, maxEmbedLen: 3072 });
    expect(parsePoolerConfig({ use_activation: null })).toStrictEqual({ chunking: { enabled: false } });
  });

  it.each([
    [{ pooling_type: 'CLS', seq_pooling_type: 'MEAN' }, /cannot set both `pooling_type` and `seq_pooling_type`/],
    [{ pooling_type: 'MEDIAN' }, /pooling type must be one of 'CLS', 'LAST', 'MEAN', 'MAX', 'MEAN_SQRT_LEN', 'ALL', 'STEP'/],
    [{ seq_pooling_type: 'ALL' }, /'ALL' is a token pooling type/],
    [{ task: 'score' }, /`score` was removed; use `classify`/],
    [{ task: 'encode' }, /`encode` was removed/],
    [{ logit_mean: 0.5 }, /affine score calibration\) is not supported/],
    [{ step_tag_id: 3 }, /STEP pooling/],
    [{ dimensions: 0 }, /dimensions must be a positive integer/],
    [{ max_embed_len: 1.5 }, /max_embed_len must be a positive integer/],
    [{ use_activation: 'no' }, /use_activation must be a boolean/],
    [{ softmax: true }, /`softmax` was removed; use `use_activation` instead/],
    ['[1]', /must be a JSON object/],
  ])('refuses %j', (cfg, message) => {
    expect(() => parsePoolerConfig(cfg)).toThrow(message);
  });

  it('maps the task and the chunking fields to engine options', () => {
    expect(poolerEngineOptions(parsePoolerConfig({ task: 'token_embed', pooling_type: 'CLS' }))).toStrictEqual({ pooling: 'cls', lateInteraction: true });
    expect(poolerEngineOptions(parsePoolerConfig({ task: 'embed' }))).toStrictEqual({});
    expect(chunkingOptions(parsePoolerConfig({}))).toStrictEqual({});
    expect(chunkingOptions(parsePoolerConfig({ enable_chunked_processing: false }))).toStrictEqual({});
    expect(chunkingOptions(parsePoolerConfig({ max_embed_len: 10 }))).toStrictEqual({ maxEmbedLen: 10 });
    expect(chunkingOptions(parsePoolerConfig({ enable_chunked_processing: true }))).toStrictEqual({ enableChunkedProcessing: true });
    expect(chunkingOptions(parsePoolerConfig({ enable_chunked_processing: true, max_embed_len: 3072000 }))).toStrictEqual({ enableChunkedProcessing: true, maxEmbedLen: 3072000 });
  });
});

describe('withPoolerConfig', () => {
  it('fills use_activation and dimensions a request leaves unset, and keeps what it sets', async () => {
    const fake = new FakeEngine({ isMatryoshka: true });
    const e = withPoolerConfig(fake, parsePoolerConfig({ use_activation: false, dimensions: 4 }));
    const d = await e.embed('a b');
    expect(d.embeddings[0]).toStrictEqual(fake.vector(fake.ids('a b'), 4, false));
    const set = await e.embed('a b', { dimensions: 8, useActivation: true });
    expect(set.embeddings[0]).toStrictEqual(fake.vector(fake.ids('a b'), 8, true));
    const c = await e.classify('a b');
    expect(c.data[0].probs).toStrictEqual((await fake.classify('a b', { useActivation: false })).data[0].probs);
    const t = await e.encode('a b', { task: 'token_embed' });
    expect(t.data[0][0]).toHaveLength(4);
    expect(typeof (e as { stats?: unknown }).stats).toBe('function');
  });

  it("takes the task as the default and decides the score type from it, as vLLM's SCORE_TYPE_MAP does", () => {
    const e = withPoolerConfig(new FakeEngine(), parsePoolerConfig({ task: 'classify' }));
    expect(e.info.defaultTask).toBe('classify');
    expect(e.info.scoreType).toBe('cross-encoder');
    expect(withPoolerConfig(new FakeEngine(), parsePoolerConfig({ task: 'embed' })).info.scoreType).toBe('bi-encoder');
    expect(() => withPoolerConfig(new FakeEngine(), parsePoolerConfig({ task: 'token_embed' }))).toThrow(/late interaction; load the engine with poolerEngineOptions/);
    expect(() => withPoolerConfig(new FakeEngine({ tasks: ['embed'] }), parsePoolerConfig({ task: 'classify' }))).toThrow(/does not serve task 'classify'; it serves 'embed'/);
    expect(() => withPoolerConfig(new FakeEngine({ matryoshkaDimensions: [4] }), parsePoolerConfig({ dimensions: 6 }))).toThrow(/only supports \[4\] matryoshka dimensions/);
  });
});
