// One fixture's golden expectations as a function of a loaded engine: every task the fixture serves
// against its float64 golden, at the Node suites' tolerances, with batch invariance (each input alone
// equals the same input inside the mixed batch). The Chromium suite (test/e2e/goldens.spec.ts) runs
// the table of test/helpers/golden_table.ts through these on each backend; the Node suites
// (test/models/*.test.ts) check the same fields in finer-grained `it`s and take TOL and the derived
// references (meanSqrtLen, cardMatryoshka) from here, so the bars live in one place.
// No Node imports: this file runs in the page.
import type { Engine } from '../../src/index';
import type { ChunkMode, ChunkedGolden } from './chunked_goldens';
import { flat, type DenseEmbedGolden, type EmbedCase, type EmbedGolden, type RerankerGolden, type ScoreGolden, type SeqClsGolden, type TokClsGolden, type XlmrSeqClsGolden } from './golden_types';
import { maxAbsDiff } from './random';

/** Max abs error bars against the float64 goldens (f32 compute). */
export const TOL = {
  /** Per-token final hidden states. */
  hidden: 1e-4,
  /** Pooled vectors before normalize, sentence-transformers Dense outputs. */
  pooled: 1e-4,
  dense: 1e-4,
  /** Raw classifier / score logits. */
  logits: 1e-4,
  /** L2-normalized embeddings (matryoshka slices included). */
  normalized: 1e-5,
  /** Softmax / sigmoid outputs. */
  probs: 1e-5,
  /** An input alone vs the same input inside a batch. */
  batch: 1e-5,
} as const;

export interface Measure {
  /** The worst max abs difference seen under this name. */
  err: number;
  tol: number;
}

/** What a check found, JSON-able (it travels from the page to the Playwright test). */
export interface ReportJson {
  errors: Record<string, Measure>;
  /** Exact expectations that failed (token ids, labels, orders, refusals, lengths). */
  mismatches: string[];
}

const clip = (s: string) => (s.length > 160 ? `${s.slice(0, 160)}…` : s);

export class GoldenReport {
  readonly errors: Record<string, Measure> = {};
  readonly mismatches: string[] = [];

  /** Record max |got − want| under `what`, keeping the worst over every call, with its bar. */
  close(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
    if (got.length !== want.length) {
      this.mismatches.push(`${what}: ${got.length} values, golden has ${want.length}`);
      return;
    }
    const err = maxAbsDiff(got, want);
    const m = this.errors[what];
    if (!m) this.errors[what] = { err, tol };
    else m.err = Math.max(m.err, err);
  }

  same(what: string, got: unknown, want: unknown): void {
    const a = JSON.stringify(got);
    const b = JSON.stringify(want);
    if (a !== b) this.mismatches.push(`${what}: got ${clip(a)}, want ${clip(b)}`);
  }

