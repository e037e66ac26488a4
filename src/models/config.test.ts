import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadModelConfig, parseModelConfig, SUPPORTED_ARCHITECTURES, typeVocabSize, type BertConfig, type DecoderConfig, type DistilBertConfig, type NomicBertConfig, type Qwen3Config } from './config';
import { memorySource, resolveSource } from '../loading/source';
import { ModelLoadError } from '../gpu/errors';
import { FIXTURES, fixtureDir, type FixtureName } from '../../test/helpers/fixtures';

const raw = (name: FixtureName) => JSON.parse(readFileSync(`${fixtureDir(name)}/config.json`, 'utf8')) as Record<string, unknown>;

function expectLoadError(json: unknown, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    parseModelConfig(json, 'org/model');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelLoadError);
  for (const p of parts) expect((err as Error).message).toMatch(p);
}

describe('fixtures', () => {
  it('every fixture parses', async () => {
    for (const name of FIXTURES) {
      const cfg = await loadModelConfig(await resolveSource(fixtureDir(name)));
      expect(cfg.hidden_size, name).toBe(64);
      expect(cfg.raw).toEqual(raw(name));
    }
  });

  it('tiny-bert-embed: BertModel, matryoshka', () => {
    const c = parseModelConfig(raw('tiny-bert-embed'), 'x') as BertConfig;
    expect(c.family).toBe('bert');
    expect(c.architecture).toBe('BertModel');
    expect(c.head).toBe('base');
    expect(c).toMatchObject({
      vocab_size: 3499, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, hidden_act: 'gelu',
      max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0, position_embedding_type: 'absolute',
      roberta_position_ids: false, is_matryoshka: true, matryoshka_dimensions: [16, 32, 64], torch_dtype: 'float32',
    });
    expect(c.sentence_transformers.activation_fn).toBeNull();
  });

  it('tiny-bert-seqcls: labels', () => {
    const c = parseModelConfig(raw('tiny-bert-seqcls'), 'x');
    expect(c.architecture).toBe('BertForSequenceClassification');
    expect(c.head).toBe('sequence-classification');
    expect(c.id2label).toEqual(['negative', 'neutral', 'positive']);
    expect(c.label2id).toEqual({ negative: 0, neutral: 1, positive: 2 });
    expect(c.num_labels).toBe(3);
    expect(c.problem_type).toBeNull();
    expect(c.is_matryoshka).toBe(false);
    expect(c.matryoshka_dimensions).toBeNull();
  });

  it('tiny-bert-crossenc: one label and the sentence-transformers activation', () => {
    const c = parseModelConfig(raw('tiny-bert-crossenc'), 'x');
    expect(c.num_labels).toBe(1);
    expect(c.id2label).toEqual(['LABEL_0']);
    expect(c.sentence_transformers.activation_fn).toBe('torch.nn.modules.activation.Sigmoid');
  });

  it('tiny-bert-tokcls', () => {
    const c = parseModelConfig(raw('tiny-bert-tokcls'), 'x');
    expect(c.head).toBe('token-classification');
    expect(c.id2label).toEqual(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']);
  });

  it('tiny-roberta-embed: xlm-roberta positions and eps', () => {
    const c = parseModelConfig(raw('tiny-roberta-embed'), 'x') as BertConfig;
    expect(c).toMatchObject({ family: 'bert', model_type: 'xlm-roberta', architecture: 'XLMRobertaModel', pad_token_id: 1, type_vocab_size: 1, layer_norm_eps: 1e-5, max_position_embeddings: 514, roberta_position_ids: true });
  });

  it('tiny-qwen3-embed and tiny-qwen3-seqcls', () => {
    const e = parseModelConfig(raw('tiny-qwen3-embed'), 'x') as Qwen3Config;
    expect(e).toMatchObject({
      family: 'qwen3', architecture: 'Qwen3Model', head: 'base', vocab_size: 1959, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 1e6, rope_scaling: null,
      max_position_embeddings: 32768, tie_word_embeddings: true, pad_token_id: null,
    });
    const s = parseModelConfig(raw('tiny-qwen3-seqcls'), 'x') as Qwen3Config;
    expect(s).toMatchObject({ architecture: 'Qwen3ForSequenceClassification', head: 'sequence-classification', head_dim: 32, pad_token_id: 1956, id2label: ['no', 'yes'] });
  });
});

describe('defaults', () => {
  const bert = { model_type: 'bert', vocab_size: 100, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };
  const qwen = { model_type: 'qwen3', vocab_size: 100, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };

  it('BERT without architectures: BertModel with HF defaults', () => {
    const c = parseModelConfig(bert, 'x') as BertConfig;
    expect(c).toMatchObject({ architecture: 'BertModel', architectures: [], hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0 });
    expect(c.id2label).toEqual(['LABEL_0', 'LABEL_1']);
    expect(c.num_labels).toBe(2);
  });

  it('roberta model_type: RoBERTa positions, pad 1', () => {
    const c = parseModelConfig({ ...bert, model_type: 'roberta' }, 'x') as BertConfig;
    expect(c).toMatchObject({ architecture: 'RobertaModel', pad_token_id: 1, roberta_position_ids: true });
  });

  it('Qwen3: head_dim, kv heads, tie and pad defaults', () => {
    const c = parseModelConfig(qwen, 'x') as Qwen3Config;
    expect(c).toMatchObject({ architecture: 'Qwen3Model', head_dim: 4, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: false, pad_token_id: null });
  });

  it('Qwen3ForCausalLM (Qwen3-Embedding) is accepted', () => {
    expect(parseModelConfig({ ...qwen, architectures: ['Qwen3ForCausalLM'] }, 'x').head).toBe('causal-lm');
  });

  it('the first supported architecture wins', () => {
    expect(parseModelConfig({ ...bert, architectures: ['BertForMaskedLM', 'BertModel'] }, 'x').architecture).toBe('BertModel');
  });

  it('num_labels without id2label; legacy cross-encoder activation key; rope_parameters', () => {
    const c = parseModelConfig({ ...bert, num_labels: 3, sbert_ce_default_activation_function: 'torch.nn.modules.linear.Identity', problem_type: 'regression' }, 'x');
    expect(c.id2label).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2']);
    expect(c.sentence_transformers.activation_fn).toBe('torch.nn.modules.linear.Identity');
    expect(c.problem_type).toBe('regression');
    expect((parseModelConfig({ ...qwen, rope_parameters: { rope_type: 'default', rope_theta: 5e5 } }, 'x') as Qwen3Config).rope_theta).toBe(5e5);
  });
});

describe('errors', () => {
  const bert = raw('tiny-bert-seqcls');
  const qwen = raw('tiny-qwen3-embed');
  const without = (o: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

  it('malformed config.json through a source', async () => {
    const err = await loadModelConfig(memorySource('org/model', { 'config.json': '{"model_type": "bert",' })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toMatch(/^config\.json is not valid JSON: .*org\/model/);
  });

  it('not an object', () => {
    expectLoadError([1, 2], 'config.json of model "org/model" is not a JSON object');
    expectLoadError(null, 'is not a JSON object');
  });

  it('unknown model_type, by name, with the supported list', () => {
    expectLoadError({ ...bert, model_type: 'gpt2' }, 'model_type "gpt2" is not supported', 'bert, roberta, xlm-roberta, qwen3', 'org/model');
    expectLoadError(without(bert, 'model_type'), 'no "model_type"');
  });

  it('unknown architecture, by name, with the supported list', () => {
    expectLoadError({ ...bert, architectures: ['BertForMaskedLM'] }, 'architecture "BertForMaskedLM" is not supported', SUPPORTED_ARCHITECTURES.join(', '));
    expectLoadError({ ...bert, architectures: 'BertModel' }, '"architectures" must be a list of strings');
    expectLoadError({ ...bert, architectures: ['Qwen3Model'] }, 'architecture "Qwen3Model" does not match model_type "bert"');
  });

  for (const key of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size']) {
    it(`missing or invalid ${key}`, () => {
      expectLoadError(without(bert, key), `required field "${key}" is missing`);
      expectLoadError({ ...bert, [key]: '64' }, `"${key}" must be a positive integer, got "64"`);
      expectLoadError({ ...qwen, [key]: 0 }, `"${key}" must be a positive integer, got 0`);
    });
  }

  it('invalid optional fields are named', () => {
    expectLoadError({ ...bert, layer_norm_eps: -1 }, '"layer_norm_eps" must be a positive number, got -1');
    expectLoadError({ ...bert, type_vocab_size: 1.5 }, '"type_vocab_size"');
    expectLoadError({ ...bert, pad_token_id: 5000 }, '"pad_token_id" must be an integer in [0, 3499)');
    expectLoadError({ ...bert, hidden_act: 'swiglu' }, '"hidden_act" must be one of gelu, gelu_new, gelu_pytorch_tanh, relu, got "swiglu"');
    expectLoadError({ ...bert, is_matryoshka: 'yes' }, '"is_matryoshka" must be true or false');
    expectLoadError({ ...bert, matryoshka_dimensions: [16, 0] }, '"matryoshka_dimensions" must be a non-empty list of positive integers');
    expectLoadError({ ...bert, matryoshka_dimensions: [16, 128] }, 'matryoshka_dimensions entry 128 exceeds hidden_size 64');
    expectLoadError({ ...bert, problem_type: 'ranking' }, '"problem_type"');
    expectLoadError({ ...bert, sentence_transformers: { activation_fn: 3 } }, '"sentence_transformers.activation_fn" must be a class name string');
    expectLoadError({ ...qwen, rms_norm_eps: 0 }, '"rms_norm_eps" must be a positive number');
    expectLoadError({ ...qwen, tie_word_embeddings: 1 }, '"tie_word_embeddings" must be true or false');
  });

  it('inconsistent shapes', () => {
    expectLoadError({ ...bert, num_attention_heads: 5 }, 'hidden_size 64 is not a multiple of num_attention_heads 5');
    expectLoadError({ ...qwen, num_key_value_heads: 3 }, 'num_attention_heads 4 is not a multiple of num_key_value_heads 3');
    expectLoadError({ ...qwen, head_dim: 15 }, 'head_dim 15 must be even');
    expectLoadError({ ...raw('tiny-roberta-embed'), max_position_embeddings: 2 }, 'no positions after the RoBERTa offset');
  });

  it('labels', () => {
    expectLoadError({ ...bert, id2label: { 0: 'a', 2: 'b' } }, '"id2label" must be keys "0".."1" with string labels');
    expectLoadError({ ...bert, id2label: ['a', 'b'] }, '"id2label" must be an object');
    expectLoadError({ ...bert, num_labels: 2 }, 'num_labels 2 does not match the 3 labels of id2label');
    expectLoadError({ ...bert, label2id: { negative: 7 } }, '"label2id" must be an object of label → index below 3');
  });

  it('unsupported variants are refused, not run wrong', () => {
    expectLoadError({ ...bert, position_embedding_type: 'relative_key' }, 'position_embedding_type "relative_key" is not supported (only "absolute")');
    expectLoadError({ ...bert, is_decoder: true }, 'is_decoder');
    expectLoadError({ ...qwen, rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'rope_scaling {"rope_type":"yarn","factor":4} is not supported (only null)');
    expectLoadError({ ...qwen, rope_parameters: { rope_type: 'llama3' } }, 'rope_parameters', 'only rope_type "default"');
    expectLoadError({ ...qwen, use_sliding_window: true }, 'use_sliding_window');
    expectLoadError({ ...qwen, attention_bias: true }, 'attention_bias');
    expectLoadError({ ...qwen, hidden_act: 'gelu' }, '"hidden_act" must be "silu"');
  });
});

describe('DistilBERT, Qwen2, Llama, NomicBert', () => {
  it('tiny-distilbert-*: DistilBERT names, hidden_size = dim, no token types', () => {
    const e = parseModelConfig(raw('tiny-distilbert-embed'), 'x') as DistilBertConfig;
    expect(e).toMatchObject({ family: 'distilbert', architecture: 'DistilBertModel', head: 'base', dim: 64, hidden_size: 64, n_layers: 2, n_heads: 4, hidden_dim: 128, activation: 'gelu', max_position_embeddings: 512, pad_token_id: 0 });
    expect(typeVocabSize(e)).toBe(0);
    const s = parseModelConfig(raw('tiny-distilbert-seqcls'), 'x');
    expect(s).toMatchObject({ architecture: 'DistilBertForSequenceClassification', head: 'sequence-classification', id2label: ['NEGATIVE', 'POSITIVE'] });
    expect(parseModelConfig({ model_type: 'distilbert', vocab_size: 10, dim: 8, n_layers: 1, n_heads: 2 }, 'x')).toMatchObject({ architecture: 'DistilBertModel', hidden_dim: 32 });
    expectLoadError({ ...raw('tiny-distilbert-embed'), n_heads: 5 }, 'dim 64 is not a multiple of n_heads 5');
    expectLoadError({ ...raw('tiny-distilbert-embed'), activation: 'tanh' }, '"activation" must be "gelu" or "relu"');
  });

  it('tiny-qwen2-*: q/k/v biases, no q/k norm, causal unless is_causal false; Qwen2ForCausalLM loads as the base model', () => {
    const c = parseModelConfig(raw('tiny-qwen2-embed'), 'x') as DecoderConfig;
    expect(c).toMatchObject({ family: 'qwen2', architecture: 'Qwen2Model', qkv_bias: true, o_bias: false, mlp_bias: false, qk_norm: false, is_causal: true, head_dim: 16, rope_theta: 1e6 });
    expect((parseModelConfig(raw('tiny-qwen2-bidir-embed'), 'x') as DecoderConfig).is_causal).toBe(false);
    expect(parseModelConfig({ ...raw('tiny-qwen2-embed'), architectures: ['Qwen2ForCausalLM'] }, 'x').head).toBe('causal-lm');
    // gte-Qwen2's use_sliding_window: false is fine; an active sliding layer is refused.
    expectLoadError({ ...raw('tiny-qwen2-embed'), use_sliding_window: true, max_window_layers: 1 }, 'sliding-window layers');
    expect(parseModelConfig({ ...raw('tiny-qwen2-embed'), use_sliding_window: true, max_window_layers: 28 }, 'x').family).toBe('qwen2');
    expect((parseModelConfig(raw('tiny-qwen3-embed'), 'x') as Qwen3Config).qk_norm).toBe(true);
  });

  it('tiny-llama-seqcls: explicit head_dim, biases from attention_bias / mlp_bias, pad token', () => {
    const c = parseModelConfig(raw('tiny-llama-seqcls'), 'x') as DecoderConfig;
    expect(c).toMatchObject({ family: 'llama', architecture: 'LlamaForSequenceClassification', head: 'sequence-classification', head_dim: 32, hidden_size: 64, qkv_bias: false, o_bias: false, mlp_bias: false, qk_norm: false, pad_token_id: 1957, rms_norm_eps: 1e-5, rope_theta: 5e5 });
    expect(parseModelConfig({ ...raw('tiny-llama-seqcls'), attention_bias: true, mlp_bias: true }, 'x')).toMatchObject({ qkv_bias: true, o_bias: true, mlp_bias: true });
    expectLoadError({ ...raw('tiny-llama-seqcls'), rope_scaling: { rope_type: 'llama3', factor: 8 } }, 'rope_scaling', 'not supported');
  });

  it('tiny-nomic-embed: GPT-2 names, gated width rounded to 256, vocab padded, no matryoshka declared', () => {
    const c = parseModelConfig(raw('tiny-nomic-embed'), 'x') as NomicBertConfig;
    expect(c).toMatchObject({
      family: 'nomic_bert', architecture: 'NomicBertModel', n_embd: 64, hidden_size: 64, n_head: 4, n_layer: 2, n_inner: 256, activation_function: 'swiglu',
      layer_norm_epsilon: 1e-12, type_vocab_size: 2, rotary_emb_base: 1000, max_trained_positions: 2048, qkv_proj_bias: false, mlp_fc1_bias: false, is_matryoshka: false,
    });
    expect(typeVocabSize(c)).toBe(2);
    const nomic = raw('tiny-nomic-embed');
    expect(parseModelConfig({ ...nomic, n_inner: 200, vocab_size: 3500 }, 'x')).toMatchObject({ n_inner: 256, vocab_size: 3520 });
    expect(parseModelConfig({ ...nomic, n_inner: null }, 'x')).toMatchObject({ n_inner: 256 }); // int(8·64/3) = 170 → 256
    expectLoadError({ ...nomic, prenorm: true }, 'prenorm true is not supported');
    expectLoadError({ ...nomic, rotary_emb_interleaved: true }, 'rotary_emb_interleaved');
    expectLoadError({ ...nomic, rotary_emb_fraction: 0.5 }, 'rotary_emb_fraction 0.5');
    expectLoadError({ ...nomic, activation_function: 'geglu' }, '"activation_function" must be "swiglu"');
    expectLoadError({ ...nomic, moe_every_n_layers: 2 }, 'moe_every_n_layers');
  });
});

describe('ModernBERT, Mistral, Gemma 3, MPNet, GTE v1.5', () => {
  it('parse the fixtures with the fields their model files read', () => {
    expect(parseModelConfig(raw('tiny-modernbert-crossenc'), 'x')).toMatchObject({
      family: 'modernbert', architecture: 'ModernBertForSequenceClassification', head: 'sequence-classification', classifier_pooling: 'mean',
      local_attention: 24, global_attn_every_n_layers: 3, global_rope_theta: 160000, local_rope_theta: 10000, norm_bias: false, norm_eps: 1e-5,
    });
    expect(parseModelConfig(raw('tiny-mistral-embed'), 'x')).toMatchObject({ family: 'mistral', sliding_window: 16, num_key_value_heads: 1, head_dim: 16 });
    expect(parseModelConfig(raw('tiny-gemma3-embed'), 'x')).toMatchObject({
      family: 'gemma3', layer_types: ['sliding_attention', 'sliding_attention', 'full_attention'], sliding_window: 16, use_bidirectional_attention: true,
      query_pre_attn_scalar: 16, head_dim: 32, rope_local_base_freq: 10000, rope_theta: 1e6,
    });
    expect(parseModelConfig(raw('tiny-mpnet-embed'), 'x')).toMatchObject({ family: 'mpnet', architecture: 'MPNetModel', layer_norm_eps: 1e-5, max_position_embeddings: 514 });
    expect(parseModelConfig(raw('tiny-gtenew-embed'), 'x')).toMatchObject({ family: 'gte', architecture: 'NewModel', type_vocab_size: 0, rope_scaling: { type: 'ntk', factor: 2, mixed_b: null } });
  });

  it('real-checkpoint names: MPNetForMaskedLM, MistralForCausalLM; the 5.x rope_parameters layout', () => {
    expect(parseModelConfig({ ...raw('tiny-mpnet-embed'), architectures: ['MPNetForMaskedLM'] }, 'x')).toMatchObject({ family: 'mpnet', head: 'base' });
    expect(parseModelConfig({ ...raw('tiny-mistral-embed'), architectures: ['MistralForCausalLM'] }, 'x')).toMatchObject({ family: 'mistral', head: 'causal-lm' });
    const m = parseModelConfig({ ...raw('tiny-modernbert-embed'), rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 5e5 }, sliding_attention: { rope_type: 'default', rope_theta: 2e4 } } }, 'x');
    expect(m).toMatchObject({ global_rope_theta: 5e5, local_rope_theta: 2e4 });
    const { layer_types: _, ...noTypes } = raw('tiny-gemma3-embed');
    expect(parseModelConfig({ ...noTypes, sliding_window_pattern: 2, num_hidden_layers: 4 }, 'x')).toMatchObject({ layer_types: ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention'] });
  });

  it('refuses what the model files do not implement, naming the field', () => {
    expectLoadError({ ...raw('tiny-modernbert-embed'), layer_types: ['full_attention', 'full_attention', 'full_attention', 'full_attention'] }, /layer_types/);
    expectLoadError({ ...raw('tiny-gtenew-embed'), rope_scaling: { type: 'yarn', factor: 2 } }, /rope_scaling/);
    expectLoadError({ ...raw('tiny-gtenew-embed'), logn_attention_scale: true }, /logn_attention_scale/);
    expectLoadError({ ...raw('tiny-gtenew-embed'), layer_norm_type: 'rms_norm' }, /layer_norm_type/);
    expectLoadError({ ...raw('tiny-gemma3-embed'), rope_scaling: { rope_type: 'linear', factor: 8 } }, /rope_scaling/);
    expectLoadError({ ...raw('tiny-gemma3-embed'), attention_bias: true }, /attention_bias/);
    expectLoadError({ ...raw('tiny-mpnet-embed'), relative_attention_num_buckets: 16 }, /32 buckets/);
    expectLoadError({ ...raw('tiny-mistral-embed'), hidden_act: 'gelu' }, /hidden_act/);
  });
});
