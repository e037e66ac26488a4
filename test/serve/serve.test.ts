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

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
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
      '--port', '0', '--max-body-bytes', '65536', '-q',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr!.on('data', (d) => (stdout += d));
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line:\n${stdout}`)), 110_000);
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
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

async function post(path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(base + path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
}

describe('wgpool serve (real engines, loopback)', () => {
  it('prints one startup line naming the models and the adapter', () => {
    const lines = stdout.split('\n').filter((l) => l.includes('http://127.0.0.1'));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/embedder/);
    expect(lines[0].toLowerCase()).toMatch(/swiftshader|adapter/);
  });

  it('openai embeddings.create: float, base64 and dimensions give the golden vectors', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' });
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
    expect(models.data.map((x) => x.id).sort()).toEqual(['embedder', 'ner', 'reranker', 'sentiment']);
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
      const res = await fetch(`${base}/v1/embeddings`);
      return { status: res.status, json: await res.json() };
    }, 405],
    ['token-id input', 'embeddings', () => post('/v1/embeddings', { model: 'embedder', input: [101, 102] }), 400],
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
