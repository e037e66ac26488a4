import { describe, expect, it } from 'vitest';
import { createHandler, type Handler } from './handler';
import { FakeEngine } from './fake_engine';
import { OverloadedError } from '../gpu/errors';
import type { EngineApi } from '../router/types';

const ORIGIN = 'http://wgpool.test';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function send(handler: Handler, path: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Answer> {
  const res = await handler(new Request(ORIGIN + path, init));
  const text = await res.text();
  let body: unknown = null;
  if (text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, body };
}

function post(handler: Handler, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return send(handler, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function engines(): { map: Map<string, EngineApi>; fake: FakeEngine; mrl: FakeEngine; embedOnly: FakeEngine } {
  const fake = new FakeEngine({ model: 'org/fake', maxLength: 32 });
  const mrl = new FakeEngine({
    model: 'org/mrl',
    matryoshkaDimensions: [4, 8],
    tasks: ['embed', 'token_embed'],
    chatTemplate: "{% for m in messages %}{% if m.role != 'system' %}{{ raise_exception('Only system messages here') }}{% endif %}{% endfor %}",
  });
  const embedOnly = new FakeEngine({ model: 'org/embed-only', tasks: ['embed'], chatTemplate: null });
  const map = new Map<string, EngineApi>([
    ['fake', fake],
    ['mrl', mrl],
    ['embed-only', embedOnly],
    ['busy', new FakeEngine({ fail: new OverloadedError('The request queue is full (64 requests waiting); retry later.') })],
    ['broken', new FakeEngine({ fail: new TypeError('secret internal detail at /home/x/engine.ts:12') })],
  ]);
  return { map, fake, mrl, embedOnly };
}

const floats = (v: Float32Array) => Array.from(v);

/** vLLM's flat error body, with the same fields nested under `error` for OpenAI-style clients. */
const errorShape = (code: number, type: string, message: unknown, param: string | null = null) => ({
  object: 'error',
  message,
  type,
  param,
  code,
  error: { message, type, param, code },
});
const nowSec = () => Math.floor(Date.now() / 1000);

function decodeBase64(s: string, little = true): number[] {
  const bin = atob(s);
  const view = new DataView(Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer);
  return Array.from({ length: bin.length / 4 }, (_, i) => view.getFloat32(i * 4, little));
}

function expectUsage(usage: unknown, tokens: number): void {
  expect(usage).toStrictEqual({ prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0, prompt_tokens_details: null });
}

describe('POST /v1/embeddings', () => {
  it('returns the OpenAI / vLLM EmbeddingResponse, float', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const r = await post(h, '/v1/embeddings', { model: 'fake', input: ['hello world', 'a b c'] });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    const ids = [fake.ids('hello world'), fake.ids('a b c')];
    expect(r.body).toStrictEqual({
      id: expect.stringMatching(/^embd-[0-9a-f]{32}$/),
      object: 'list',
      created: expect.any(Number),
      model: 'fake',
      data: [
        { index: 0, object: 'embedding', embedding: floats(fake.vector(ids[0], 8, true)) },
        { index: 1, object: 'embedding', embedding: floats(fake.vector(ids[1], 8, true)) },
      ],
      usage: expect.anything(),
    });
    expectUsage(r.body.usage, ids[0].length + ids[1].length);
    expect(Math.abs(r.body.created - nowSec())).toBeLessThanOrEqual(2);
    expect(r.body.id.slice(5)).toBe(r.headers.get('x-request-id'));
  });

  it('takes a single string and passes the common options to the engine', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const r = await post(h, '/v1/embeddings', {
      input: 'one two three four',
      truncate_prompt_tokens: 3,
      truncation_side: 'left',
      priority: -2,
      user: 'someone',
      use_activation: false,
      prompt_name: null,
    });
    expect(r.status).toBe(200);
    const ids = fake.ids('one two three four', { truncatePromptTokens: 3, truncationSide: 'left' });
    expect(ids.length).toBe(3);
    expect(r.body.data).toStrictEqual([{ index: 0, object: 'embedding', embedding: floats(fake.vector(ids, 8, false)) }]);
    expectUsage(r.body.usage, 3);
    const opts = fake.calls.at(-1)!.opts as Record<string, unknown>;
    expect(opts).toMatchObject({ truncatePromptTokens: 3, truncationSide: 'left', priority: -2, useActivation: false, encodingFormat: 'float' });
    expect(opts.signal).toBeInstanceOf(AbortSignal);
  });

  it('encodes base64 as float32 bytes, little-endian by default and big-endian on request', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const want = floats(fake.vector(fake.ids('x y'), 8, true));
    const le = await post(h, '/v1/embeddings', { input: 'x y', encoding_format: 'base64' });
    expect(typeof le.body.data[0].embedding).toBe('string');
    expect(decodeBase64(le.body.data[0].embedding)).toStrictEqual(want);
    const be = await post(h, '/v1/embeddings', { input: 'x y', encoding_format: 'base64', endianness: 'big', embed_dtype: 'float32' });
    expect(decodeBase64(be.body.data[0].embedding, false)).toStrictEqual(want);
  });

  it('returns binary / ubinary packed sign bits, whether the engine packs them or hands back floats', async () => {
    for (const packBinary of [true, false]) {
      const fake = new FakeEngine({ hiddenSize: 12, packBinary });
      const h = createHandler({ engines: new Map([['m', fake]]) });
      const v = fake.vector(fake.ids('sign bits'), 12, true);
      const bits = Array.from({ length: 2 }, (_, byte) => {
        let b = 0;
        for (let i = byte * 8; i < Math.min(12, byte * 8 + 8); i++) if (v[i] > 0) b |= 0x80 >> (i & 7);
        return b;
      });
      const u = await post(h, '/v1/embeddings', { input: 'sign bits', encoding_format: 'ubinary' });
      expect(u.body.data[0].embedding, `packBinary ${packBinary}`).toStrictEqual(bits);
      const s = await post(h, '/v1/embeddings', { input: 'sign bits', encoding_format: 'binary' });
      expect(s.body.data[0].embedding).toStrictEqual(bits.map((b) => b - 128));
    }
  });

  it('slices matryoshka dimensions and re-normalizes', async () => {
    const { map, mrl } = engines();
    const h = createHandler({ engines: map });
    const r = await post(h, '/v1/embeddings', { model: 'mrl', input: 'short vector', dimensions: 4 });
    expect(r.status).toBe(200);
    const e: number[] = r.body.data[0].embedding;
    expect(e).toStrictEqual(floats(mrl.vector(mrl.ids('short vector'), 4, true)));
    expect(Math.hypot(...e)).toBeCloseTo(1, 6);
  });

  it('copies the result metadata into timing headers and echoes x-request-id', async () => {
    const fake = new FakeEngine({ metadata: { queueMs: 1.5, tokenizeMs: 0.25, inferenceMs: 12.125, batches: 1, batchSize: 3 } });
    const h = createHandler({ engines: new Map([['m', fake]]) });
    const r = await post(h, '/v1/embeddings', { input: 'timed' }, { 'x-request-id': 'abc-123' });
    expect(r.status).toBe(200);
    expect(r.body.id).toBe('embd-abc-123');
    expect(r.headers.get('x-request-id')).toBe('abc-123');
    expect(r.headers.get('x-wgpool-queue-ms')).toBe('1.50');
    expect(r.headers.get('x-wgpool-tokenize-ms')).toBe('0.25');
    expect(r.headers.get('x-wgpool-inference-ms')).toBe('12.13');
    expect(r.headers.get('x-wgpool-batches')).toBe('1');
    expect(r.headers.get('x-wgpool-batch-size')).toBe('3');
    expect(Number(r.headers.get('x-wgpool-total-ms'))).toBeGreaterThanOrEqual(0);
    expect(r.headers.get('server-timing')).toMatch(/^queue;dur=1\.50, tokenize;dur=0\.25, inference;dur=12\.13, total;dur=\d+\.\d\d$/);
  });
});

