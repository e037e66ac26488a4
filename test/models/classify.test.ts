// Classifier heads against the float64 oracle through the public API: sequence classification
// (BERT, XLM-R, Qwen3, DistilBERT's ReLU pre_classifier, Llama at the last non-pad token), cross-encoder score and rerank, token classification — probabilities, logits,
// labels, and batch invariance across mixed lengths.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendChoice } from '../../src/backend';
import { createEngine, type Engine } from '../../src/index';
import { describeBackends } from '../helpers/backends';
import { fixtureDir, type FixtureName } from '../helpers/fixtures';
import { TOL } from '../helpers/golden_checks';
import { flat, loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';

// The bars of every golden suite, Node and Chromium (test/helpers/golden_checks.ts).
const TOL_LOGITS = TOL.logits;
const TOL_PROBS = TOL.probs;
const TOL_BATCH = TOL.batch;

const maxErrors: Record<string, Record<string, number>> = {};
function record(fixture: string, what: string, err: number) {
  const m = (maxErrors[fixture] ??= {});
  m[what] = Math.max(m[what] ?? 0, err);
}

function useEngine(name: FixtureName, backend: BackendChoice): () => Engine {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: fixtureDir(name), backend });
  });
  afterAll(async () => {
    await engine?.dispose();
    console.log(`max errors ${name}: ${JSON.stringify(maxErrors[name])}`);
  });
  return () => engine;
}

for (const name of ['tiny-bert-seqcls', 'tiny-qwen3-seqcls', 'tiny-distilbert-seqcls', 'tiny-llama-seqcls'] as FixtureName[]) {
  describeBackends(`${name}: classify`, (backend) => {
    const golden = loadGoldenOf(name, 'seqcls');
    const texts = golden.cases.map((c) => c.text);
    const engine = useEngine(name, backend);

    it('serves classify only', () => {
      expect(engine().info.tasks).toEqual(['classify']);
      expect(engine().info.labels.length).toBe(golden.cases[0].logits.length);
    });

    it('softmax probabilities and labels match (one packed batch)', async () => {
      const res = await engine().classify(texts);
      golden.cases.forEach((c, i) => {
        const err = maxAbsDiff(res.data[i].probs, c.probs);
        record(name, 'probs', err);
        expect(err, c.text).toBeLessThan(TOL_PROBS);
        expect(res.data[i].label).toBe(c.predicted_label);
        expect(res.data[i].numClasses).toBe(c.probs.length);
        expect(res.data[i].index).toBe(i);
      });
      expect(res.usage.promptTokens).toBe(golden.cases.reduce((s, c) => s + c.input_ids.length, 0));
    });

    it('use_activation: false returns the raw logits', async () => {
      const res = await engine().classify(texts, { useActivation: false });
      golden.cases.forEach((c, i) => {
        const err = maxAbsDiff(res.data[i].probs, c.logits);
        record(name, 'logits', err);
        expect(err, c.text).toBeLessThan(TOL_LOGITS);
      });
    });

    it('batch invariance across mixed lengths', async () => {
      const together = await engine().classify(texts);
      for (let i = 0; i < texts.length; i++) {
        const alone = await engine().classify(texts[i]);
        const err = maxAbsDiff(alone.data[0].probs, together.data[i].probs);
        record(name, 'batch_invariance', err);
        expect(err).toBeLessThan(TOL_BATCH);
      }
    });

    it('refuses tasks the model does not serve, naming them', async () => {
      await expect(engine().embed('x')).rejects.toThrow(/Task 'embed' is not supported/);
      await expect(engine().classify('x', { dimensions: 8 } as never)).rejects.toThrow(
        "Task 'classify' only supports ['use_activation'] parameters, does not support ['dimensions'] parameters",
      );
    });
  });
}

