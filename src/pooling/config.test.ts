import { afterAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { architectureDefaultPooling, resolvePoolingConfig, type PoolingConfig } from './config';
import { resolveSource } from '../loading/source';
import { loadModelConfig, parseModelConfig } from '../models/config';
import { ModelLoadError, NotFoundError } from '../gpu/errors';
import { fixtureDir, type FixtureName } from '../../test/helpers/fixtures';
import { loadGoldenOf } from '../../test/helpers/goldens';

async function forFixture(name: FixtureName): Promise<PoolingConfig> {
  const src = await resolveSource(fixtureDir(name));
  return resolvePoolingConfig(src, await loadModelConfig(src));
}

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true }))));

const BERT_CONFIG = { model_type: 'bert', architectures: ['BertModel'], vocab_size: 100, hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 128 };
const TRANSFORMER = { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' };
const POOLING = { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' };
const NORMALIZE = { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' };
const flags = (on: string[]) =>
  Object.fromEntries(
    ['cls_token', 'mean_tokens', 'max_tokens', 'mean_sqrt_len_tokens', 'weightedmean_tokens', 'lasttoken'].map((m) => [`pooling_mode_${m}`, on.includes(m)]),
  );

/** Write a synthetic model folder (objects are written as JSON) and resolve pooling for it. */
async function synthetic(files: Record<string, unknown>, config: Record<string, unknown> = BERT_CONFIG): Promise<PoolingConfig> {
  const dir = await mkdtemp(join(tmpdir(), 'wgpool-pool-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries({ 'config.json': config, ...files })) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  const src = await resolveSource(dir);
  return resolvePoolingConfig(src, await loadModelConfig(src));
}

async function expectFails(p: Promise<unknown>, cls: Function, ...parts: (string | RegExp)[]): Promise<void> {
  const err = await p.then(
    () => null,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(cls);
  for (const part of parts) expect(err!.message).toMatch(part);
}

describe('fixtures', () => {
  it('agree with the goldens', async () => {
    const expected: Record<string, PoolingConfig['mode']> = { cls: 'cls', mean: 'mean', lasttoken: 'last', max: 'max' };
    for (const name of ['tiny-bert-embed', 'tiny-bert-cls-pool', 'tiny-roberta-embed', 'tiny-qwen3-embed'] as const) {
      const golden = loadGoldenOf(name, 'embed');
      const p = await forFixture(name);
      expect(p.mode, name).toBe(expected[golden.pooling]);
      expect(p.normalize, name).toBe(golden.normalize);
      expect(p.origin).toBe('sentence-transformers');
    }
  });

  it('tiny-bert-embed in full', async () => {
    expect(await forFixture('tiny-bert-embed')).toEqual({
      mode: 'mean', normalize: true, origin: 'sentence-transformers', prompts: {}, defaultPromptName: null, includePrompt: true, dense: [], maxSeqLength: 512, doLowerCase: false,
    });
  });

  it('classifiers without sentence-transformers files: architecture default, normalize', async () => {
    expect(await forFixture('tiny-bert-seqcls')).toEqual({
      mode: 'cls', normalize: true, origin: 'architecture-default', prompts: {}, defaultPromptName: null, includePrompt: true, dense: [], maxSeqLength: null, doLowerCase: false,
    });
    const q = await forFixture('tiny-qwen3-seqcls');
    expect([q.mode, q.origin]).toEqual(['last', 'architecture-default']);
  });

  it('architectureDefaultPooling', async () => {
    const cfg = (n: FixtureName) => readFile(`${fixtureDir(n)}/config.json`, 'utf8').then((t) => parseModelConfig(JSON.parse(t), n));
    expect(architectureDefaultPooling(await cfg('tiny-roberta-embed'))).toBe('cls');
    expect(architectureDefaultPooling(await cfg('tiny-qwen3-embed'))).toBe('last');
  });
});

describe('synthetic sentence-transformers folders', () => {
  it('each single mode', async () => {
    const cases: [string, PoolingConfig['mode']][] = [['cls_token', 'cls'], ['mean_tokens', 'mean'], ['max_tokens', 'max'], ['mean_sqrt_len_tokens', 'mean_sqrt_len'], ['lasttoken', 'last']];
    for (const [flag, mode] of cases) {
      const p = await synthetic({ 'modules.json': [TRANSFORMER, POOLING], '1_Pooling/config.json': flags([flag]) });
      expect(p.mode, flag).toBe(mode);
      expect(p.normalize).toBe(false);
    }
  });

  it('the older pooling_mode string', async () => {
    expect((await synthetic({ 'modules.json': [TRANSFORMER, POOLING], '1_Pooling/config.json': { pooling_mode: 'max' } })).mode).toBe('max');
    await expectFails(synthetic({ 'modules.json': [TRANSFORMER, POOLING], '1_Pooling/config.json': { pooling_mode: 'weightedmean' } }), ModelLoadError, 'weightedmean');
  });

  it('prompts, default prompt, include_prompt, max_seq_length, do_lower_case', async () => {
    const p = await synthetic({
      'modules.json': [TRANSFORMER, POOLING, NORMALIZE],
      '1_Pooling/config.json': { ...flags(['lasttoken']), include_prompt: false },
      'config_sentence_transformers.json': { prompts: { query: 'Instruct: find\nQuery: ', document: '' }, default_prompt_name: 'query' },
      'sentence_bert_config.json': { max_seq_length: 128, do_lower_case: true },
    });
    expect(p).toEqual({
      mode: 'last', normalize: true, origin: 'sentence-transformers', prompts: { query: 'Instruct: find\nQuery: ', document: '' }, defaultPromptName: 'query',
      includePrompt: false, dense: [], maxSeqLength: 128, doLowerCase: true,
    });
  });

  it('Dense modules are reported in order, with their sizes checked', async () => {
    const p = await synthetic({
      'modules.json': [TRANSFORMER, POOLING, { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' }, { ...NORMALIZE, idx: 3, path: '3_Normalize' }],
      '1_Pooling/config.json': flags(['mean_tokens']),
      '2_Dense/config.json': { in_features: 64, out_features: 32, bias: false, activation_function: 'torch.nn.modules.linear.Identity' },
    });
    expect(p.dense).toEqual([{ path: '2_Dense', in_features: 64, out_features: 32, bias: false, activation_function: 'torch.nn.modules.linear.Identity' }]);
    expect(p.normalize).toBe(true);
    await expectFails(
      synthetic({
        'modules.json': [TRANSFORMER, POOLING, { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' }],
        '1_Pooling/config.json': flags(['mean_tokens']),
        '2_Dense/config.json': { in_features: 768, out_features: 32 },
      }),
      ModelLoadError, '2_Dense/config.json', 'in_features 768 does not match the 64 features',
    );
  });

  it('modules.json order (idx) is respected', async () => {
    const p = await synthetic({ 'modules.json': [NORMALIZE, POOLING, TRANSFORMER], '1_Pooling/config.json': flags(['cls_token']) });
    expect([p.mode, p.normalize]).toEqual(['cls', true]);
  });

  it('no Pooling module: architecture default, Normalize still counts', async () => {
    const p = await synthetic({ 'modules.json': [TRANSFORMER, { ...NORMALIZE, idx: 1 }] });
    expect([p.mode, p.normalize, p.origin]).toEqual(['cls', true, 'architecture-default']);
    const q = await synthetic({ 'modules.json': [TRANSFORMER] }, { ...BERT_CONFIG, model_type: 'qwen3', architectures: ['Qwen3Model'] });
    expect([q.mode, q.normalize, q.origin]).toEqual(['last', false, 'architecture-default']);
  });
});

describe('errors', () => {
  const pool = (cfg: unknown) => synthetic({ 'modules.json': [TRANSFORMER, POOLING, NORMALIZE], '1_Pooling/config.json': cfg });

  it('several modes at once, named', async () => {
    await expectFails(pool(flags(['cls_token', 'mean_tokens'])), ModelLoadError, '1_Pooling/config.json', 'several pooling modes', 'pooling_mode_cls_token, pooling_mode_mean_tokens');
  });

  it('weighted mean', async () => {
    await expectFails(pool(flags(['weightedmean_tokens'])), ModelLoadError, 'pooling_mode_weightedmean_tokens is not supported');
  });

  it('no mode', async () => {
    await expectFails(pool(flags([])), ModelLoadError, 'enables no pooling mode');
  });

  it('bad flag values and dimension', async () => {
    await expectFails(pool({ pooling_mode_mean_tokens: 'true' }), ModelLoadError, '"pooling_mode_mean_tokens" must be true or false');
    await expectFails(pool({ ...flags(['mean_tokens']), word_embedding_dimension: 384 }), ModelLoadError, 'word_embedding_dimension 384 does not match hidden_size 64');
  });

  it('the Pooling module config is missing', async () => {
    await expectFails(synthetic({ 'modules.json': [TRANSFORMER, POOLING] }), NotFoundError, '1_Pooling/config.json');
  });

  it('unknown and misplaced modules', async () => {
    await expectFails(
      synthetic({ 'modules.json': [TRANSFORMER, { idx: 1, name: '1', path: '1_LSTM', type: 'sentence_transformers.models.LSTM' }] }),
      ModelLoadError, 'modules.json', 'module type "sentence_transformers.models.LSTM" is not supported', 'sentence_transformers.models.Dense',
    );
    await expectFails(synthetic({ 'modules.json': [TRANSFORMER, { ...NORMALIZE, idx: 1 }, { ...POOLING, idx: 2 }], '1_Pooling/config.json': flags(['cls_token']) }), ModelLoadError, 'Normalize must come after Pooling');
    await expectFails(synthetic({ 'modules.json': [TRANSFORMER, POOLING, { ...POOLING, idx: 2 }], '1_Pooling/config.json': flags(['cls_token']) }), ModelLoadError, '2 Pooling modules');
    await expectFails(synthetic({ 'modules.json': [TRANSFORMER, { ...POOLING, path: '../1_Pooling' }] }), ModelLoadError, 'invalid file path');
  });

  it('malformed files', async () => {
    await expectFails(synthetic({ 'modules.json': '[{"idx": 0' }), ModelLoadError, 'modules.json is not valid JSON');
    await expectFails(synthetic({ 'modules.json': { a: 1 } }), ModelLoadError, 'modules.json', 'must be a list of modules');
    await expectFails(synthetic({ 'modules.json': [{ idx: 0, path: '' }] }), ModelLoadError, 'entry 0 has no "type"');
    await expectFails(synthetic({ 'config_sentence_transformers.json': { prompts: { q: 1 } } }), ModelLoadError, '"prompts" must be an object');
    await expectFails(synthetic({ 'config_sentence_transformers.json': { prompts: { query: 'q: ' }, default_prompt_name: 'passage' } }), ModelLoadError, 'default_prompt_name "passage" is not one of the prompts (query)');
    await expectFails(synthetic({ 'sentence_bert_config.json': { max_seq_length: 0 } }), ModelLoadError, '"max_seq_length" must be a positive integer');
  });
});
