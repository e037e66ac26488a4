// The issue-18 architectures (DistilBERT, Qwen2 causal / bidirectional, Llama, NomicBert) through the
// HTTP handler with real engines, as BERT is in serve.test.ts: every task each model serves, answered
// with the golden numbers, and the tasks it does not serve refused with a vLLM error body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { createHandler, type Handler } from '../../src/serve/handler';
import { fixtureDir, type FixtureName } from '../helpers/fixtures';
import { loadGolden } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';

const EMBEDDERS: FixtureName[] = ['tiny-distilbert-embed', 'tiny-qwen2-embed', 'tiny-qwen2-bidir-embed', 'tiny-nomic-embed'];
const CLASSIFIERS: FixtureName[] = ['tiny-distilbert-seqcls', 'tiny-llama-seqcls'];

const engines = new Map<string, Engine>();
let handler: Handler;
beforeAll(async () => {
  for (const name of [...EMBEDDERS, ...CLASSIFIERS]) engines.set(name, await createEngine({ model: fixtureDir(name), servedModelName: name }));
  handler = createHandler({ engines });
}, 300_000);
afterAll(async () => {
  for (const e of engines.values()) await e.dispose();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await handler(new Request(`http://wgpool.test${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
  return { status: res.status, json: await res.json() };
}

for (const model of EMBEDDERS) {
  describe(`${model} over HTTP`, () => {
    const g = loadGolden(model);
    if (g.kind !== 'embed') throw new Error(`${model} is not an embed golden`);
    const texts = g.cases.map((c) => c.text);

    it('/v1/embeddings, /pooling token_embed and bi-encoder /score give the golden numbers', async () => {
      const emb = await post('/v1/embeddings', { model, input: texts, encoding_format: 'float' });
      expect(emb.status).toBe(200);
      emb.json.data.forEach((d: { embedding: number[] }, i: number) => expect(maxAbsDiff(d.embedding, g.cases[i].embedding)).toBeLessThan(1e-5));
      expect(emb.json.usage.prompt_tokens).toBe(g.cases.reduce((s, c) => s + c.input_ids.length, 0));

      const tok = await post('/pooling', { model, task: 'token_embed', input: texts[3], use_activation: false });
      expect(tok.status).toBe(200);
      const rows = tok.json.data[0].data as number[][];
      expect(rows.length).toBe(g.cases[3].input_ids.length);
      rows.forEach((r, t) => expect(maxAbsDiff(r, g.cases[3].last_hidden_state[t])).toBeLessThan(1e-4));

      const score = await post('/score', { model, text_1: texts[2], text_2: [texts[3], texts[6]] });
      expect(score.status).toBe(200);
      const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
      expect(Math.abs(score.json.data[0].score - cos(g.cases[2].embedding, g.cases[3].embedding))).toBeLessThan(1e-5);
      expect(Math.abs(score.json.data[1].score - cos(g.cases[2].embedding, g.cases[6].embedding))).toBeLessThan(1e-5);
    });

    it('refuses classify and (no matryoshka declared) dimensions with vLLM error bodies', async () => {
      const cls = await post('/classify', { model, input: 'x' });
      expect(cls.status).toBe(400);
      expect(cls.json).toMatchObject({ object: 'error', type: 'BadRequestError', code: 400 });
      const dims = await post('/v1/embeddings', { model, input: 'x', dimensions: 16 });
      expect(dims.status).toBe(400);
      expect(dims.json.message).toContain('does not support matryoshka representation');
    });
  });
}

for (const model of CLASSIFIERS) {
  describe(`${model} over HTTP`, () => {
    const g = loadGolden(model);
    if (g.kind !== 'seqcls') throw new Error(`${model} is not a seqcls golden`);

    it('/classify and /pooling classify give the golden probabilities and labels; embed is refused', async () => {
      const cls = await post('/classify', { model, input: g.cases.map((c) => c.text) });
      expect(cls.status).toBe(200);
      cls.json.data.forEach((d: { probs: number[]; label: string }, i: number) => {
        expect(maxAbsDiff(d.probs, g.cases[i].probs)).toBeLessThan(1e-5);
        expect(d.label).toBe(g.cases[i].predicted_label);
      });
      const pool = await post('/pooling', { model, task: 'classify', input: g.cases[4].text, use_activation: false });
      expect(pool.status).toBe(200);
      expect(maxAbsDiff(pool.json.data[0].data, g.cases[4].logits)).toBeLessThan(1e-4);
      const emb = await post('/v1/embeddings', { model, input: 'x' });
      expect(emb.status).toBe(400);
      expect(emb.json).toMatchObject({ object: 'error', code: 400 });
      expect(emb.json.message).toMatch(/does not support Embeddings/);
    });
  });
}
