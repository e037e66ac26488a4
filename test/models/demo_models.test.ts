// The WordNet demo models shipped under demo/models (trained by tools/train-demo-models) through
// wgpool: embeddings and reranker scores against PyTorch float64 on held-out WordNet texts, and the
// embedder's recall@10 on the committed eval subset against the number in demo/models/eval.json
// (the number the model card quotes for that subset).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';

const MODELS = fileURLToPath(new URL('../../demo/models', import.meta.url));

interface Golden {
  embed: { text: string; input_ids: number[]; embedding: number[] }[];
  rerank: { query: string; document: string; input_ids: number[]; token_type_ids: number[]; logit: number; score: number }[];
  eval_subset: { queries: string[]; candidates: string[]; correct: number[][]; 'recall@10': number };
}
const golden = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/goldens/wordnet-demo-models.json', import.meta.url)), 'utf8')) as Golden;
const evalJson = JSON.parse(readFileSync(`${MODELS}/eval.json`, 'utf8')) as { test_subset: { embedder: { 'recall@10': number; queries: number } } };

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('wordnet-bert-embed', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: `${MODELS}/wordnet-bert-embed` });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('tokenizes the held-out texts as the training tools did', () => {
    for (const c of golden.embed) expect(engine.tokenizer.encode(c.text).ids).toEqual(c.input_ids);
  });

  it('embeds 20 held-out texts as PyTorch does, within 1e-5', async () => {
    expect(engine.info.pooling).toBe('mean');
    expect(engine.info.normalize).toBe(true);
    const res = await engine.embed(golden.embed.map((c) => c.text));
    let err = 0;
    golden.embed.forEach((c, i) => (err = Math.max(err, maxAbs(res.embeddings[i], c.embedding))));
    console.log(`max error wordnet-bert-embed: ${err}`);
    expect(err).toBeLessThan(1e-5);
  });

  it("recall@10 on the committed eval subset equals eval.json's (the model card's) number", async () => {
    const { queries, candidates, correct } = golden.eval_subset;
    const q = (await engine.embed(queries)).embeddings;
    const c = (await engine.embed(candidates)).embeddings;
    let hits = 0;
    q.forEach((qv, i) => {
      const sims = c.map((cv) => cv.reduce((s, v, k) => s + v * qv[k], 0));
      const best = Math.max(...correct[i].map((j) => sims[j]));
      const rank = sims.filter((s) => s > best).length + 1;
      if (rank <= 10) hits++;
    });
    const recall = hits / queries.length;
    console.log(`wordnet-bert-embed recall@10 on ${queries.length} subset queries: ${recall}`);
    expect(queries.length).toBe(evalJson.test_subset.embedder.queries);
    expect(recall).toBe(evalJson.test_subset.embedder['recall@10']);
    expect(recall).toBe(golden.eval_subset['recall@10']);
  });
});

describe('wordnet-bert-rerank', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: `${MODELS}/wordnet-bert-rerank` });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('tokenizes (description, lemma) pairs as the training tools did', () => {
    for (const c of golden.rerank) {
      const enc = engine.tokenizer.encode(c.query, c.document);
      expect(enc.ids).toEqual(c.input_ids);
    }
  });

  it('scores 20 held-out pairs as PyTorch does (sigmoid), within 1e-5', async () => {
    const res = await engine.score(golden.rerank.map((c) => c.query), golden.rerank.map((c) => c.document));
    const err = maxAbs(res.scores, golden.rerank.map((c) => c.score));
    console.log(`max error wordnet-bert-rerank: ${err}`);
    expect(err).toBeLessThan(1e-5);
  });
});