// ModernBERT's cross-encoder (mean pooling → head.dense → GELU → head.norm → classifier, local
// window ±12) as gte-reranker-modernbert-base; its pairs run up to 38 tokens.
for (const name of ['tiny-bert-crossenc', 'tiny-modernbert-crossenc'] as FixtureName[]) describeBackends(`${name}: score and rerank`, (backend) => {
  const golden = loadGoldenOf(name, 'score');
  const a = golden.cases.map((c) => c.text);
  const b = golden.cases.map((c) => c.text_pair);
  const engine = useEngine(name, backend);

  it('tokenizes pairs with token_type_ids exactly as the golden', () => {
    for (const c of golden.cases) {
      const enc = engine().tokenizer.encode(c.text, c.text_pair);
      expect(enc.ids).toEqual(c.input_ids);
      expect(enc.typeIds).toEqual(c.token_type_ids);
    }
  });

  it('N→N zipped scores are sigmoid(logit) (sentence-transformers activation_fn)', async () => {
    const res = await engine().score(a, b);
    golden.cases.forEach((c, i) => {
      const err = Math.abs(res.scores[i] - c.probs);
      record(name, 'score', err);
      expect(err, `${c.text} / ${c.text_pair}`).toBeLessThan(TOL_PROBS);
    });
  });

  it('use_activation: false gives the raw logit', async () => {
    const res = await engine().score(a, b, { useActivation: false });
    golden.cases.forEach((c, i) => {
      const err = Math.abs(res.scores[i] - c.score);
      record(name, 'logit', err);
      expect(err).toBeLessThan(TOL_LOGITS);
    });
  });

  it('1→N pairing, the N×M matrix, and mismatched lengths', async () => {
    // Cases 0 and 1 share their query.
    expect(golden.cases[0].text).toBe(golden.cases[1].text);
    const oneToN = await engine().score(a[0], [b[0], b[1]]);
    expect(Math.abs(oneToN.scores[0] - golden.cases[0].probs)).toBeLessThan(TOL_PROBS);
    expect(Math.abs(oneToN.scores[1] - golden.cases[1].probs)).toBeLessThan(TOL_PROBS);
    const m = await engine().score([a[0], a[2]], [b[0], b[2], b[3]], { matrix: true });
    expect(m.matrix!.length).toBe(2);
    expect(m.matrix![0].length).toBe(3);
    expect(Math.abs(m.matrix![0][0] - golden.cases[0].probs)).toBeLessThan(TOL_PROBS);
    expect(Math.abs(m.matrix![1][1] - golden.cases[2].probs)).toBeLessThan(TOL_PROBS);
    await expect(engine().score([a[0], a[1]], [b[0], b[1], b[2]])).rejects.toThrow('Input lengths must be either 1:1, 1:N or N:N, got 2:3');
  });

  it('rerank sorts by descending relevance_score, keeps indices, honours top_n and return_documents', async () => {
    const docs = [b[1], b[0]];
    const res = await engine().rerank(a[0], docs, { returnDocuments: true });
    const want = [
      { index: 0, score: golden.cases[1].probs },
      { index: 1, score: golden.cases[0].probs },
    ].sort((x, y) => y.score - x.score);
    expect(res.results.map((r) => r.index)).toEqual(want.map((w) => w.index));
    res.results.forEach((r, k) => {
      expect(Math.abs(r.relevanceScore - want[k].score)).toBeLessThan(TOL_PROBS);
      expect(r.document).toBe(docs[r.index]);
    });
    const top1 = await engine().rerank(a[0], docs, { topN: 1 });
    expect(top1.results.length).toBe(1);
    expect(top1.results[0].index).toBe(want[0].index);
    expect(top1.results[0].document).toBeUndefined();
  });
});

