// `wgpool serve` for real: the bundled CLI started as a child process on loopback with four fixture
// models, called with the official `openai` client and plain fetch; answers checked against the
// float64 goldens; a table of bad requests; then SIGTERM and a clean exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir } from '../helpers/fixtures';
import { loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';
import { decodeNumbers } from '../../src/serve/encoding';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHAT_FIXTURE = fileURLToPath(new URL('../fixtures/chat/tiny-qwen3-embed-chat', import.meta.url));
const KEY = 'sekrit';
const embedG = loadGoldenOf('tiny-bert-embed', 'embed');
const crossG = loadGoldenOf('tiny-bert-crossenc', 'score');
const clsG = loadGoldenOf('tiny-bert-seqcls', 'seqcls');
const tokG = loadGoldenOf('tiny-bert-tokcls', 'tokcls');

let child: ChildProcess;
let base: string;
let stdout = '';
let exit: Promise<number | null>;

beforeAll(async () => {
  const built = spawnSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build:cli failed: ${built.stderr}`);
  child = spawn(
    process.execPath,
    [
      'bin/wgpool.mjs', 'serve',
      '--model', fixtureDir('tiny-bert-embed'), '--served-model-name', 'embedder',
      '--model', fixtureDir('tiny-bert-crossenc'), '--served-model-name', 'reranker',
      '--model', fixtureDir('tiny-bert-seqcls'), '--served-model-name', 'sentiment',
      '--model', fixtureDir('tiny-bert-tokcls'), '--served-model-name', 'ner',
      '--model', CHAT_FIXTURE, '--served-model-name', 'chat',
      // Merged into every config.json before loading: the embedder then lists only 32 and 64.
      '--hf-overrides', '{"matryoshka_dimensions":[32,64]}',
      '--api-key', KEY,
      '--port', '0', '--max-body-bytes', '65536', '-q',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr!.on('data', (d) => (stdout += d));
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line:\n${stdout}`)), 230_000);
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`wgpool serve exited with ${code}:\n${stdout}`)));
  });
  // Five models, each compiling its pipelines on a software adapter: past 110 s on a loaded 2-core machine.
}, 240_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

