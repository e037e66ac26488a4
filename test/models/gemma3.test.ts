// EmbeddingGemma (Gemma3TextModel, bidirectional) against the float64 oracle through the public API:
// the body (sandwich (1 + w) RMSNorms, q/k norms, √hidden embedding scale, query_pre_attn_scalar,
// sliding layers |q − k| ≤ 8 on cases up to 77 tokens, local/global RoPE bases, GQA, tanh GeGLU) and
// the sentence-transformers pipeline mean → Dense 64→128 → Dense 128→64 → Normalize, with prompts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { describeBackends } from '../helpers/backends';
import { fixtureDir } from '../helpers/fixtures';
import { TOL } from '../helpers/golden_checks';
import { flat, loadGoldenOf, type EmbedCase } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';

// The bars of every golden suite, Node and Chromium (test/helpers/golden_checks.ts).
const TOL_HIDDEN = TOL.hidden;
const TOL_DENSE = TOL.dense;
const TOL_NORMALIZED = TOL.normalized;
const TOL_BATCH = TOL.batch;

type GemmaCase = EmbedCase & { dense_outputs: Record<'2_Dense' | '3_Dense', number[]> };

describeBackends('tiny-gemma3-embed', (backend) => {
  const golden = loadGoldenOf('tiny-gemma3-embed', 'embed');
  const cases = golden.cases as GemmaCase[];
  const texts = cases.map((c) => c.text);
  const errors: Record<string, number> = {};
  const record = (what: string, err: number) => (errors[what] = Math.max(errors[what] ?? 0, err));
  let engine: Engine;

  beforeAll(async () => {
    engine = await createEngine({ model: fixtureDir('tiny-gemma3-embed'), backend });
  });
  afterAll(async () => {
    await engine?.dispose();
    console.log(`max errors tiny-gemma3-embed [${backend}]: ${JSON.stringify(errors)}`);
  });

  it('tokenizes as the golden and resolves the pipeline (mean, two Dense, normalize, prompts)', () => {
    for (const c of cases) expect(engine.tokenizer.encode(c.text).ids).toEqual(c.input_ids);
    expect(engine.info).toMatchObject({ architecture: 'Gemma3TextModel', pooling: 'mean', normalize: true, hiddenSize: 64, embeddingSize: 64 });
    expect(engine.info.prompts.query).toBe('task: search result | query: ');
  });

  it('per-token hidden states match (one packed batch, longer than the sliding window)', async () => {
    const res = await engine.encode(texts, { task: 'token_embed', useActivation: false });
    cases.forEach((c, i) => {
      const err = maxAbsDiff(flat(res.data[i].map((r) => Array.from(r))), flat(c.last_hidden_state));
      record('hidden', err);
      expect(err, c.text).toBeLessThan(TOL_HIDDEN);
    });
  });

  it('the Dense pipeline output (normalize off) and the normalized embeddings match', async () => {
    const raw = await engine.embed(texts, { normalize: false });
    const normed = await engine.embed(texts);
    cases.forEach((c, i) => {
      const errD = maxAbsDiff(raw.embeddings[i], c.dense_outputs['3_Dense']);
      const errE = maxAbsDiff(normed.embeddings[i], c.embedding);
      record('dense_outputs.3_Dense', errD);
      record('embedding', errE);
      expect(errD, c.text).toBeLessThan(TOL_DENSE);
      expect(errE, c.text).toBeLessThan(TOL_NORMALIZED);
    });
  });

  it('prompt_name prepends the sentence-transformers prompt (query, document)', async () => {
    const query = cases.find((c) => c.text === `${engine.info.prompts.query}${cases[3].text}`)!;
    const doc = cases.find((c) => c.text.startsWith(engine.info.prompts.document))!;
    expect(query).toBeDefined();
    expect(doc).toBeDefined();
    const q = await engine.embed(cases[3].text, { promptName: 'query' });
    const d = await engine.embed(doc.text.slice(engine.info.prompts.document.length), { promptName: 'document' });
    record('embedding.prompt', Math.max(maxAbsDiff(q.embeddings[0], query.embedding), maxAbsDiff(d.embeddings[0], doc.embedding)));
    expect(maxAbsDiff(q.embeddings[0], query.embedding)).toBeLessThan(TOL_NORMALIZED);
    expect(maxAbsDiff(d.embeddings[0], doc.embedding)).toBeLessThan(TOL_NORMALIZED);
  });

  it('refuses dimensions: config.json declares no matryoshka', async () => {
    await expect(engine.embed('hi', { dimensions: 16 })).rejects.toThrow(/does not support matryoshka representation/);
  });

  it('batch invariance: each case alone equals the same case inside the mixed batch', async () => {
    const together = await engine.embed(texts);
    for (let i = 0; i < texts.length; i++) {
      const alone = await engine.embed(texts[i]);
      const err = maxAbsDiff(alone.embeddings[0], together.embeddings[i]);
      record('batch_invariance', err);
      expect(err).toBeLessThan(TOL_BATCH);
    }
  });
});
