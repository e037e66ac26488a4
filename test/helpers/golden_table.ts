// Every golden file under test/fixtures/goldens with the fixture it checks and how (the checks and
// their bars: ./golden_checks.ts). The Chromium suite runs this whole table on each backend; a new
// fixture folder without an entry fails test/e2e/goldens.spec.ts. No Node imports: it runs in the page.
import type { Engine, EngineOptions } from '../../src/index';
import type { ChunkMode, ChunkedGolden } from './chunked_goldens';
import { checkChunked, checkClassifier, checkDenseEmbedder, checkEmbedder, checkScorer, checkTokenClassifier, GoldenReport, type EmbedSpec } from './golden_checks';
import { validateGolden, type DenseEmbedGolden, type Golden, type RerankerGolden, type XlmrSeqClsGolden } from './golden_types';

export type CheckOptions = Pick<EngineOptions, 'classifierFromToken' | 'enableChunkedProcessing' | 'hfOverrides'>;

export interface GoldenCheck {
  /** Model folder under test/fixtures/models. */
  model: string;
  /** Check the golden file's JSON (named `name`, without .json); what to load the engine with, and what to run on it. */
  prepare(name: string, json: unknown): { options: CheckOptions; run(engine: Engine, r: GoldenReport): Promise<void> };
}

function oracle<K extends Golden['kind']>(name: string, json: unknown, kind: K): Extract<Golden, { kind: K }> {
  const g = validateGolden(name, json);
  if (g.kind !== kind) throw new Error(`golden ${name}.json is kind ${g.kind}, not ${kind}`);
  return g as Extract<Golden, { kind: K }>;
}

/** The extra fixtures' formats (tools/make_extra_fixtures.py): only the name and a non-empty case list to check. */
function extra<G extends { fixture: string; cases: unknown[] }>(name: string, json: unknown): G {
  const g = json as G;
  if (g.fixture !== name || !Array.isArray(g.cases) || g.cases.length === 0) throw new Error(`golden ${name}.json: not the ${name} fixture, or no cases`);
  return g;
}

function chunked(name: string, json: unknown): ChunkedGolden {
  const g = json as ChunkedGolden;
  if (`chunked-${g.fixture}` !== name) throw new Error(`${name}.json names fixture ${JSON.stringify(g.fixture)}`);
  for (const c of g.cases) {
    if (c.chunks.flatMap((k) => k.input_ids).join() !== c.input_ids.join()) throw new Error(`${name}.json: case ${c.name} chunks do not add up`);
  }
  return g;
}

const embedder = (model: string, spec: EmbedSpec): GoldenCheck => ({
  model,
  prepare: (name, json) => {
    const g = oracle(name, json, 'embed');
    return { options: {}, run: (engine, r) => checkEmbedder(engine, g, r, spec) };
  },
});

const classifier = (model: string): GoldenCheck => ({
  model,
  prepare: (name, json) => {
    const g = model === 'tiny-xlmr-seqcls' ? extra<XlmrSeqClsGolden>(name, json) : oracle(name, json, 'seqcls');
    return { options: {}, run: (engine, r) => checkClassifier(engine, g, r) };
  },
});

const crossEncoder = (model: string): GoldenCheck => ({
  model,
  prepare: (name, json) => {
    const g = oracle(name, json, 'score');
    return { options: {}, run: (engine, r) => checkScorer(engine, g, r) };
  },
});

const chunkedEmbedder = (model: string, modes: readonly ChunkMode[]): GoldenCheck => ({
  model,
  prepare: (name, json) => {
    const g = chunked(name, json);
    return { options: { enableChunkedProcessing: true, hfOverrides: g.hf_overrides }, run: (engine, r) => checkChunked(engine, g, r, modes) };
  },
});

const refused: EmbedSpec = { matryoshka: 'refused' };

