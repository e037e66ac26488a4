// vLLM parity, round two, through the handler with the deterministic fake engine: every new input
// form equals the text result, byte transports decode to the float result, and the operational
// routes (API key, CORS, /metrics, /version) behave as vLLM's middleware does.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EngineApi } from '../router/types';
import { decodeNumbers, type EmbedDType } from './encoding';
import { FakeEngine } from './fake_engine';
import { createHandler, type Handler, type HandlerOptions } from './handler';
import { WGPOOL_VERSION } from './version';

function setup(extra: Partial<HandlerOptions> = {}): { h: Handler; fake: FakeEngine } {
  const fake = new FakeEngine({ model: 'org/fake', maxLength: 32 });
  const h = createHandler({ engines: new Map<string, EngineApi>([['fake', fake]]), ...extra });
  return { h, fake };
}

async function post(h: Handler, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await h(new Request(`http://x${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }));
  const isJson = (res.headers.get('content-type') ?? '').includes('json');
  return { status: res.status, headers: res.headers, json: isJson ? await res.json() : null, bytes: isJson ? null : new Uint8Array(await res.arrayBuffer()) };
}

const b64bytes = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const TEXTS = ['the quick brown fox', 'jumps over', 'a lazy dog again and again'];

describe('token-id input', () => {
  it('ids from /tokenize give the text results on embeddings, classify and pooling; usage counts them', async () => {
    const { h } = setup();
    const ids: number[][] = [];
    for (const t of TEXTS) ids.push((await post(h, '/tokenize', { prompt: t })).json.tokens);
    const text = await post(h, '/v1/embeddings', { input: TEXTS });
    const byIds = await post(h, '/v1/embeddings', { input: ids });
    expect(byIds.status).toBe(200);
    expect(byIds.json.data.map((d: { embedding: number[] }) => d.embedding)).toStrictEqual(text.json.data.map((d: { embedding: number[] }) => d.embedding));
    expect(byIds.json.usage.prompt_tokens).toBe(ids.flat().length);
    const one = await post(h, '/v1/embeddings', { input: ids[1] });
    expect(one.json.data[0].embedding).toStrictEqual(text.json.data[1].embedding);
    const c1 = await post(h, '/classify', { input: TEXTS });
    const c2 = await post(h, '/classify', { input: ids });
    expect(c2.json.data).toStrictEqual(c1.json.data);
    const p1 = await post(h, '/pooling', { task: 'token_embed', input: TEXTS[0] });
    const p2 = await post(h, '/pooling', { task: 'token_embed', input: ids[0] });
    expect(p2.json.data).toStrictEqual(p1.json.data);
  });

  it('adds no special tokens to ids and truncates them by truncate_prompt_tokens and truncation_side', async () => {
    const { h, fake } = setup();
    const ids = [5, 6, 7, 8, 9];
    const r = await post(h, '/pooling', { task: 'token_embed', input: ids, truncate_prompt_tokens: 3, truncation_side: 'left' });
    expect(r.json.data[0].data).toStrictEqual([7, 8, 9].map((id) => Array.from(l2(FakeEngine.tokenVector(id, 8)))));
    expect(r.json.usage.prompt_tokens).toBe(3);
    const right = await post(h, '/v1/embeddings', { input: ids, truncate_prompt_tokens: 2 });
    expect(right.json.data[0].embedding).toStrictEqual(Array.from(fake.vector([5, 6], 8, true)));
  });
});

describe('add_special_tokens', () => {
  it('false drops [CLS]/[SEP] from text on every route, true (the default) keeps them', async () => {
    const { h, fake } = setup();
    const off = await post(h, '/v1/embeddings', { input: 'hello world', add_special_tokens: false });
    expect(off.json.data[0].embedding).toStrictEqual(Array.from(fake.vector([FakeEngine.wordId('hello'), FakeEngine.wordId('world')], 8, true)));
    expect(off.json.usage.prompt_tokens).toBe(2);
    const on = await post(h, '/v1/embeddings', { input: 'hello world' });
    expect(on.json.usage.prompt_tokens).toBe(4);
    for (const path of ['/classify', '/pooling']) {
      await post(h, path, { input: 'x', add_special_tokens: false });
      expect((fake.calls.at(-1)!.opts as { addSpecialTokens: boolean }).addSpecialTokens).toBe(false);
    }
    await post(h, '/score', { text_1: 'a', text_2: 'b', add_special_tokens: false });
    expect((fake.calls.at(-1)!.opts as { addSpecialTokens?: boolean }).addSpecialTokens).toBeUndefined();
  });
});

describe('chat messages', () => {
  const messages = [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: [{ type: 'text', text: 'hello' }, { type: 'text', text: 'there' }] },
  ];
  // FAKE_CHAT_TEMPLATE rendered by hand: text parts joined with "\n".
  const rendered = '[CLS] system: be brief [SEP]\n[CLS] user: hello\nthere [SEP]\n';

  it('embed the text the template renders, tokenized without added special tokens', async () => {
    const { h } = setup();
    const chat = await post(h, '/v1/embeddings', { messages });
    const text = await post(h, '/v1/embeddings', { input: rendered, add_special_tokens: false });
    expect(chat.status).toBe(200);
    expect(chat.json.data).toStrictEqual(text.json.data);
    expect(chat.json.usage).toStrictEqual(text.json.usage);
    const withPrompt = await post(h, '/pooling', { task: 'embed', messages, add_generation_prompt: true });
    const textPrompt = await post(h, '/pooling', { task: 'embed', input: rendered + 'assistant:', add_special_tokens: false });
    expect(withPrompt.json.data).toStrictEqual(textPrompt.json.data);
    const cls = await post(h, '/classify', { messages, add_special_tokens: true });
    const clsText = await post(h, '/classify', { input: rendered });
    expect(cls.json.data).toStrictEqual(clsText.json.data);
  });

  it('/tokenize renders with add_generation_prompt on by default, and passes chat_template_kwargs to the template', async () => {
    const { h } = setup();
    const t = await post(h, '/tokenize', { messages, return_token_strs: true });
    const expected = await post(h, '/tokenize', { prompt: rendered + 'assistant:', add_special_tokens: false, return_token_strs: true });
    expect(t.json).toStrictEqual(expected.json);
    const noPrompt = await post(h, '/tokenize', { messages, add_generation_prompt: false });
    expect(noPrompt.json.count).toBe(t.json.count - 1);

    const kw = new FakeEngine({ chatTemplate: '{{ greeting }} {{ messages[0].content }}{% if add_generation_prompt %} go{% endif %}' });
    const hk = createHandler({ engines: new Map<string, EngineApi>([['kw', kw]]) });
    const r = await post(hk, '/tokenize', { messages: [{ role: 'user', content: 'x' }], chat_template_kwargs: { greeting: 'hi', add_generation_prompt: false }, return_token_strs: true });
    // add_generation_prompt from the request (default true here) wins over the kwarg, as vLLM merges them.
    expect(r.json.token_strs).toStrictEqual(['hi', 'x', 'go']);
    const cont = await post(hk, '/tokenize', { messages: [{ role: 'user', content: 'x y' }], continue_final_message: true, chat_template_kwargs: { greeting: 'hi' }, return_token_strs: true });
    expect(cont.json.token_strs).toStrictEqual(['hi', 'x', 'y']);
  });
});

/** Decode one vector from a base64 or bytes answer. */
const floatsOf = (bytes: Uint8Array, dtype: EmbedDType, endianness: 'native' | 'little' | 'big' = 'native') => Array.from(decodeNumbers(bytes, dtype, endianness));

describe('binary transport', () => {
  it('bytes: octet-stream body of the outputs back to back, vLLM metadata header; bytes_only: no header', async () => {
    const { h } = setup({});
    const float = await post(h, '/v1/embeddings', { input: TEXTS, request_id: 'abc' });
    const bytes = await post(h, '/v1/embeddings', { input: TEXTS, encoding_format: 'bytes', request_id: 'abc' });
    expect(bytes.status).toBe(200);
    expect(bytes.headers.get('content-type')).toBe('application/octet-stream');
    const meta = JSON.parse(bytes.headers.get('metadata')!);
    expect(meta.id).toBe('embd-abc');
    expect(meta.model).toBe('fake');
    expect(meta.usage).toStrictEqual({ prompt_tokens: float.json.usage.prompt_tokens, total_tokens: float.json.usage.total_tokens });
    expect(meta.data).toHaveLength(3);
    meta.data.forEach((item: { index: number; start: number; end: number; shape: number[]; embed_dtype: string; endianness: string }, i: number) => {
      expect(item).toMatchObject({ index: i, embed_dtype: 'float32', endianness: 'native', shape: [8] });
      expect(floatsOf(bytes.bytes!.subarray(item.start, item.end), 'float32')).toStrictEqual(float.json.data[i].embedding);
    });
    expect(bytes.bytes!.byteLength).toBe(3 * 8 * 4);
    const only = await post(h, '/v1/embeddings', { input: TEXTS, encoding_format: 'bytes_only', embed_dtype: 'float16' });
    expect(only.headers.get('metadata')).toBeNull();
    expect(only.bytes!.byteLength).toBe(3 * 8 * 2);
  });

  it('float16 / bfloat16 (base64 and bytes, either byte order) equal the float result rounded to that type', async () => {
    const { h } = setup();
    const float = (await post(h, '/v1/embeddings', { input: TEXTS })).json.data.map((d: { embedding: number[] }) => d.embedding) as number[][];
    for (const [dtype, rel] of [['float16', 2 ** -11], ['bfloat16', 2 ** -8], ['fp8_e4m3', 2 ** -4], ['fp8_e5m2', 2 ** -3]] as const) {
      for (const endianness of ['little', 'big'] as const) {
        const b = await post(h, '/v1/embeddings', { input: TEXTS, encoding_format: 'base64', embed_dtype: dtype, endianness });
        b.json.data.forEach((d: { embedding: string }, i: number) => {
          const got = floatsOf(b64bytes(d.embedding), dtype, endianness);
          got.forEach((g, j) => expect(Math.abs(g - float[i][j]), `${dtype} ${endianness} [${i}][${j}]`).toBeLessThanOrEqual(rel * Math.abs(float[i][j]) + 2 ** -24));
          // Rounded, not truncated: some values must move.
          if (dtype === 'float16') expect(got.some((g, j) => g !== float[i][j])).toBe(true);
        });
      }
    }
  });

  it('/pooling sends per-token rows as [tokens, width] in bytes', async () => {
    const { h } = setup();
    const float = await post(h, '/pooling', { task: 'token_embed', input: TEXTS[0] });
    const bytes = await post(h, '/pooling', { task: 'token_embed', input: TEXTS[0], encoding_format: 'bytes', embed_dtype: 'float32', endianness: 'big' });
    const item = JSON.parse(bytes.headers.get('metadata')!).data[0];
    expect(item.shape).toStrictEqual([6, 8]);
    expect(floatsOf(bytes.bytes!, 'float32', 'big')).toStrictEqual((float.json.data[0].data as number[][]).flat());
  });
});

describe('API key', () => {
  it('401s missing and wrong keys with vLLM body; /health, /metrics, /version stay open; OPTIONS unguarded', async () => {
    const { h } = setup({ apiKeys: ['sekrit', 'other'], cors: { allowedOrigins: ['http://page.test'] } });
    const none = await post(h, '/v1/embeddings', { input: 'x' });
    expect(none.status).toBe(401);
    expect(none.json).toStrictEqual({ error: 'Unauthorized' });
    expect((await post(h, '/v1/embeddings', { input: 'x' }, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(h, '/v1/embeddings', { input: 'x' }, { authorization: 'Basic sekrit' })).status).toBe(401);
    expect((await post(h, '/v1/embeddings', { input: 'x' }, { authorization: 'Bearer sekrit' })).status).toBe(200);
    expect((await post(h, '/v1/embeddings', { input: 'x' }, { authorization: 'bearer other' })).status).toBe(200);
    expect((await h(new Request('http://x/v1/models'))).status).toBe(401);
    expect((await h(new Request('http://x/nope'))).status).toBe(401);
    for (const open of ['/health', '/metrics', '/version', '/ping']) expect((await h(new Request(`http://x${open}`))).status, open).toBe(200);
    const pre = await h(new Request('http://x/v1/embeddings', { method: 'OPTIONS', headers: { origin: 'http://page.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } }));
    expect(pre.status).toBe(200);
  });
});

describe('CORS', () => {
  const preflight = (h: Handler, origin: string, method = 'POST', headers = 'content-type') =>
    h(new Request('http://x/v1/embeddings', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } }));

  it('answers preflights for allowed origins, methods and headers; refuses the rest; tags answers', async () => {
    const { h } = setup({ cors: { allowedOrigins: ['http://page.test'], allowedMethods: ['POST', 'GET'], allowedHeaders: ['content-type', 'authorization'] } });
    const ok = await preflight(h, 'http://page.test');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://page.test');
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST, GET');
    expect((await preflight(h, 'http://evil.test')).status).toBe(400);
    expect(await (await preflight(h, 'http://evil.test')).text()).toBe('Disallowed CORS origin');
    expect((await preflight(h, 'http://page.test', 'DELETE')).status).toBe(400);
    expect(await (await preflight(h, 'http://page.test', 'POST', 'x-custom')).text()).toBe('Disallowed CORS headers');
    const r = await post(h, '/v1/embeddings', { input: 'x' }, { origin: 'http://page.test' });
    expect(r.headers.get('access-control-allow-origin')).toBe('http://page.test');
    expect(r.headers.get('access-control-expose-headers')).toMatch(/metadata/);
    const other = await post(h, '/v1/embeddings', { input: 'x' }, { origin: 'http://evil.test' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('"*" allows every origin, method and requested header; no cors option sends no CORS headers', async () => {
    const { h } = setup({ cors: { allowedOrigins: ['*'] } });
    const any = await preflight(h, 'http://anything.test', 'PUT', 'x-a, x-b');
    expect(any.status).toBe(200);
    expect(any.headers.get('access-control-allow-origin')).toBe('*');
    expect(any.headers.get('access-control-allow-headers')).toBe('x-a, x-b');
    const { h: plain } = setup();
    const pre = await preflight(plain, 'http://anything.test');
    expect(pre.status).toBe(405);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });
});

/** Parse Prometheus text: series name{labels} → value; checks every line has a known shape. */
function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const types = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
    if (t) {
      types.add(t[1]);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const base = m[1].replace(/_(bucket|sum|count)$/, '');
    if (!types.has(m[1]) && !types.has(base)) throw new Error(`series before its TYPE: ${line}`);
    out.set(m[1] + (m[2] ?? ''), Number(m[3] === '+Inf' ? Infinity : m[3]));
  }
  return out;
}

describe('/metrics', () => {
  it('is Prometheus text whose counters and histograms move with the requests sent', async () => {
    const { h } = setup();
    const scrape = async () => {
      const r = await h(new Request('http://x/metrics'));
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseProm(await r.text());
    };
    const before = await scrape();
    const ok = await post(h, '/v1/embeddings', { input: ['a b', 'c'] });
    await post(h, '/v1/embeddings', { input: 5 });
    await post(h, '/classify', { input: 'x' });
    const after = await scrape();
    const key = (status: number, handler = '/v1/embeddings') => `http_requests_total{handler="${handler}",method="POST",status="${status}"}`;
    expect((after.get(key(200)) ?? 0) - (before.get(key(200)) ?? 0)).toBe(1);
    expect(after.get(key(400))).toBe(1);
    expect(after.get(key(200, '/classify'))).toBe(1);
    expect(after.get('vllm:prompt_tokens_total{model_name="fake"}')).toBe(ok.json.usage.prompt_tokens + 3);
    expect(after.get('http_request_duration_seconds_count{handler="/v1/embeddings",method="POST"}')).toBe(2);
    expect(after.get('http_request_duration_seconds_bucket{handler="/v1/embeddings",method="POST",le="+Inf"}')).toBe(2);
    expect(after.get('vllm:num_requests_waiting{model_name="fake"}')).toBe(0);
    expect(after.get('http_requests_total{handler="/metrics",method="GET",status="200"}')).toBe(1);
  });

  it('reads queue depth from the engine and queue time / batch size from request metadata', async () => {
    const slow = new FakeEngine({ delayMs: 200, metadata: { queueMs: 30, tokenizeMs: 1, inferenceMs: 5, batches: 1, batchSize: 3 } });
    const h = createHandler({ engines: new Map<string, EngineApi>([['slow', slow]]) });
    const pending = post(h, '/v1/embeddings', { input: 'x' });
    await new Promise((r) => setTimeout(r, 50));
    const during = parseProm(await (await h(new Request('http://x/metrics'))).text());
    expect(during.get('vllm:num_requests_waiting{model_name="slow"}')).toBe(1);
    await pending;
    const after = parseProm(await (await h(new Request('http://x/metrics'))).text());
    expect(after.get('vllm:request_queue_time_seconds_bucket{model_name="slow",le="0.025"}')).toBe(0);
    expect(after.get('vllm:request_queue_time_seconds_bucket{model_name="slow",le="0.05"}')).toBe(1);
    expect(after.get('wgpool:request_batch_size_bucket{model_name="slow",le="4"}')).toBe(1);
    expect(after.get('vllm:num_requests_waiting{model_name="slow"}')).toBe(0);
  });

  it("reports each engine's live and pooled GPU buffers when its stats() has them, and no such series when not", async () => {
    class GpuFake extends FakeEngine {
      override stats() {
        return { ...super.stats(), gpuBuffers: { liveBuffers: 12, liveBytes: 4096, pooledFreeBuffers: 3, pooledFreeBytes: 1024 } };
      }
    }
    const h = createHandler({ engines: new Map<string, EngineApi>([['gpu', new GpuFake()], ['plain', new FakeEngine()]]) });
    const m = parseProm(await (await h(new Request('http://x/metrics'))).text());
    expect(m.get('wgpool:gpu_buffers_live{model_name="gpu"}')).toBe(12);
    expect(m.get('wgpool:gpu_bytes_live{model_name="gpu"}')).toBe(4096);
    expect(m.get('wgpool:gpu_buffers_pooled_free{model_name="gpu"}')).toBe(3);
    expect(m.get('wgpool:gpu_bytes_pooled_free{model_name="gpu"}')).toBe(1024);
    expect([...m.keys()].filter((k) => k.startsWith('wgpool:gpu_') && k.includes('"plain"'))).toEqual([]);
  });
});

describe('/version', () => {
  it("answers {version} equal to package.json's", async () => {
    const { h } = setup();
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const r = await h(new Request('http://x/version'));
    expect(await r.json()).toStrictEqual({ version: pkg.version });
    expect(WGPOOL_VERSION).toBe(pkg.version);
  });
});

function l2(v: Float32Array): Float32Array {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}