describe('POST /classify', () => {
  it('returns vLLM ClassificationResponse', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const r = await post(h, '/classify', { model: 'fake', input: ['good movie', 'bad'] });
    expect(r.status).toBe(200);
    const want = await fake.classify(['good movie', 'bad']);
    expect(r.body).toStrictEqual({
      id: expect.stringMatching(/^classify-[0-9a-f]{32}$/),
      object: 'list',
      created: expect.any(Number),
      model: 'fake',
      data: want.data.map((d) => ({ index: d.index, label: d.label, probs: d.probs, num_classes: 3 })),
      usage: expect.anything(),
    });
    expect(new Set(r.body.data.map((d: { label: string }) => d.label)).size).toBeGreaterThan(0);
    expect(r.body.data[0].probs.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 6);
    expectUsage(r.body.usage, want.usage.promptTokens);
  });

  it('passes use_activation: false (raw logits)', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const r = await post(h, '/classify', { input: 'x', use_activation: false });
    expect(r.body.data[0].probs).toStrictEqual(fake.logits(fake.ids('x')));
  });
});

describe('POST /score', () => {
  it('pairs 1→N with text_1 / text_2 on /score and N→N with queries / documents on /v1/score', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const one = await post(h, '/score', { model: 'fake', text_1: 'what is a cat', text_2: ['a cat is an animal', 'paris is a city'] });
    expect(one.status).toBe(200);
    const s = [fake.pairScore('what is a cat', 'a cat is an animal'), fake.pairScore('what is a cat', 'paris is a city')];
    expect(one.body).toStrictEqual({
      id: expect.stringMatching(/^score-[0-9a-f]{32}$/),
      object: 'list',
      created: expect.any(Number),
      model: 'fake',
      data: [
        { index: 0, object: 'score', score: s[0].score },
        { index: 1, object: 'score', score: s[1].score },
      ],
      usage: expect.anything(),
    });
    expectUsage(one.body.usage, s[0].tokens + s[1].tokens);

    const nn = await post(h, '/v1/score', { queries: ['q1', 'q2'], documents: ['d1', 'd2'] });
    expect(nn.body.data.map((d: { score: number }) => d.score)).toStrictEqual([fake.pairScore('q1', 'd1').score, fake.pairScore('q2', 'd2').score]);

    const single = await post(h, '/score', { text_1: 'q', text_2: 'd' });
    expect(single.body.data).toStrictEqual([{ index: 0, object: 'score', score: fake.pairScore('q', 'd').score }]);
  });
});

