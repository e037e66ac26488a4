// Embedders (BERT, XLM-R with F16 weights, Qwen3 with BF16 weights, DistilBERT, Qwen2 causal and
// bidirectional, NomicBert, ModernBERT, Mistral with BF16 weights, MPNet, GTE v1.5) against the float64 oracle: per-token hidden states, every pooling mode,
// normalized and matryoshka embeddings, and batch invariance — through the public API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { describeBackends } from '../helpers/backends';
import { fixtureDir, type FixtureName } from '../helpers/fixtures';
import { meanSqrtLen, TOL } from '../helpers/golden_checks';
import { flat, loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';

// The bars of every golden suite, Node and Chromium (test/helpers/golden_checks.ts).
const TOL_HIDDEN = TOL.hidden;
const TOL_POOLED = TOL.pooled;
const TOL_NORMALIZED = TOL.normalized;
const TOL_BATCH = TOL.batch;

export const maxErrors: Record<string, Record<string, number>> = {};

function record(fixture: string, what: string, err: number) {
  const m = (maxErrors[fixture] ??= {});
  m[what] = Math.max(m[what] ?? 0, err);
}

// ModernBERT (local layers ±8, local/global RoPE) and Mistral (causal window 16) have cases of up to
// 77 tokens, longer than their windows; MPNet's 154-token case reaches the capped relative buckets.
const EMBEDDERS: FixtureName[] = [
  'tiny-bert-embed', 'tiny-bert-cls-pool', 'tiny-roberta-embed', 'tiny-qwen3-embed',
  'tiny-distilbert-embed', 'tiny-qwen2-embed', 'tiny-qwen2-bidir-embed', 'tiny-nomic-embed',
  'tiny-modernbert-embed', 'tiny-mistral-embed', 'tiny-mpnet-embed', 'tiny-gtenew-embed',
];

for (const name of EMBEDDERS) {
  describeBackends(name, (backend) => {
    const golden = loadGoldenOf(name, 'embed');
    const texts = golden.cases.map((c) => c.text);
    let engine: Engine;

    beforeAll(async () => {
      engine = await createEngine({ model: fixtureDir(name), backend });
    });
    afterAll(async () => {
      await engine?.dispose();
      console.log(`max errors ${name} [${backend}]: ${JSON.stringify(maxErrors[`${name} [${backend}]`])}`);
    });

    it('tokenizes every case exactly as the golden', () => {
      for (const c of golden.cases) expect(engine.tokenizer.encode(c.text).ids).toEqual(c.input_ids);
    });

    it('reports the pooling it resolved from the sentence-transformers files', () => {
      expect(engine.info.pooling).toBe(golden.pooling === 'lasttoken' ? 'last' : golden.pooling);
      expect(engine.info.normalize).toBe(golden.normalize);
    });

    it('per-token hidden states match (all cases in one packed batch)', async () => {
      const res = await engine.encode(texts, { task: 'token_embed', useActivation: false });
      golden.cases.forEach((c, i) => {
        expect(res.data[i].length).toBe(c.input_ids.length);
        const err = maxAbsDiff(flat(res.data[i].map((r) => Array.from(r))), flat(c.last_hidden_state));
        record(`${name} [${backend}]`, 'hidden', err);
        expect(err, c.text).toBeLessThan(TOL_HIDDEN);
      });
      expect(res.usage.promptTokens).toBe(golden.cases.reduce((s, c) => s + c.input_ids.length, 0));
    });

    it('normalized embeddings match (default pooling, one batch)', async () => {
      const res = await engine.embed(texts);
      golden.cases.forEach((c, i) => {
        const err = maxAbsDiff(res.embeddings[i], c.embedding);
        record(`${name} [${backend}]`, 'embedding', err);
        expect(err, c.text).toBeLessThan(TOL_NORMALIZED);
      });
    });

    for (const mode of ['cls', 'mean', 'max', 'last', 'mean_sqrt_len'] as const) {
      it(`pooling mode ${mode} (before normalize) matches`, async () => {
        const res = await engine.embed(texts, { pooling: mode, normalize: false });
        golden.cases.forEach((c, i) => {
          const want = mode === 'mean_sqrt_len' ? meanSqrtLen(c) : c.pooling_modes[mode === 'last' ? 'lasttoken' : mode];
          const err = maxAbsDiff(res.embeddings[i], want);
          record(`${name} [${backend}]`, `pooled.${mode}`, err);
          expect(err, c.text).toBeLessThan(TOL_POOLED);
        });
      });
    }

    // A model-card recipe (nomic) is not what `dimensions` does: see test/models/nomic_bert.test.ts.
    if (golden.matryoshka && !golden.matryoshka_recipe) {
      for (const d of golden.matryoshka) {
        it(`matryoshka dimensions=${d}: truncate then re-normalize`, async () => {
          const res = await engine.embed(texts, { dimensions: d });
          golden.cases.forEach((c, i) => {
            expect(res.embeddings[i].length).toBe(d);
            const err = maxAbsDiff(res.embeddings[i], c.matryoshka[String(d)]);
            record(`${name} [${backend}]`, `matryoshka.${d}`, err);
            expect(err, c.text).toBeLessThan(TOL_NORMALIZED);
          });
        });
      }
    } else {
      it('refuses dimensions on a model without matryoshka support (vLLM message)', async () => {
        await expect(engine.embed('hi', { dimensions: 16 })).rejects.toThrow(
          `Model "${engine.info.model}" does not support matryoshka representation, changing output dimensions will lead to poor results.`,
        );
      });
    }

    it('batch invariance: each case alone equals the same case inside the mixed batch', async () => {
      const together = await engine.embed(texts);
      const hiddenTogether = await engine.encode(texts, { task: 'token_embed', useActivation: false });
      for (let i = 0; i < texts.length; i++) {
        const alone = await engine.embed(texts[i]);
        const err = maxAbsDiff(alone.embeddings[0], together.embeddings[i]);
        record(`${name} [${backend}]`, 'batch_invariance.embedding', err);
        expect(err).toBeLessThan(TOL_BATCH);
        const hAlone = await engine.encode(texts[i], { task: 'token_embed', useActivation: false });
        const errH = maxAbsDiff(flat(hAlone.data[0].map((r) => Array.from(r))), flat(hiddenTogether.data[i].map((r) => Array.from(r))));
        record(`${name} [${backend}]`, 'batch_invariance.hidden', errH);
        expect(errH).toBeLessThan(TOL_BATCH);
      }
      // A reversed batch puts every sequence at a different packed offset.
      const reversed = await engine.embed([...texts].reverse());
      texts.forEach((_, i) => expect(maxAbsDiff(reversed.embeddings[texts.length - 1 - i], together.embeddings[i])).toBeLessThan(TOL_BATCH));
    });
  });
}