async function post(path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }, auth = `Bearer ${KEY}`) {
  const res = await fetch(base + path, { method: 'POST', headers: { ...headers, ...(auth ? { authorization: auth } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
}

async function postBytes(path: string, body: unknown) {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

describe('wgpool serve (real engines, loopback)', () => {
  it('prints one startup line naming the models and the adapter', () => {
    const lines = stdout.split('\n').filter((l) => l.includes('http://127.0.0.1'));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/embedder/);
    expect(lines[0].toLowerCase()).toMatch(/swiftshader|adapter/);
  });

  it('openai embeddings.create: float, base64 and dimensions give the golden vectors', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY });
    const texts = embedG.cases.map((c) => c.text);
    const float = await client.embeddings.create({ model: 'embedder', input: texts, encoding_format: 'float' });
    float.data.forEach((d, i) => expect(maxAbsDiff(d.embedding, embedG.cases[i].embedding)).toBeLessThan(1e-5));
    expect(float.usage.prompt_tokens).toBe(embedG.cases.reduce((s, c) => s + c.input_ids.length, 0));
    // The client's default asks for base64 and decodes it.
    const b64 = await client.embeddings.create({ model: 'embedder', input: texts });
    b64.data.forEach((d, i) => expect(maxAbsDiff(d.embedding, embedG.cases[i].embedding)).toBeLessThan(1e-5));
    const m = await client.embeddings.create({ model: 'embedder', input: texts[3], dimensions: 32, encoding_format: 'float' });
    expect(m.data[0].embedding.length).toBe(32);
    expect(maxAbsDiff(m.data[0].embedding, embedG.cases[3].matryoshka['32'])).toBeLessThan(1e-5);
    const models = await client.models.list();
    expect(models.data.map((x) => x.id).sort()).toEqual(['chat', 'embedder', 'ner', 'reranker', 'sentiment']);
  });

  it('/score, /rerank, /classify and /pooling give the golden numbers', async () => {
    const score = await post('/score', { model: 'reranker', text_1: crossG.cases[0].text, text_2: [crossG.cases[0].text_pair, crossG.cases[1].text_pair] });
    expect(score.status).toBe(200);
    expect(Math.abs(score.json.data[0].score - crossG.cases[0].probs)).toBeLessThan(1e-5);
    expect(Math.abs(score.json.data[1].score - crossG.cases[1].probs)).toBeLessThan(1e-5);

    const rerank = await post('/v1/rerank', { model: 'reranker', query: crossG.cases[0].text, documents: [crossG.cases[1].text_pair, crossG.cases[0].text_pair], top_n: 2 });
    expect(rerank.status).toBe(200);
    const byIndex = new Map(rerank.json.results.map((r: { index: number; relevance_score: number }) => [r.index, r.relevance_score]));
    expect(Math.abs((byIndex.get(0) as number) - crossG.cases[1].probs)).toBeLessThan(1e-5);
    expect(Math.abs((byIndex.get(1) as number) - crossG.cases[0].probs)).toBeLessThan(1e-5);
    expect(rerank.json.results[0].relevance_score).toBeGreaterThanOrEqual(rerank.json.results[1].relevance_score);

    const cls = await post('/classify', { model: 'sentiment', input: clsG.cases.map((c) => c.text) });
    expect(cls.status).toBe(200);
    cls.json.data.forEach((d: { probs: number[]; label: string }, i: number) => {
      expect(maxAbsDiff(d.probs, clsG.cases[i].probs)).toBeLessThan(1e-5);
      expect(d.label).toBe(clsG.cases[i].predicted_label);
    });

    const pool = await post('/pooling', { model: 'ner', task: 'token_classify', input: tokG.cases[6].text });
    expect(pool.status).toBe(200);
    const rows = pool.json.data[0].data as number[][];
    expect(rows.length).toBe(tokG.cases[6].input_ids.length);
    rows.forEach((r, t) => expect(maxAbsDiff(r, tokG.cases[6].probs[t])).toBeLessThan(1e-5));

    const pe = await post('/pooling', { model: 'embedder', task: 'embed', input: [embedG.cases[5].text] });
    expect(maxAbsDiff(pe.json.data[0].data, embedG.cases[5].embedding)).toBeLessThan(1e-5);
  });

  const bad: [string, string, () => Promise<{ status: number; json: { object?: string; message?: string; code?: number } | null }>, number][] = [
    ['malformed JSON', 'embeddings', () => post('/v1/embeddings', '{"model": "embedder", "input": '), 400],
    ['input of the wrong type', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: { text: 'x' } }), 400],
    ['empty input list', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: [] }), 400],
    ['dimensions not listed by the model', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: 'x', dimensions: 20 }), 400],
    ['a token id out of vocabulary', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: [101, 999999] }), 400],
    ['the removed normalize', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: 'x', normalize: false }), 400],
    ['messages to a model without a chat template', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', messages: [{ role: 'user', content: 'x' }] }), 400],
    ['rerank documents as a string', 'rerank', () => post('/rerank', { model: 'reranker', query: 'q', documents: 'd' }), 400],
    ['dimensions on a non-matryoshka model', 'pooling', () => post('/pooling', { model: 'sentiment', task: 'classify', input: 'x', dimensions: 16 }), 400],
    ['dimensions of the wrong type', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: 'x', dimensions: 'big' }), 400],
    ['unknown encoding_format', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: 'x', encoding_format: 'int4' }), 400],
    ['too-long input', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: 'word '.repeat(600) }), 400],
    ['bad truncate_prompt_tokens', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: 'x', truncate_prompt_tokens: 0 }), 400],
    ['unknown pooling task', 'pooling', () => post('/pooling', { model: 'embedder', task: 'generate', input: 'x' }), 400],
    ['a task the model does not serve', 'classify', () => post('/classify', { model: 'embedder', input: 'x' }), 400],
    ['score with mismatched lengths', 'score', () => post('/score', { model: 'reranker', text_1: ['a', 'b'], text_2: ['a', 'b', 'c'] }), 400],
    ['rerank without documents', 'rerank', () => post('/rerank', { model: 'reranker', query: 'q' }), 400],
    ['rerank with a negative top_n', 'rerank', () => post('/rerank', { model: 'reranker', query: 'q', documents: ['d'], top_n: -1 }), 400],
    ['use_activation of the wrong type', 'classify', () => post('/classify', { model: 'sentiment', input: 'x', use_activation: 'yes' }), 400],
    ['non-JSON content type', 'embeddings', () => post('/v1/embeddings', 'input=x', { 'content-type': 'application/x-www-form-urlencoded' }), 400],
    ['oversized body', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: 'x'.repeat(70_000) }), 413],
    ['unknown model', 'embeddings', () => post('/v1/embeddings', { model: 'gpt-9', input: 'x' }), 404],
    ['unknown route', 'route', () => post('/v1/completions', { model: 'embedder', prompt: 'x' }), 404],
    ['wrong method', 'method', async () => {
      const res = await fetch(`${base}/v1/embeddings`, { headers: { authorization: `Bearer ${KEY}` } });
      return { status: res.status, json: await res.json() };
    }, 405],
  ];

  it(`answers ${bad.length} bad requests with the right status and a vLLM error body, and keeps serving`, async () => {
    expect(bad.length).toBeGreaterThanOrEqual(20);
    for (const [what, , call, status] of bad) {
      const res = await call();
      expect(res.status, what).toBe(status);
      expect(res.json?.object, what).toBe('error');
      expect(res.json?.code, what).toBe(status);
      expect(typeof res.json?.message, what).toBe('string');
    }
    const ok = await post('/v1/embeddings', { model: 'embedder', input: embedG.cases[2].text });
    expect(ok.status).toBe(200);
    expect(maxAbsDiff(ok.json.data[0].embedding, embedG.cases[2].embedding)).toBeLessThan(1e-5);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
  });

  it('token ids from /tokenize round-trip to the golden embeddings; usage counts them', async () => {
    const ids: number[][] = [];
    for (const c of embedG.cases) {
      const t = await post('/tokenize', { model: 'embedder', prompt: c.text });
      expect(t.json.tokens).toStrictEqual(c.input_ids);
      ids.push(t.json.tokens);
    }
    const r = await post('/v1/embeddings', { model: 'embedder', input: ids });
    expect(r.status).toBe(200);
    r.json.data.forEach((d: { embedding: number[] }, i: number) => expect(maxAbsDiff(d.embedding, embedG.cases[i].embedding)).toBeLessThan(1e-5));
    expect(r.json.usage.prompt_tokens).toBe(ids.flat().length);
    const one = await post('/pooling', { model: 'embedder', task: 'embed', input: ids[4] });
    expect(maxAbsDiff(one.json.data[0].data, embedG.cases[4].embedding)).toBeLessThan(1e-5);
    const cls = await post('/classify', { model: 'sentiment', input: clsG.cases.map((c) => c.input_ids) });
    cls.json.data.forEach((d: { probs: number[] }, i: number) => expect(maxAbsDiff(d.probs, clsG.cases[i].probs)).toBeLessThan(1e-5));
    const bare = await post('/v1/embeddings', { model: 'embedder', input: embedG.cases[0].text, add_special_tokens: false });
    expect(bare.json.usage.prompt_tokens).toBe(embedG.cases[0].input_ids.length - 2);
  });

  it('messages embed exactly as the text the chat template renders', async () => {
    const messages = [
      { role: 'system', content: 'Answer briefly.' },
      { role: 'user', content: [{ type: 'text', text: 'What is' }, { type: 'text', text: 'a pooling model?' }] },
    ];
    const rendered = '<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nWhat is\na pooling model?<|im_end|>\n';
    const tm = await post('/tokenize', { model: 'chat', messages, add_generation_prompt: false });
    const tp = await post('/tokenize', { model: 'chat', prompt: rendered, add_special_tokens: false });
    expect(tm.status).toBe(200);
    expect(tm.json.tokens).toStrictEqual(tp.json.tokens);
    const withPrompt = await post('/tokenize', { model: 'chat', messages });
    expect(withPrompt.json.count).toBeGreaterThan(tm.json.count); // add_generation_prompt defaults to true on /tokenize
    const chat = await post('/v1/embeddings', { model: 'chat', messages });
    const text = await post('/v1/embeddings', { model: 'chat', input: rendered, add_special_tokens: false });
    expect(chat.status).toBe(200);
    expect(maxAbsDiff(chat.json.data[0].embedding, text.json.data[0].embedding)).toBeLessThan(1e-6);
    expect(chat.json.usage.prompt_tokens).toBe(tm.json.count);
    const thinking = await post('/tokenize', { model: 'chat', messages, chat_template_kwargs: { enable_thinking: false }, return_token_strs: true });
    expect(thinking.json.token_strs.join('')).toMatch(/<think>/);
  });

  it('bytes / bytes_only decode to the golden floats; float16 / bfloat16 equal the float answer rounded', async () => {
    const texts = embedG.cases.map((c) => c.text);
    const b = await postBytes('/v1/embeddings', { model: 'embedder', input: texts, encoding_format: 'bytes' });
    expect(b.headers.get('content-type')).toBe('application/octet-stream');
    const meta = JSON.parse(b.headers.get('metadata')!);
    expect(meta.model).toBe('embedder');
    meta.data.forEach((it: { start: number; end: number; shape: number[] }, i: number) => {
      expect(it.shape).toStrictEqual([embedG.cases[i].embedding.length]);
      expect(maxAbsDiff(Array.from(decodeNumbers(b.bytes.subarray(it.start, it.end), 'float32', 'native')), embedG.cases[i].embedding)).toBeLessThan(1e-5);
    });
    const only = await postBytes('/v1/embeddings', { model: 'embedder', input: texts, encoding_format: 'bytes_only', embed_dtype: 'bfloat16', endianness: 'big' });
    expect(only.headers.get('metadata')).toBeNull();
    const float = (await post('/v1/embeddings', { model: 'embedder', input: texts })).json.data.map((d: { embedding: number[] }) => d.embedding) as number[][];
    const dim = float[0].length;
    const bf = Array.from(decodeNumbers(only.bytes, 'bfloat16', 'big'));
    expect(bf.length).toBe(texts.length * dim);
    bf.forEach((x, k) => expect(Math.abs(x - float[Math.floor(k / dim)][k % dim])).toBeLessThanOrEqual(2 ** -8 * Math.abs(float[Math.floor(k / dim)][k % dim])));
    const f16 = await post('/v1/embeddings', { model: 'embedder', input: texts, encoding_format: 'base64', embed_dtype: 'float16' });
    f16.json.data.forEach((d: { embedding: string }, i: number) => {
      const v = Array.from(decodeNumbers(Uint8Array.from(Buffer.from(d.embedding, 'base64')), 'float16', 'native'));
      v.forEach((x, j) => expect(Math.abs(x - float[i][j])).toBeLessThanOrEqual(2 ** -11 * Math.abs(float[i][j]) + 2 ** -25));
    });
    const tok = await postBytes('/pooling', { model: 'ner', task: 'token_classify', input: tokG.cases[6].text, encoding_format: 'bytes' });
    const shape = JSON.parse(tok.headers.get('metadata')!).data[0].shape;
    expect(shape).toStrictEqual([tokG.cases[6].input_ids.length, tokG.cases[6].probs[0].length]);
    expect(maxAbsDiff(Array.from(decodeNumbers(tok.bytes, 'float32', 'native')), tokG.cases[6].probs.flat())).toBeLessThan(1e-5);
  });

  it('--hf-overrides reached config.json before the model loaded', async () => {
    const r = await post('/v1/embeddings', { model: 'embedder', input: 'x', dimensions: 16 });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/^Model ".+tiny-bert-embed" only supports \[32, 64\] matryoshka dimensions, use other output dimensions will lead to poor results\.$/);
    const ok = await post('/v1/embeddings', { model: 'embedder', input: embedG.cases[3].text, dimensions: 32 });
    expect(maxAbsDiff(ok.json.data[0].embedding, embedG.cases[3].matryoshka['32'])).toBeLessThan(1e-5);
  });

  it('max_tokens_per_doc caps each document before the pair is built', async () => {
    const q = crossG.cases[0].text;
    const d = crossG.cases[0].text_pair;
    const nq = (await post('/tokenize', { model: 'reranker', prompt: q, add_special_tokens: false })).json.count;
    const nd = (await post('/tokenize', { model: 'reranker', prompt: d, add_special_tokens: false })).json.count;
    expect(nd).toBeGreaterThan(2);
    const full = await post('/score', { model: 'reranker', queries: q, documents: [d] });
    const capped = await post('/rerank', { model: 'reranker', query: q, documents: [d], max_tokens_per_doc: 2, max_tokens_per_query: nq });
    expect(full.json.usage.prompt_tokens).toBe(nq + nd + 3);
    expect(capped.json.usage.prompt_tokens).toBe(nq + 2 + 3);
    expect(capped.json.results[0].relevance_score).not.toBe(full.json.data[0].score);
  });

  it('--api-key: missing or wrong keys get 401 with vLLM body; /health, /version and /metrics stay open; /metrics counts', async () => {
    const none = await post('/v1/embeddings', { model: 'embedder', input: 'x' }, undefined, '');
    expect(none.status).toBe(401);
    expect(none.json).toStrictEqual({ error: 'Unauthorized' });
    expect((await post('/v1/embeddings', { model: 'embedder', input: 'x' }, undefined, 'Bearer nope')).status).toBe(401);
    expect((await fetch(`${base}/v1/models`)).status).toBe(401);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(await (await fetch(`${base}/version`)).json()).toHaveProperty('version');
    const m1 = await (await fetch(`${base}/metrics`)).text();
    await post('/v1/embeddings', { model: 'embedder', input: 'count me' });
    const m2 = await (await fetch(`${base}/metrics`)).text();
    const ok = (t: string) => Number(/http_requests_total\{handler="\/v1\/embeddings",method="POST",status="200"\} (\d+)/.exec(t)?.[1] ?? 0);
    expect(ok(m2) - ok(m1)).toBe(1);
    expect(Number(/http_requests_total\{handler="\/v1\/embeddings",method="POST",status="401"\} (\d+)/.exec(m2)?.[1])).toBeGreaterThanOrEqual(2);
    expect(m2).toMatch(/^vllm:prompt_tokens_total\{model_name="embedder"\} \d+$/m);
    expect(m2).toMatch(/^vllm:num_requests_waiting\{model_name="embedder"\} 0$/m);
    expect(m2).toMatch(/^vllm:request_queue_time_seconds_count\{model_name="embedder"\} \d+$/m);
    expect(m2).toMatch(/^wgpool:mean_batch_fill\{model_name="embedder"\} [0-9.e-]+$/m);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});

describe('wgpool serve without a GPU driver', () => {
  it('fails with a message that says how to get WebGPU in Node', () => {
    const env = { ...process.env };
    delete env.VK_ICD_FILENAMES;
    const run = spawnSync(process.execPath, ['bin/wgpool.mjs', 'serve', '--model', fixtureDir('tiny-bert-embed'), '--port', '0'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    if (run.status === 0 || /http:\/\/127\.0\.0\.1/.test(run.stdout)) {
      // A machine with a real Vulkan driver finds an adapter without help; nothing to check there.
      expect(existsSync('/usr/share/vulkan/icd.d') || existsSync('/etc/vulkan/icd.d')).toBe(true);
      return;
    }
    expect(run.status).not.toBe(0);
    expect(run.stderr + run.stdout).toMatch(/VK_ICD_FILENAMES is unset/);
    expect(run.stderr + run.stdout).toMatch(/vk_swiftshader_icd\.json/);
  }, 90_000);
});
