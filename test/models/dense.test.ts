// A sentence-transformers pipeline with a Dense module (mean Pooling → Dense 64→32 + tanh →
// Normalize) against float64 goldens from tools/make_extra_fixtures.py: Dense runs on the GPU
// between pooling and the matryoshka slice + normalize.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { describeBackends } from '../helpers/backends';
import { maxAbsDiff } from '../helpers/random';

const DIR = fileURLToPath(new URL('../fixtures/models/tiny-bert-dense-embed', import.meta.url));
interface Case { text: string; input_ids: number[]; dense: number[]; embedding: number[]; matryoshka: Record<string, number[]> }
const golden = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/goldens/tiny-bert-dense-embed.json', import.meta.url)), 'utf8')) as { cases: Case[] };
const texts = golden.cases.map((c) => c.text);

describeBackends('tiny-bert-dense-embed (Pooling → Dense → Normalize)', (backend) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: DIR, backend });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('reports the Dense output as the embedding size', () => {
    expect(engine.info.hiddenSize).toBe(64);
    expect(engine.info.embeddingSize).toBe(32);
  });

  it('embeddings, un-normalized Dense outputs and matryoshka 16 match the goldens', async () => {
    const e = await engine.embed(texts);
    const raw = await engine.embed(texts, { normalize: false });
    const m = await engine.embed(texts, { dimensions: 16 });
    let errE = 0;
    let errD = 0;
    let errM = 0;
    golden.cases.forEach((c, i) => {
      expect(e.embeddings[i].length).toBe(32);
      errE = Math.max(errE, maxAbsDiff(e.embeddings[i], c.embedding));
      errD = Math.max(errD, maxAbsDiff(raw.embeddings[i], c.dense));
      errM = Math.max(errM, maxAbsDiff(m.embeddings[i], c.matryoshka['16']));
    });
    console.log(`max errors tiny-bert-dense-embed: embedding ${errE}, dense ${errD}, matryoshka.16 ${errM}`);
    expect(errE).toBeLessThan(1e-5);
    expect(errD).toBeLessThan(1e-4);
    expect(errM).toBeLessThan(1e-5);
  });

  it('dimensions are checked against the Dense output, and batch invariance holds', async () => {
    await expect(engine.embed('x', { dimensions: 64 })).rejects.toThrow(/only supports \[16, 32\]/);
    const together = await engine.embed(texts);
    for (let i = 0; i < texts.length; i++) {
      const alone = await engine.embed(texts[i]);
      expect(maxAbsDiff(alone.embeddings[0], together.embeddings[i])).toBeLessThan(1e-5);
    }
  });
});