describe('POST /rerank', () => {
  const docs = ['paris is a city', 'a cat is an animal', 'cats purr', 'the sea is blue'];

  it('sorts by descending relevance_score and returns the documents as vLLM does', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const r = await post(h, '/rerank', { model: 'fake', query: 'what is a cat', documents: docs });
    expect(r.status).toBe(200);
    const scored = docs.map((d, index) => ({ index, ...fake.pairScore('what is a cat', d) })).sort((a, b) => b.score - a.score);
    const tokens = scored.reduce((s, x) => s + x.tokens, 0);
    expect(r.body).toStrictEqual({
      id: expect.stringMatching(/^rerank-[0-9a-f]{32}$/),
      model: 'fake',
      usage: { prompt_tokens: tokens, total_tokens: tokens },
      results: scored.map((x) => ({ index: x.index, document: { text: docs[x.index], multi_modal: null }, relevance_score: x.score })),
    });
    const scores = r.body.results.map((x: { relevance_score: number }) => x.relevance_score);
    expect(scores).toStrictEqual([...scores].sort((a, b) => b - a));
  });

  it('keeps top_n, takes {text} documents, omits documents with return_documents: false, on /v1 and /v2', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const best = docs.map((d, index) => ({ index, score: fake.pairScore('cat', d).score })).sort((a, b) => b.score - a.score);
    for (const path of ['/v1/rerank', '/v2/rerank']) {
      const r = await post(h, path, { query: 'cat', documents: docs.map((text) => ({ text })), top_n: 2, return_documents: false });
      expect(r.status).toBe(200);
      expect(r.body.results).toStrictEqual(best.slice(0, 2).map((b) => ({ index: b.index, relevance_score: b.score })));
    }
    const withDocs = await post(h, '/rerank', { query: 'cat', documents: docs, top_n: 1 });
    expect(withDocs.body.results).toStrictEqual([{ index: best[0].index, document: { text: docs[best[0].index], multi_modal: null }, relevance_score: best[0].score }]);
  });
});

describe('POST /pooling', () => {
  it('serves every pooling task with vLLM PoolingResponse', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const input = ['a b', 'c'];
    const embed = await post(h, '/pooling', { model: 'fake', task: 'embed', input });
    expect(embed.status).toBe(200);
    const e = await fake.embed(input);
    expect(embed.body).toStrictEqual({
      id: expect.stringMatching(/^pool-[0-9a-f]{32}$/),
      object: 'list',
      created: expect.any(Number),
      model: 'fake',
      data: e.embeddings.map((v, index) => ({ index, object: 'pooling', data: floats(v) })),
      usage: expect.anything(),
    });
    expectUsage(embed.body.usage, e.usage.promptTokens);

    const cls = await post(h, '/pooling', { task: 'classify', input });
    expect(cls.body.data).toStrictEqual((await fake.classify(input)).data.map((d, index) => ({ index, object: 'pooling', data: d.probs })));

    for (const task of ['token_embed', 'token_classify'] as const) {
      const r = await post(h, '/pooling', { task, input });
      const want = await fake.encode(input, { task });
      expect(r.body.data, task).toStrictEqual(want.data.map((rows, index) => ({ index, object: 'pooling', data: rows.map(floats) })));
      expect(r.body.data[0].data.length).toBe(fake.ids('a b').length);
    }
  });

  it('base64-encodes per-token rows as one flat float32 buffer, and defaults task to the model\'s first', async () => {
    const { map, fake, mrl } = engines();
    const h = createHandler({ engines: map });
    const r = await post(h, '/pooling', { task: 'token_embed', input: 'a b', encoding_format: 'base64' });
    const rows = (await fake.encode('a b', { task: 'token_embed' })).data[0];
    expect(decodeBase64(r.body.data[0].data)).toStrictEqual(rows.flatMap(floats));

    const d = await post(h, '/pooling', { model: 'mrl', input: 'a b', dimensions: 4 });
    expect(d.status).toBe(200);
    expect(d.body.data[0].data).toStrictEqual(floats((await mrl.embed('a b', { dimensions: 4 })).embeddings[0]));
  });
});

