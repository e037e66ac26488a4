// Property: every HTTP route of `wgpool serve` — the same handler on node:http, on loopback, with
// real engines (CPU backend: embedder, cross-encoder, sequence and token classifiers) — answers
// any request body within a time bound with a well-formed answer: 2xx, or a 4xx with vLLM's error
// body, or the documented 503 (aborted); never another 5xx, and no handler error reaches onError.
// Bodies: valid-looking requests with random field values (types, sizes, Unicode with lone
// surrogates and NUL, huge numbers, negative and fractional dimensions / top_n / truncation,
// token ids, messages), random JSON, and bytes that are not JSON; wrong methods and content types.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import type { EngineApi } from '../../src/router/types';
import { serve, type RunningServer } from '../../src/serve/node';
import { fixtureDir } from '../helpers/fixtures';
import { anyValue, field, fuzzParams, idList, inputs, maybe, number, saneInputs, Tally, text } from '../helpers/fuzz';

const KEY = 'fuzz-key';
const MODELS = { embedder: 'tiny-bert-embed', reranker: 'tiny-bert-crossenc', sentiment: 'tiny-bert-seqcls', ner: 'tiny-bert-tokcls' } as const;
const POST_ROUTES = ['/v1/embeddings', '/classify', '/score', '/v1/score', '/rerank', '/v1/rerank', '/v2/rerank', '/pooling', '/tokenize', '/detokenize'];
const GET_ROUTES = ['/v1/models', '/health', '/ping', '/version', '/metrics'];
const tally = new Tally();
const unexpected: unknown[] = [];
let server: RunningServer;
const engines = new Map<string, Engine>();

beforeAll(async () => {
  for (const [name, fixture] of Object.entries(MODELS)) engines.set(name, await createEngine({ model: fixtureDir(fixture), backend: 'cpu', servedModelName: name, scheduler: { maxQueuedTokens: 8192 } }));
  server = await serve({
    engines: engines as Map<string, EngineApi>,
    port: 0,
    apiKeys: [KEY],
    maxBodyBytes: 256 * 1024,
    log: (line) => {
      if (line.startsWith('error')) unexpected.push(line);
    },
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  for (const e of engines.values()) await e.dispose();
  console.log(tally.report('HTTP fuzz (wgpool serve handler on node:http, backend cpu)'));
});

/** Fields a body may carry, with what a valid-looking value is. */
function bodyFields(f: <T>(valid: fc.Arbitrary<T>) => fc.Arbitrary<unknown>, inp: fc.Arbitrary<unknown>) {
  return fc.record({
    model: f(fc.constantFrom(...Object.keys(MODELS), 'nope')),
    input: f(inp),
    messages: f(fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'assistant'), content: fc.oneof(text, anyValue) }), { maxLength: 3 })),
    encoding_format: f(fc.constantFrom('float', 'base64', 'bytes', 'bytes_only', 'binary', 'ubinary')),
    embed_dtype: f(fc.constantFrom('float32', 'float16', 'bfloat16', 'fp8_e4m3')),
    endianness: f(fc.constantFrom('native', 'little', 'big')),
    dimensions: f(fc.oneof(number, fc.constantFrom(16, 32, 64))),
    truncate_prompt_tokens: f(fc.constantFrom(-1, 1, 3, 512, 513)),
    truncation_side: f(fc.constantFrom('left', 'right')),
    use_activation: f(fc.boolean()),
    normalize: f(fc.boolean()),
    add_special_tokens: f(fc.boolean()),
    priority: f(fc.integer({ min: -3, max: 3 })),
    task: f(fc.constantFrom('embed', 'classify', 'score', 'token_embed', 'token_classify', 'encode')),
    queries: f(inp),
    documents: f(fc.oneof(fc.array(text, { maxLength: 5 }), inp)),
    text_1: f(inp),
    text_2: f(inp),
    query: f(text),
    top_n: f(number),
    return_documents: f(fc.boolean()),
    max_tokens_per_query: f(number),
    max_tokens_per_doc: f(number),
    prompt: f(text),
    prompt_name: f(fc.constantFrom('query', 'document')),
    tokens: f(idList),
    return_token_strs: f(fc.boolean()),
    chat_template: f(fc.constantFrom('{{ messages[0].content }}', '{% if %}')),
    add_generation_prompt: f(fc.boolean()),
    user: f(text),
    request_id: f(text),
  }, { requiredKeys: [] });
}

const request = fc.record({
  route: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...POST_ROUTES) }, { weight: 1, arbitrary: fc.constantFrom(...GET_ROUTES, '/nope', '/v1/embeddings/', '//v1//embeddings') }),
  method: fc.oneof({ weight: 12, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS') }),
  body: fc.oneof(
    { weight: 5, arbitrary: bodyFields(maybe, saneInputs).map((b) => JSON.stringify(b)) },
    { weight: 3, arbitrary: bodyFields(field, inputs).map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: anyValue.map((v) => JSON.stringify(v) ?? '') },
    { weight: 1, arbitrary: fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('', '{', '{"input": "a"', 'null', '[]', '\u0000', '{"input":"\\ud800"}')) },
  ),
  contentType: fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', '') }),
  auth: fc.oneof({ weight: 12, arbitrary: fc.constant(`Bearer ${KEY}`) }, { weight: 1, arbitrary: fc.constantFrom('', 'Bearer wrong', 'Basic abc', KEY) }),
});

/** The statuses an answer may have; 503 is the documented one (an aborted request). */
const ALLOWED = new Set([200, 400, 401, 404, 405, 413, 415, 422, 429, 503]);

describe('HTTP fuzz', () => {
  it('every route answers 2xx / 4xx / the documented 503 with a well-formed body, within 30 s', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        unexpected.length = 0;
        const headers: Record<string, string> = {};
        if (r.contentType) headers['content-type'] = r.contentType;
        if (r.auth) headers.authorization = r.auth;
        const hasBody = !['GET', 'HEAD'].includes(r.method);
        const res = await fetch(server.url + r.route, { method: r.method, headers, body: hasBody ? r.body : undefined, signal: AbortSignal.timeout(30_000) });
        const bytes = new Uint8Array(await res.arrayBuffer());
        tally.add(r.route, r.method === 'POST' ? String(res.status) : `${r.method} ${res.status}`);
        expect(ALLOWED.has(res.status) || (res.status >= 200 && res.status < 300), `status ${res.status} for ${r.method} ${r.route} ${r.body.slice(0, 300)}`).toBe(true);
        const type = res.headers.get('content-type') ?? '';
        if (res.status >= 400 && r.method !== 'HEAD') {
          const err = JSON.parse(new TextDecoder().decode(bytes));
          if (res.status === 401) expect(err).toStrictEqual({ error: 'Unauthorized' });
          else {
            expect(err.object).toBe('error');
            expect(err.code).toBe(res.status);
            expect(typeof err.message).toBe('string');
          }
        } else if (type.includes('json') && bytes.length) {
          JSON.parse(new TextDecoder().decode(bytes));
        }
        expect(unexpected).toStrictEqual([]);
      }),
      fuzzParams(500, 150_000),
    );
    // The engines are idle again: every queue drained.
    for (const e of engines.values()) expect(e.stats().queuedRequests).toBe(0);
  }, 240_000);
});
