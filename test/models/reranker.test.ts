// A causal-LM reranker scored the vLLM way (classifier_from_token ["no", "yes"]: sigmoid of the
// yes − no logits at the last token), against float64 scores from tools/make_extra_fixtures.py.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { describeBackends } from '../helpers/backends';

const DIR = fileURLToPath(new URL('../fixtures/models/tiny-qwen3-reranker', import.meta.url));
interface Case { text: string; text_pair: string; input_ids: number[]; logit: number; score: number }
const golden = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/goldens/tiny-qwen3-reranker.json', import.meta.url)), 'utf8')) as { cases: Case[] };
const q = golden.cases.map((c) => c.text);
const d = golden.cases.map((c) => c.text_pair);

describeBackends('tiny-qwen3-reranker (Qwen3ForCausalLM + classifier_from_token)', (backend) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: DIR, classifierFromToken: ['no', 'yes'], backend });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('serves score (and 1-label classify), not embed', async () => {
    expect(engine.info.tasks).toEqual(['classify', 'score']);
    await expect(engine.embed('x')).rejects.toThrow(/not supported/);
  });

  it('pairs tokenize as the golden (A <|im_end|> B <|im_end|>)', () => {
    for (const c of golden.cases) expect(engine.tokenizer.encode(c.text, c.text_pair).ids).toEqual(c.input_ids);
  });

  it('scores = sigmoid(yes − no) within 1e-5; logits within 1e-4 with use_activation false', async () => {
    const s = await engine.score(q, d);
    const l = await engine.score(q, d, { useActivation: false });
    let maxS = 0;
    let maxL = 0;
    golden.cases.forEach((c, i) => {
      maxS = Math.max(maxS, Math.abs(s.scores[i] - c.score));
      maxL = Math.max(maxL, Math.abs(l.scores[i] - c.logit));
    });
    console.log(`max errors tiny-qwen3-reranker: score ${maxS}, logit ${maxL}`);
    expect(maxS).toBeLessThan(1e-5);
    expect(maxL).toBeLessThan(1e-4);
  });

  it('rerank orders documents by the golden scores', async () => {
    const docs = [d[1], d[0], d[6]];
    // Cases 0 and 1 share their query, so their golden scores apply to a 1→N rerank; case 6's
    // document joins as a third candidate with no golden of its own.
    const want = [golden.cases[1].score, golden.cases[0].score];
    const res = await engine.rerank(q[0], docs);
    const order = res.results.map((r) => r.index);
    const scores = await engine.score(q[0], docs);
    expect(order).toEqual([0, 1, 2].sort((a, b) => scores.scores[b] - scores.scores[a]));
    expect(Math.abs(scores.scores[0] - want[0])).toBeLessThan(1e-5);
    expect(Math.abs(scores.scores[1] - want[1])).toBeLessThan(1e-5);
  });

  it('without classifier_from_token the same checkpoint is a last-token embedder', async () => {
    const plain = await createEngine({ model: DIR, backend });
    try {
      expect(plain.info.tasks).toEqual(['embed', 'token_embed', 'score']);
      expect(plain.info.pooling).toBe('last');
      const e = await plain.embed('hello');
      expect(e.embeddings[0].length).toBe(64);
    } finally {
      await plain.dispose();
    }
  });
});