describe('tokenize, detokenize, models, health', () => {
  it('POST /tokenize and /detokenize', async () => {
    const { map, fake } = engines();
    const h = createHandler({ engines: map });
    const t = await post(h, '/tokenize', { model: 'fake', prompt: 'hello there' });
    expect(t.status).toBe(200);
    const ids = fake.ids('hello there');
    expect(t.body).toStrictEqual({ count: 4, max_model_len: 32, tokens: ids, token_strs: null });
    const s = await post(h, '/tokenize', { prompt: 'hello there', add_special_tokens: false, return_token_strs: true });
    expect(s.body).toStrictEqual({ count: 2, max_model_len: 32, tokens: ids.slice(1, 3), token_strs: ['hello', 'there'] });
    const d = await post(h, '/detokenize', { tokens: ids });
    expect(d.body).toStrictEqual({ prompt: fake.detokenize(ids) });
    expect(d.body.prompt).toBe(`<${ids[1]}> <${ids[2]}>`);
  });

  it('GET /v1/models lists every engine as vLLM ModelCards', async () => {
    const { map } = engines();
    const h = createHandler({ engines: map });
    const r = await send(h, '/v1/models');
    expect(r.status).toBe(200);
    expect(r.body.object).toBe('list');
    expect(r.body.data.map((m: { id: string }) => m.id)).toStrictEqual(['fake', 'mrl', 'embed-only', 'busy', 'broken']);
    expect(r.body.data[0]).toStrictEqual({
      id: 'fake',
      object: 'model',
      created: expect.any(Number),
      owned_by: 'wgpool',
      root: 'org/fake',
      parent: null,
      max_model_len: 32,
      permission: [
        {
          id: expect.stringMatching(/^modelperm-[0-9a-f]{32}$/),
          object: 'model_permission',
          created: expect.any(Number),
          allow_create_engine: false,
          allow_sampling: true,
          allow_logprobs: true,
          allow_search_indices: false,
          allow_view: true,
          allow_fine_tuning: false,
          organization: '*',
          group: null,
          is_blocking: false,
        },
      ],
    });
  });

  it('GET /health and /ping answer 200 with an empty body; 503 with no model loaded; HEAD works', async () => {
    const { map } = engines();
    const h = createHandler({ engines: map });
    for (const path of ['/health', '/ping']) {
      const r = await send(h, path);
      expect(r.status).toBe(200);
      expect(r.text).toBe('');
    }
    expect((await send(h, '/ping', { method: 'POST' })).status).toBe(200);
    const head = await send(h, '/v1/models', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    const empty = createHandler({ engines: new Map() });
    const r = await send(empty, '/health');
    expect(r.status).toBe(503);
    expect(r.body).toStrictEqual(errorShape(503, 'ServiceUnavailableError', 'No model is loaded yet.'));
  });
});

describe('model selection and basePath', () => {
  it('picks the engine named by `model`, the first one when absent, and reads a live map from a function', async () => {
    const a = new FakeEngine({ model: 'org/a', hiddenSize: 4 });
    const b = new FakeEngine({ model: 'org/b', hiddenSize: 6 });
    const live = new Map<string, EngineApi>([['a', a]]);
    const h = createHandler({ engines: () => live });
    expect((await post(h, '/v1/embeddings', { input: 'x' })).body.data[0].embedding).toHaveLength(4);
    expect((await post(h, '/v1/embeddings', { input: 'x', model: '' })).body.model).toBe('a');
    expect((await post(h, '/v1/embeddings', { input: 'x', model: 'b' })).status).toBe(404);
    live.set('b', b);
    const rb = await post(h, '/v1/embeddings', { input: 'x', model: 'b' });
    expect(rb.body.model).toBe('b');
    expect(rb.body.data[0].embedding).toHaveLength(6);
    expect(a.calls.length).toBe(2);
    expect(b.calls.length).toBe(1);
  });

  it('serves every route under basePath and nothing outside it', async () => {
    const { map } = engines();
    const h = createHandler({ engines: map, basePath: '/wgpool/' });
    expect((await post(h, '/wgpool/v1/embeddings', { input: 'x' })).status).toBe(200);
    expect((await post(h, '/wgpool/rerank', { query: 'q', documents: ['d'] })).status).toBe(200);
    expect((await send(h, '/wgpool/health')).status).toBe(200);
    expect((await send(h, '/wgpool/v1/models/')).status).toBe(200);
    const outside = await post(h, '/v1/embeddings', { input: 'x' });
    expect(outside.status).toBe(404);
    expect(outside.body).toStrictEqual(errorShape(404, 'NotFoundError', 'Route /v1/embeddings does not exist.'));
    expect((await send(h, '/wgpoolx/health')).status).toBe(404);
  });
});

describe('errors', () => {
  type Case = {
    name: string;
    path?: string;
    body?: unknown;
    init?: RequestInit & { duplex?: 'half' };
    status: number;
    type: string;
    message: string | RegExp;
    param?: string | null;
  };
  const bad = (name: string, body: unknown, message: string | RegExp, path = '/v1/embeddings'): Case => ({ name, path, body, status: 400, type: 'BadRequestError', message });
  const long = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
  const big = JSON.stringify({ input: 'x'.repeat(5000) });

  const cases: Case[] = [
    bad('malformed JSON', '{"input": ', /^The request body is not valid JSON: /),
    bad('a JSON array body', '["a"]', 'The request body must be a JSON object, got an array.'),
    bad('an empty body', '', 'The request body is empty; send a JSON object.'),
    {
      name: 'a non-JSON content type',
      init: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"input":"x"}' },
      status: 400,
      type: 'BadRequestError',
      message: "Unsupported Media Type: Only 'application/json' is allowed",
    },
    {
      name: 'invalid UTF-8',
      init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) },
      status: 400,
      type: 'BadRequestError',
      message: 'The request body is not valid UTF-8.',
    },
    bad('missing input', { model: 'fake' }, '`input` is required.'),
    bad('input of the wrong type', { input: 5 }, '`input` must be a string, a list of strings or token ids, got a number (5).'),
    bad('an empty input list', { input: [] }, '`input` must not be an empty list.'),
    bad('a non-string item', { input: ['a', 3] }, '`input` must be a string, a list of strings, or token ids (list of integers, or of lists of integers); item 1 is a number (3).'),
    bad('token ids mixed with text', { input: [[1, 2], 'x'] }, /^`input` must be a string, a list of strings, or token ids .*item 0 is an array/),
    bad('an empty list of token ids', { input: [[5, 6], []] }, '`input` item 1 must be a non-empty list of token ids.'),
    bad('a token id out of vocabulary (engine)', { input: [1, 5, 1000, 2] }, 'Token id 1000 is out of vocabulary (input[0][2]; the model has ids 0..999).'),
    bad('a negative token id (engine)', { input: [[1, 2], [1, -3]] }, 'Token id -3 is out of vocabulary (input[1][1]; the model has ids 0..999).'),
    bad('a fractional token id (engine)', { input: [1, 2.5] }, 'Token ids must be integers; input[0][1] is 2.5.'),
    bad('too many token ids (engine)', { input: Array.from({ length: 33 }, () => 7) }, /maximum context length is 32 tokens. However, you requested 33 tokens/),
    bad('both input and messages', { messages: [{ role: 'user', content: 'hi' }], input: 'x' }, 'Send either `input` or `messages`, not both.'),
    bad('messages not a list', { messages: 'hi' }, '`messages` must be a non-empty list of chat messages.'),
    bad('a message without a role', { messages: [{ content: 'hi' }] }, '`messages` item 0 needs a string `role`.'),
    bad('an image content part', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, "`messages` item 0 content part 0 is of type 'image_url'; wgpool's models take text parts only."),
    bad('a request chat_template', { messages: [{ role: 'user', content: 'hi' }], chat_template: '{{ 1 }}' }, /--trust-request-chat-template is not set/),
    bad('chat_template_kwargs not an object', { messages: [{ role: 'user', content: 'hi' }], chat_template_kwargs: [1] }, '`chat_template_kwargs` must be a JSON object, got an array.'),
    bad('continue_final_message with add_generation_prompt', { messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: true, continue_final_message: true }, 'Cannot set both `continue_final_message` and `add_generation_prompt` to True.'),
    bad('messages on a model without a chat template', { model: 'embed-only', messages: [{ role: 'user', content: 'hi' }] }, 'As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one.'),
    bad('a chat template that raises', { model: 'mrl', messages: [{ role: 'user', content: 'hi' }] }, 'The chat template failed to render: Only system messages here'),
    bad('an unknown encoding_format', { input: 'x', encoding_format: 'hex' }, "`encoding_format` must be one of 'float', 'base64', 'bytes', 'bytes_only', 'binary', 'ubinary', got a string (\"hex\")."),
    bad('an unknown embed_dtype', { input: 'x', embed_dtype: 'int8' }, "`embed_dtype` must be one of 'float32', 'float16', 'bfloat16', 'fp8_e4m3', 'fp8_e5m2', got a string (\"int8\")."),
    bad('an unknown endianness', { input: 'x', encoding_format: 'bytes', endianness: 'middle' }, /^`endianness` must be one of 'native', 'little', 'big'/),
    bad('padding max_length', { input: 'x', padding: 'max_length' }, /^`padding: 'max_length'` is not supported by wgpool/),
    bad('an unknown pooling override', { input: 'x', pooling: 'median' }, /^`pooling` must be one of 'cls', 'mean', 'max', 'last', 'mean_sqrt_len'/),
    bad('dimensions as a string', { input: 'x', dimensions: '4' }, '`dimensions` must be an integer, got a string ("4").'),
    bad('dimensions as a float', { input: 'x', dimensions: 4.5 }, '`dimensions` must be an integer, got a number (4.5).'),
    bad('dimensions on a non-matryoshka model (engine)', { input: 'x', dimensions: 4 }, 'Model "org/fake" does not support matryoshka representation, changing output dimensions will lead to poor results.'),
    bad('dimensions outside the matryoshka list (engine)', { model: 'mrl', input: 'x', dimensions: 5 }, 'Model "fake/model" only supports [4, 8] matryoshka dimensions, use other output dimensions will lead to poor results.'.replace('fake/model', 'org/mrl')),
    bad('use_activation not a boolean', { input: 'x', use_activation: 'yes' }, '`use_activation` must be a boolean, got a string ("yes").'),
    bad('the removed normalize', { input: 'x', normalize: true }, 'Parameter `normalize` was removed; use `use_activation` instead.'),
    bad('the removed normalize on /pooling', { task: 'embed', input: 'x', normalize: false }, 'Parameter `normalize` was removed; use `use_activation` instead.', '/pooling'),
    bad('the removed softmax on /classify', { input: 'x', softmax: false }, 'Parameter `softmax` was removed; use `use_activation` instead.', '/classify'),
    bad('the removed activation on /score', { text_1: 'a', text_2: 'b', activation: false }, 'Parameter `activation` was removed; use `use_activation` instead.', '/score'),
    bad('truncate_prompt_tokens below -1', { input: 'x', truncate_prompt_tokens: -2 }, '`truncate_prompt_tokens` must be at least -1, got -2.'),
    bad('truncate_prompt_tokens over max_model_len (engine)', { input: 'x', truncate_prompt_tokens: 100 }, /greater than max_model_len \(32\)/),
    bad('an unknown truncation_side', { input: 'x', truncation_side: 'middle' }, "`truncation_side` must be one of 'left', 'right', got a string (\"middle\")."),
    bad('priority not an integer', { input: 'x', priority: 'high' }, '`priority` must be an integer, got a string ("high").'),
    bad('user not a string', { input: 'x', user: 7 }, '`user` must be a string, got a number (7).'),
    bad('add_special_tokens not a boolean', { input: 'x', add_special_tokens: 'no' }, '`add_special_tokens` must be a boolean, got a string ("no").'),
    bad('too-long input (engine)', { input: long }, "This model's maximum context length is 32 tokens. However, you requested 42 tokens in the input. Please reduce the length of the input, or set truncate_prompt_tokens."),
    bad('model not a string', { model: 42, input: 'x' }, '`model` must be a string, got a number (42).'),
    bad('classify on an embedding-only model', { model: 'embed-only', input: 'x' }, 'The model does not support Classification API', '/classify'),
    bad('score on an embedding-only model', { model: 'embed-only', text_1: 'a', text_2: 'b' }, 'The model does not support Score API', '/score'),
    bad('rerank on an embedding-only model', { model: 'embed-only', query: 'a', documents: ['b'] }, 'The model does not support Rerank API', '/rerank'),
    bad('score without texts', { model: 'fake' }, 'Send `queries` and `documents` (or `text_1` and `text_2`) to score.', '/score'),
    bad('score with one side missing', { text_1: 'a' }, '`text_2` is required.', '/score'),
    bad('score with mismatched lengths', { text_1: ['a', 'b'], text_2: ['c', 'd', 'e'] }, 'Input lengths must be either 1:1, 1:N or N:N', '/score'),
    bad('score with an empty side', { queries: [], documents: ['d'] }, 'At least one text element must be given', '/score'),
    bad('score with a non-string item', { queries: 'q', documents: ['d', { x: 1 }] }, '`documents` must be a string or a list of strings; item 1 is an object.', '/score'),
    bad('score with a negative max_tokens_per_doc', { queries: 'q', documents: 'd', max_tokens_per_doc: -1 }, '`max_tokens_per_doc` must be at least 0, got -1.', '/score'),
    bad('rerank with a max_tokens_per_query string', { query: 'q', documents: ['d'], max_tokens_per_query: '8' }, '`max_tokens_per_query` must be an integer, got a string ("8").', '/rerank'),
    bad('rerank with an instruction', { query: 'q', documents: ['d'], instruction: 'Judge relevance' }, /^`instruction` needs a model with a score template/, '/rerank'),
    bad('rerank with documents as one string', { query: 'q', documents: 'd' }, '`documents` must be a list of strings or of objects with a `text` string, got a string ("d").', '/rerank'),
    bad('rerank without a query', { documents: ['d'] }, '`query` is required.', '/rerank'),
    bad('rerank with a bad document', { query: 'q', documents: ['d', {}] }, '`documents` item 1 must be a string or an object with a `text` string, got an object.', '/rerank'),
    bad('rerank with no documents', { query: 'q', documents: [] }, '`documents` must not be an empty list.', '/rerank'),
    bad('rerank with a negative top_n', { query: 'q', documents: ['d'], top_n: -1 }, '`top_n` must be at least 0, got -1.', '/rerank'),
    bad('rerank with return_documents not a boolean', { query: 'q', documents: ['d'], return_documents: 'no' }, '`return_documents` must be a boolean, got a string ("no").', '/rerank'),
    bad('an unknown pooling task', { task: 'foo', input: 'x' }, "`task` must be one of 'embed', 'classify', 'token_embed', 'token_classify', got a string (\"foo\").", '/pooling'),
    bad('the removed pooling task encode', { task: 'encode', input: 'x' }, '`encode` task was removed; use `token_embed` or `token_classify` instead.', '/pooling'),
    bad('the removed pooling task score', { task: 'score', input: 'x' }, '`score` task was removed; use `classify` instead.', '/pooling'),
    bad('a pooling task the model does not serve', { model: 'embed-only', task: 'classify', input: 'x' }, `Task 'classify' is not supported by model "org/embed-only"; it serves 'embed'.`, '/pooling'),
    bad('dimensions with pooling task classify', { task: 'classify', input: 'x', dimensions: 4 }, "Task 'classify' only supports ['use_activation'] parameters, does not support ['dimensions'] parameters", '/pooling'),
    bad('binary encoding on /pooling', { task: 'embed', input: 'x', encoding_format: 'binary' }, "`encoding_format` must be one of 'float', 'base64', 'bytes', 'bytes_only', got a string (\"binary\").", '/pooling'),
    bad('tokenize with prompt and messages', { prompt: 'x', messages: [{ role: 'user', content: 'x' }] }, 'Send either `prompt` or `messages`, not both.', '/tokenize'),
    bad('tokenize without a prompt', { model: 'fake' }, '`prompt` is required.', '/tokenize'),
    bad('tokenize with return_token_strs not a boolean', { prompt: 'x', return_token_strs: 1 }, '`return_token_strs` must be a boolean, got a number (1).', '/tokenize'),
    bad('detokenize with a non-list', { tokens: 'abc' }, '`tokens` must be a list of token ids, got a string ("abc").', '/detokenize'),
    bad('detokenize with a negative id', { tokens: [1, -1] }, '`tokens` item 1 must be a non-negative integer, got a number (-1).', '/detokenize'),
    {
      name: 'an unknown model',
      body: { model: 'nope', input: 'x' },
      status: 404,
      type: 'NotFoundError',
      message: 'The model `nope` does not exist.',
      param: 'model',
    },
    { name: 'an unknown route', path: '/v1/chat/completions', body: {}, status: 404, type: 'NotFoundError', message: 'Route /v1/chat/completions does not exist.' },
    { name: 'GET on a POST route', init: { method: 'GET' }, status: 405, type: 'MethodNotAllowedError', message: 'Method GET is not allowed here; use POST.' },
    { name: 'POST on a GET route', path: '/v1/models', body: {}, status: 405, type: 'MethodNotAllowedError', message: 'Method POST is not allowed here; use GET or HEAD.' },
    {
      // Refused from the header alone: the small body is never read.
      name: 'a declared Content-Length over the limit',
      init: { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '999999' }, body: '{"input":"x"}' },
      status: 413,
      type: 'PayloadTooLargeError',
      message: 'The request body is larger than the limit of 4096 bytes.',
    },
    {
      name: 'an oversized body',
      body: big,
      status: 413,
      type: 'PayloadTooLargeError',
      message: 'The request body is larger than the limit of 4096 bytes.',
    },
    {
      name: 'an oversized streamed body (no Content-Length)',
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
        body: new ReadableStream({
          start(c) {
            const bytes = new TextEncoder().encode(big);
            for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.subarray(i, i + 1000));
            c.close();
          },
        }),
      },
      status: 413,
      type: 'PayloadTooLargeError',
      message: 'The request body is larger than the limit of 4096 bytes.',
    },
    { name: 'an overloaded engine', body: { model: 'busy', input: 'x' }, status: 429, type: 'TooManyRequestsError', message: 'The request queue is full (64 requests waiting); retry later.' },
    { name: 'an unexpected engine exception', body: { model: 'broken', input: 'x' }, status: 500, type: 'InternalServerError', message: /^Internal server error \(request id [0-9a-f]{32}\)\.$/ },
  ];

  it(`answers ${cases.length} bad requests with vLLM error bodies, then still serves good ones`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    const { map, fake } = engines();
    const unexpected: unknown[] = [];
    const h = createHandler({ engines: map, maxBodyBytes: 4096, onError: (e) => unexpected.push(e) });
    for (const c of cases) {
      const init = c.init ?? { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) };
      const r = await send(h, c.path ?? '/v1/embeddings', init);
      expect(r.status, c.name).toBe(c.status);
      expect(r.headers.get('content-type'), c.name).toBe('application/json');
      expect(r.body, c.name).toStrictEqual(errorShape(c.status, c.type, expect.any(String), c.param ?? null));
      expect(r.body.error.message, c.name).toBe(r.body.message);
      if (typeof c.message === 'string') expect(r.body.message, c.name).toBe(c.message);
      else expect(r.body.message, c.name).toMatch(c.message);
      expect(r.text, c.name).not.toMatch(/secret|engine\.ts|\n\s+at /);
      if (c.status === 405) expect(r.headers.get('allow'), c.name).toBe(c.path === '/v1/models' ? 'GET, HEAD' : 'POST');
    }
    // Only the unexpected exception reaches onError, with its details intact for the log.
    expect(unexpected).toHaveLength(1);
    expect((unexpected[0] as Error).message).toMatch(/secret internal detail/);

    const ok = await post(h, '/v1/embeddings', { model: 'fake', input: ['still', 'fine'] });
    expect(ok.status).toBe(200);
    expect(ok.body.data[1].embedding).toStrictEqual(floats(fake.vector(fake.ids('fine'), 8, true)));
    expect((await post(h, '/rerank', { query: 'q', documents: ['a', 'b'] })).status).toBe(200);
    expect((await send(h, '/health')).status).toBe(200);
  });

  it('maps an abort to 503 and does not call onError', async () => {
    const fake = new FakeEngine({ delayMs: 5_000 });
    const seen: unknown[] = [];
    const h = createHandler({ engines: new Map([['m', fake]]), onError: (e) => seen.push(e) });
    const ac = new AbortController();
    const pending = h(
      new Request(ORIGIN + '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":"x"}', signal: ac.signal }),
    );
    setTimeout(() => ac.abort(), 20);
    const res = await pending;
    expect(res.status).toBe(503);
    expect(await res.json()).toStrictEqual(errorShape(503, 'ServiceUnavailableError', 'The request was aborted before it finished.'));
    expect(seen).toHaveLength(0);
  });

  it('maps a WgpoolError-shaped error from another realm (no prototype) by its status and type', async () => {
    const err = Object.assign(new Error('Worker says: bad dims'), { status: 400, type: 'BadRequestError' });
    const h = createHandler({ engines: new Map([['m', new FakeEngine({ fail: err })]]) });
    const r = await post(h, '/classify', { input: 'x' });
    expect(r.status).toBe(400);
    expect(r.body).toStrictEqual(errorShape(400, 'BadRequestError', 'Worker says: bad dims'));
  });
});
