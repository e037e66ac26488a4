// NomicBert (nomic-embed-text v1.5) beyond the shared embedder table of embed.test.ts: its prompts,
// its model length (vLLM caps it at max_trained_positions), and matryoshka. config.json declares no
// matryoshka, so `dimensions` is refused as vLLM refuses it; the model card's recipe (layer_norm over
// the pooled vector, truncate, normalize) is reproduced here from the un-normalized embedding, which
// is how a caller gets the card's vectors (README: "NomicBert and matryoshka").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { fixtureDir } from '../helpers/fixtures';
import { cardMatryoshka } from '../helpers/golden_checks';
import { loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';

const golden = loadGoldenOf('tiny-nomic-embed', 'embed');
let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ model: fixtureDir('tiny-nomic-embed') });
});
afterAll(async () => {
  await engine?.dispose();
});

describe('tiny-nomic-embed', () => {
  it('reads the prompts of config_sentence_transformers.json; a prompt name equals the prefixed text', async () => {
    expect(engine.info.prompts).toEqual(golden.prompts);
    const query = golden.cases.find((c) => c.text === 'search_query: Hello')!;
    const doc = golden.cases.find((c) => c.text.startsWith('search_document: '))!;
    const res = await engine.embed(['Hello', doc.text.slice('search_document: '.length)], { promptName: 'search_query' });
    expect(maxAbsDiff(res.embeddings[0], query.embedding)).toBeLessThan(1e-5);
    const d = await engine.embed(doc.text.slice('search_document: '.length), { promptName: 'search_document' });
    expect(maxAbsDiff(d.embeddings[0], doc.embedding)).toBeLessThan(1e-5);
  });

  it('caps the model length at max_trained_positions (2048), as vLLM does, below n_positions 8192', () => {
    expect(engine.info.maxLength).toBe(2048);
  });

  it('refuses dimensions (config.json declares no matryoshka), as vLLM does', async () => {
    expect(engine.info.isMatryoshka).toBe(false);
    await expect(engine.embed('x', { dimensions: 32 })).rejects.toThrow('does not support matryoshka representation');
  });

  it("the model card's matryoshka recipe, applied to the un-normalized embedding, matches the golden", async () => {
    const texts = golden.cases.map((c) => c.text);
    const pooled = await engine.embed(texts, { normalize: false });
    for (const k of golden.matryoshka!) {
      golden.cases.forEach((c, i) => {
        expect(maxAbsDiff(cardMatryoshka(pooled.embeddings[i], k), c.matryoshka[String(k)]), `${c.text} k=${k}`).toBeLessThan(1e-5);
      });
    }
    // ...and it is not vLLM's slice-then-normalize of the pooled vector, which is why the two differ.
    const c = golden.cases[2];
    const sliced = c.pooled.slice(0, 16);
    const n = Math.hypot(...sliced);
    expect(maxAbsDiff(sliced.map((x) => x / n), c.matryoshka['16'])).toBeGreaterThan(1e-3);
  });
});