/** Golden file name → its check. Fixtures: test/fixtures/README.md. */
export const GOLDEN_CHECKS: Record<string, GoldenCheck> = {
  'tiny-bert-embed': embedder('tiny-bert-embed', { matryoshka: 'golden' }),
  'tiny-bert-cls-pool': embedder('tiny-bert-cls-pool', refused),
  // F16 weights in the checkpoint (f32 on the device unless dtype f16 is asked for).
  'tiny-roberta-embed': embedder('tiny-roberta-embed', refused),
  // BF16 weights, last-token pooling, GQA, q/k norms.
  'tiny-qwen3-embed': embedder('tiny-qwen3-embed', refused),
  'tiny-distilbert-embed': embedder('tiny-distilbert-embed', refused),
  'tiny-qwen2-embed': embedder('tiny-qwen2-embed', refused),
  'tiny-qwen2-bidir-embed': embedder('tiny-qwen2-bidir-embed', refused),
  // config.json declares no matryoshka (vLLM refuses `dimensions`); the golden's follows the model card.
  'tiny-nomic-embed': embedder('tiny-nomic-embed', { matryoshka: 'refused', cardRecipe: true }),
  // Local layers ±8 and a causal window of 16 on cases up to 77 tokens; MPNet's 154-token case reaches the capped buckets.
  'tiny-modernbert-embed': embedder('tiny-modernbert-embed', refused),
  'tiny-mistral-embed': embedder('tiny-mistral-embed', refused),
  'tiny-mpnet-embed': embedder('tiny-mpnet-embed', refused),
  'tiny-gtenew-embed': embedder('tiny-gtenew-embed', refused),
  // mean → Dense 64→128 → Dense 128→64 → Normalize, with prompts; no matryoshka in config.json.
  'tiny-gemma3-embed': embedder('tiny-gemma3-embed', { matryoshka: 'refused', dense: true }),
  'tiny-bert-dense-embed': {
    model: 'tiny-bert-dense-embed',
    prepare: (name, json) => {
      const g = extra<DenseEmbedGolden>(name, json);
      return { options: {}, run: (engine, r) => checkDenseEmbedder(engine, g, r) };
    },
  },
  'tiny-bert-seqcls': classifier('tiny-bert-seqcls'),
  'tiny-qwen3-seqcls': classifier('tiny-qwen3-seqcls'),
  'tiny-distilbert-seqcls': classifier('tiny-distilbert-seqcls'),
  'tiny-llama-seqcls': classifier('tiny-llama-seqcls'),
  'tiny-xlmr-seqcls': classifier('tiny-xlmr-seqcls'),
  'tiny-bert-crossenc': crossEncoder('tiny-bert-crossenc'),
  'tiny-modernbert-crossenc': crossEncoder('tiny-modernbert-crossenc'),
  'tiny-qwen3-reranker': {
    model: 'tiny-qwen3-reranker',
    prepare: (name, json) => {
      const g = extra<RerankerGolden>(name, json);
      return { options: { classifierFromToken: g.classifier_from_token }, run: (engine, r) => checkScorer(engine, g, r) };
    },
  },
  'tiny-bert-tokcls': {
    model: 'tiny-bert-tokcls',
    prepare: (name, json) => {
      const g = oracle(name, json, 'tokcls');
      return { options: {}, run: (engine, r) => checkTokenClassifier(engine, g, r) };
    },
  },
  // Chunked long inputs: BERT with 32 positions (every mode), Qwen3 served with 32 (its own last-token and mean).
  'chunked-tiny-bert-embed-short': chunkedEmbedder('tiny-bert-embed-short', ['cls', 'mean', 'max', 'lasttoken']),
  'chunked-tiny-qwen3-embed': chunkedEmbedder('tiny-qwen3-embed', ['lasttoken', 'mean']),
};

/** Load one golden's engine with `load`, run its check, and say what it found; a throw is a mismatch, not an abort. */
export async function runGoldenCheck(name: string, json: unknown, load: (model: string, options: CheckOptions) => Promise<Engine>): Promise<GoldenReport> {
  const r = new GoldenReport();
  let engine: Engine | undefined;
  try {
    const { options, run } = GOLDEN_CHECKS[name].prepare(name, json);
    engine = await load(GOLDEN_CHECKS[name].model, options);
    await run(engine, r);
  } catch (e) {
    r.mismatches.push(`threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  } finally {
    await engine?.dispose();
  }
  return r;
}