describeBackends('tiny-bert-tokcls: token_classify', (backend) => {
  const golden = loadGoldenOf('tiny-bert-tokcls', 'tokcls');
  const texts = golden.cases.map((c) => c.text);
  const engine = useEngine('tiny-bert-tokcls', backend);

  it('per-token probabilities and logits for every real token', async () => {
    const probs = await engine().encode(texts, { task: 'token_classify' });
    const logits = await engine().encode(texts, { task: 'token_classify', useActivation: false });
    golden.cases.forEach((c, i) => {
      expect(probs.data[i].length).toBe(c.input_ids.length);
      const errP = maxAbsDiff(flat(probs.data[i].map((r) => Array.from(r))), flat(c.probs));
      const errL = maxAbsDiff(flat(logits.data[i].map((r) => Array.from(r))), flat(c.logits));
      record('tiny-bert-tokcls', 'probs', errP);
      record('tiny-bert-tokcls', 'logits', errL);
      expect(errP, c.text).toBeLessThan(TOL_PROBS);
      expect(errL, c.text).toBeLessThan(TOL_LOGITS);
    });
  });

  it('batch invariance across mixed lengths', async () => {
    const together = await engine().encode(texts, { task: 'token_classify' });
    for (let i = 0; i < texts.length; i++) {
      const alone = await engine().encode(texts[i], { task: 'token_classify' });
      const err = maxAbsDiff(flat(alone.data[0].map((r) => Array.from(r))), flat(together.data[i].map((r) => Array.from(r))));
      record('tiny-bert-tokcls', 'batch_invariance', err);
      expect(err).toBeLessThan(TOL_BATCH);
    }
  });
});

describeBackends('tiny-xlmr-seqcls: XLMRobertaForSequenceClassification (classifier.dense + tanh on <s>, out_proj)', (backend) => {
  interface XlmrCase { text: string; input_ids: number[]; logits: number[]; probs: number[]; predicted_label: string }
  const golden = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/goldens/tiny-xlmr-seqcls.json', import.meta.url)), 'utf8')) as { cases: XlmrCase[] };
  const texts = golden.cases.map((c) => c.text);
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: fileURLToPath(new URL('../fixtures/models/tiny-xlmr-seqcls', import.meta.url)), backend });
  });
  afterAll(async () => {
    await engine?.dispose();
    console.log(`max errors tiny-xlmr-seqcls: ${JSON.stringify(maxErrors['tiny-xlmr-seqcls'])}`);
  });

  it('tokenizes, classifies and labels as the golden; logits with use_activation false; batch invariance', async () => {
    golden.cases.forEach((c) => expect(engine.tokenizer.encode(c.text).ids).toEqual(c.input_ids));
    const probs = await engine.classify(texts);
    const logits = await engine.classify(texts, { useActivation: false });
    golden.cases.forEach((c, i) => {
      const ep = maxAbsDiff(probs.data[i].probs, c.probs);
      const el = maxAbsDiff(logits.data[i].probs, c.logits);
      record('tiny-xlmr-seqcls', 'probs', ep);
      record('tiny-xlmr-seqcls', 'logits', el);
      expect(ep, c.text).toBeLessThan(TOL_PROBS);
      expect(el, c.text).toBeLessThan(TOL_LOGITS);
      expect(probs.data[i].label).toBe(c.predicted_label);
    });
    for (let i = 0; i < texts.length; i++) {
      const alone = await engine.classify(texts[i]);
      expect(maxAbsDiff(alone.data[0].probs, probs.data[i].probs)).toBeLessThan(TOL_BATCH);
    }
  });
});

describe('tiny-llama-seqcls: the score head reads the rightmost token whose id is not pad_token_id (HF)', () => {
  const golden = loadGoldenOf('tiny-llama-seqcls', 'seqcls');
  const engine = useEngine('tiny-llama-seqcls', 'webgpu');
  const PAD = '<|end_of_text|>'; // pad_token_id 1957 in config.json and tokenizer_config.json

  // Row choice itself: src/pooling/classifier_head.test.ts (lastNonPadRows).
  it('trailing pad tokens change nothing (causal: the earlier states are untouched), unlike last-token pooling', async () => {
    expect(engine().tokenizer.encode(`Hello${PAD}${PAD}`).ids.slice(-2)).toEqual([1957, 1957]);
    const res = await engine().classify([`Hello${PAD}${PAD}`, `${PAD}`, golden.cases[0].text], { useActivation: false });
    const hello = golden.cases.find((c) => c.text === 'Hello')!;
    // "Hello<pad><pad>" is scored at "o" — the golden's "Hello" logits.
    expect(maxAbsDiff(res.data[0].probs, hello.logits)).toBeLessThan(TOL_LOGITS);
    // All ids after <|begin_of_text|> are pad: scored at <|begin_of_text|>, the golden's empty input.
    expect(maxAbsDiff(res.data[1].probs, golden.cases[0].logits)).toBeLessThan(TOL_LOGITS);
  });
});