  async rejects(what: string, p: Promise<unknown>, message: RegExp): Promise<void> {
    const outcome = await p.then(
      () => 'resolved',
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    if (outcome === 'resolved' || !message.test(outcome)) this.mismatches.push(`${what}: ${clip(outcome)}, want an error matching ${message}`);
  }

  /** Every measure under its bar and no mismatch. */
  get passed(): boolean {
    return this.mismatches.length === 0 && Object.values(this.errors).every((m) => m.err < m.tol);
  }

  toJSON(): ReportJson {
    return { errors: this.errors, mismatches: this.mismatches };
  }
}

const rows = (m: readonly Float32Array[]) => flat(m.map((r) => Array.from(r)));

/** sentence-transformers mean_sqrt_len_tokens from the float64 hidden states (no golden field holds it). */
export function meanSqrtLen(c: EmbedCase): number[] {
  const out = new Array<number>(c.last_hidden_state[0].length).fill(0);
  for (const row of c.last_hidden_state) row.forEach((v, i) => (out[i] += v));
  return out.map((v) => v / Math.sqrt(c.last_hidden_state.length));
}

/** nomic's model-card matryoshka: F.layer_norm(v, (H,)) without affine, eps 1e-5, then [:k], then L2 normalize. */
export function cardMatryoshka(pooled: ArrayLike<number>, k: number): number[] {
  const v = Array.from(pooled);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  const ln = v.map((x) => (x - mean) / Math.sqrt(variance + 1e-5)).slice(0, k);
  const n = Math.sqrt(ln.reduce((a, b) => a + b * b, 0));
  return ln.map((x) => x / n);
}

/** A golden mode name as the engine's `pooling` option spells it. */
export const engineMode = (m: ChunkMode) => (m === 'lasttoken' ? 'last' : m);

function tokenization(engine: Engine, cases: readonly { text: string; text_pair?: string; input_ids: number[] }[], r: GoldenReport): void {
  for (const c of cases) r.same(`input_ids ${JSON.stringify(c.text.slice(0, 24))}`, engine.tokenizer.encode(c.text, c.text_pair).ids, c.input_ids);
}

/** Embed outputs of each input alone vs the batch's, and of the reversed batch (every sequence at another packed offset). */
async function embedInvariance(engine: Engine, texts: string[], together: Float32Array[], r: GoldenReport): Promise<void> {
  for (let i = 0; i < texts.length; i++) r.close('batch.embedding', (await engine.embed(texts[i])).embeddings[0], together[i], TOL.batch);
  const reversed = (await engine.embed([...texts].reverse())).embeddings.reverse();
  texts.forEach((_, i) => r.close('batch.reversed', reversed[i], together[i], TOL.batch));
}

export interface EmbedSpec {
  /** 'golden': `dimensions` takes the golden's matryoshka sizes; 'refused': config.json declares none (vLLM's 400). */
  matryoshka: 'golden' | 'refused';
  /** Dense modules after pooling (EmbeddingGemma): the last one's output is checked instead of the pooling modes. */
  dense?: boolean;
  /** nomic's golden matryoshka follows the model card: rebuilt from the un-normalized embedding. */
  cardRecipe?: boolean;
}

/** An oracle embedder: hidden states, the default embedding, pooling modes / Dense outputs, matryoshka, prompts, batch invariance. */
export async function checkEmbedder(engine: Engine, g: EmbedGolden, r: GoldenReport, spec: EmbedSpec): Promise<void> {
  const texts = g.cases.map((c) => c.text);
  tokenization(engine, g.cases, r);
  r.same('info.pooling', engine.info.pooling, engineMode(g.pooling));
  r.same('info.normalize', engine.info.normalize, g.normalize);

  const hidden = await engine.encode(texts, { task: 'token_embed', useActivation: false });
  g.cases.forEach((c, i) => r.close('hidden', rows(hidden.data[i]), flat(c.last_hidden_state), TOL.hidden));
  const together = (await engine.embed(texts)).embeddings;
  g.cases.forEach((c, i) => r.close('embedding', together[i], c.embedding, TOL.normalized));

  if (spec.dense) {
    const raw = await engine.embed(texts, { normalize: false });
    g.cases.forEach((c, i) => {
      const outputs = (c as EmbedCase & { dense_outputs: Record<string, number[]> }).dense_outputs;
      r.close('dense_output', raw.embeddings[i], outputs[Object.keys(outputs).sort().at(-1)!], TOL.dense);
    });
  } else {
    for (const mode of ['cls', 'mean', 'max', 'last', 'mean_sqrt_len'] as const) {
      const res = await engine.embed(texts, { pooling: mode, normalize: false });
      g.cases.forEach((c, i) => r.close(`pooled.${mode}`, res.embeddings[i], mode === 'mean_sqrt_len' ? meanSqrtLen(c) : c.pooling_modes[mode === 'last' ? 'lasttoken' : mode], TOL.pooled));
    }
  }

  if (spec.matryoshka === 'golden') {
    r.same('info.matryoshkaDimensions', engine.info.matryoshkaDimensions, g.matryoshka);
    for (const d of g.matryoshka ?? []) {
      const res = await engine.embed(texts, { dimensions: d });
      g.cases.forEach((c, i) => r.close(`matryoshka.${d}`, res.embeddings[i], c.matryoshka[String(d)], TOL.normalized));
    }
  } else {
    await r.rejects('dimensions', engine.embed('hi', { dimensions: 16 }), /does not support matryoshka representation/);
  }
  if (spec.cardRecipe) {
    const pooled = await engine.embed(texts, { normalize: false });
    for (const k of g.matryoshka ?? []) g.cases.forEach((c, i) => r.close(`card_matryoshka.${k}`, cardMatryoshka(pooled.embeddings[i], k), c.matryoshka[String(k)], TOL.normalized));
  }

  // A case whose text starts with one of the model's prompts equals the rest of it sent with that prompt_name.
  if (g.prompts) {
    r.same('info.prompts', engine.info.prompts, g.prompts);
    for (const c of g.cases) {
      const [name, prompt] = Object.entries(g.prompts).filter(([, p]) => p && c.text.startsWith(p)).sort((a, b) => b[1].length - a[1].length)[0] ?? [];
      if (name === undefined) continue;
      r.close('embedding.prompt_name', (await engine.embed(c.text.slice(prompt.length), { promptName: name })).embeddings[0], c.embedding, TOL.normalized);
    }
  }

  await embedInvariance(engine, texts, together, r);
  for (let i = 0; i < texts.length; i++) {
    const alone = await engine.encode(texts[i], { task: 'token_embed', useActivation: false });
    r.close('batch.hidden', rows(alone.data[0]), rows(hidden.data[i]), TOL.batch);
  }
}

/** Sequence classification: softmax probabilities and labels, raw logits, batch invariance. */
export async function checkClassifier(engine: Engine, g: SeqClsGolden | XlmrSeqClsGolden, r: GoldenReport): Promise<void> {
  const texts = g.cases.map((c) => c.text);
  tokenization(engine, g.cases, r);
  r.same('info.tasks', engine.info.tasks, ['classify']);
  const probs = await engine.classify(texts);
  const logits = await engine.classify(texts, { useActivation: false });
  g.cases.forEach((c, i) => {
    r.close('probs', probs.data[i].probs, c.probs, TOL.probs);
    r.close('logits', logits.data[i].probs, c.logits, TOL.logits);
    r.same(`label ${i}`, probs.data[i].label, c.predicted_label);
  });
  for (let i = 0; i < texts.length; i++) r.close('batch.probs', (await engine.classify(texts[i])).data[0].probs, probs.data[i].probs, TOL.batch);
}

/** Pair scoring (cross-encoders, the yes/no reranker): scores, logits, rerank order, batch invariance. */
export async function checkScorer(engine: Engine, g: ScoreGolden | RerankerGolden, r: GoldenReport): Promise<void> {
  const a = g.cases.map((c) => c.text);
  const b = g.cases.map((c) => c.text_pair);
  // Oracle cross-encoders: probs = sigmoid(score); the reranker's golden calls them score = sigmoid(logit).
  const want = g.cases.map((c) => ('logit' in c ? { score: c.score, logit: c.logit } : { score: c.probs, logit: c.score }));
  tokenization(engine, g.cases, r);
  for (const c of g.cases) if ('probs' in c) r.same(`token_type_ids ${JSON.stringify(c.text.slice(0, 24))}`, engine.tokenizer.encode(c.text, c.text_pair).typeIds, c.token_type_ids);
  const scores = (await engine.score(a, b)).scores;
  r.close('score', scores, want.map((w) => w.score), TOL.probs);
  r.close('logit', (await engine.score(a, b, { useActivation: false })).scores, want.map((w) => w.logit), TOL.logits);
  // Cases 0 and 1 share their query: reranking their two documents follows the golden scores.
  r.same('case 0 and 1 share the query', a[0], a[1]);
  const ranked = await engine.rerank(a[0], [b[1], b[0]]);
  const order = [{ index: 0, score: want[1].score }, { index: 1, score: want[0].score }].sort((x, y) => y.score - x.score);
  r.same('rerank order', ranked.results.map((x) => x.index), order.map((x) => x.index));
  r.close('rerank.relevance_score', ranked.results.map((x) => x.relevanceScore), order.map((x) => x.score), TOL.probs);
  for (let i = 0; i < a.length; i++) r.close('batch.score', (await engine.score(a[i], b[i])).scores, [scores[i]], TOL.batch);
}

/** Token classification: per-token probabilities and logits for every real token, batch invariance. */
export async function checkTokenClassifier(engine: Engine, g: TokClsGolden, r: GoldenReport): Promise<void> {
  const texts = g.cases.map((c) => c.text);
  tokenization(engine, g.cases, r);
  const probs = await engine.encode(texts, { task: 'token_classify' });
  const logits = await engine.encode(texts, { task: 'token_classify', useActivation: false });
  g.cases.forEach((c, i) => {
    r.close('probs', rows(probs.data[i]), flat(c.probs), TOL.probs);
    r.close('logits', rows(logits.data[i]), flat(c.logits), TOL.logits);
  });
  for (let i = 0; i < texts.length; i++) r.close('batch.probs', rows((await engine.encode(texts[i], { task: 'token_classify' })).data[0]), rows(probs.data[i]), TOL.batch);
}

/** Pooling → Dense → Normalize: the embedding width, normalized and raw Dense outputs, matryoshka, batch invariance. */
export async function checkDenseEmbedder(engine: Engine, g: DenseEmbedGolden, r: GoldenReport): Promise<void> {
  const texts = g.cases.map((c) => c.text);
  tokenization(engine, g.cases, r);
  r.same('info.embeddingSize', engine.info.embeddingSize, g.cases[0].embedding.length);
  const together = (await engine.embed(texts)).embeddings;
  const raw = (await engine.embed(texts, { normalize: false })).embeddings;
  const dims = Object.keys(g.cases[0].matryoshka).map(Number);
  const sliced = await Promise.all(dims.map((d) => engine.embed(texts, { dimensions: d })));
  g.cases.forEach((c, i) => {
    r.close('embedding', together[i], c.embedding, TOL.normalized);
    r.close('dense_output', raw[i], c.dense, TOL.dense);
    dims.forEach((d, k) => r.close(`matryoshka.${d}`, sliced[k].embeddings[i], c.matryoshka[String(d)], TOL.normalized));
  });
  await embedInvariance(engine, texts, together, r);
}

/**
 * Chunked processing (vLLM enable_chunked_processing) of inputs up to 8× the model length: the
 * combined vectors per pooling mode, matryoshka, the chunks as ordinary sequences, batch invariance
 * with long and short inputs mixed.
 */
export async function checkChunked(engine: Engine, g: ChunkedGolden, r: GoldenReport, modes: readonly ChunkMode[]): Promise<void> {
  const texts = g.cases.map((c) => c.text);
  r.same('info.maxLength', engine.info.maxLength, g.max_model_len);
  for (const c of g.cases) r.same(`input_ids ${c.name}`, engine.tokenize(c.text).tokens, c.input_ids);
  const together = (await engine.embed(texts)).embeddings;
  g.cases.forEach((c, i) => r.close(`combined.${g.pooling}`, together[i], c.combined[g.pooling].normalized, TOL.normalized));
  for (const mode of modes) {
    const on = await engine.embed(texts, { pooling: engineMode(mode) });
    const off = await engine.embed(texts, { pooling: engineMode(mode), useActivation: false });
    g.cases.forEach((c, i) => {
      r.close(`combined.${mode}`, on.embeddings[i], c.combined[mode].normalized, TOL.normalized);
      r.close(`combined.${mode}.raw`, off.embeddings[i], c.combined[mode].raw, TOL.pooled);
    });
  }
  for (const d of g.matryoshka.filter((x) => x < engine.info.embeddingSize)) {
    const res = await engine.embed(texts, { dimensions: d });
    g.cases.forEach((c, i) => r.close(`matryoshka.${d}`, res.embeddings[i], c.combined[g.pooling].matryoshka[String(d)], TOL.normalized));
  }
  const chunks = g.cases.flatMap((c) => c.chunks);
  const res = await engine.embed(chunks.map((k) => ({ ids: k.input_ids })), { useActivation: false });
  chunks.forEach((k, i) => r.close('chunk.pooled', res.embeddings[i], k.pooled[g.pooling], TOL.pooled));
  await embedInvariance(engine, texts, together, r);
}
