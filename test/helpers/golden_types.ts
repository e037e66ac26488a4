// The float64 oracle outputs in test/fixtures/goldens/<fixture>.json (written by
// shared/oracle/make_fixtures.py; its README documents every field): their types and the structural
// check every loader runs. No Node imports: the Chromium golden suite (test/e2e/pages/suites/goldens.ts)
// fetches the same files and checks them here too; test/helpers/goldens.ts reads them from disk.
import type { FixtureName } from './fixtures';

/** What every case has: the tokenization and the unpadded final hidden state [T][H]. */
export interface GoldenCaseBase {
  text: string;
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  tokens: string[];
  last_hidden_state: number[][];
}

export interface EmbedCase extends GoldenCaseBase {
  /** The model's pooling, before normalize. */
  pooled: number[];
  /** `pooled` after L2 normalize. */
  embedding: number[];
  /** Every pooling mode over the same hidden state, before normalize. */
  pooling_modes: { cls: number[]; mean: number[]; max: number[]; lasttoken: number[] };
  /** Dimension ("16", "32", …) → pooled vector truncated to it, then re-normalized. Empty unless the model is matryoshka. */
  matryoshka: Record<string, number[]>;
}

export interface SeqClsCase extends GoldenCaseBase {
  logits: number[];
  /** Softmax over `logits`. */
  probs: number[];
  predicted_label: string;
}

export interface ScoreCase extends GoldenCaseBase {
  text_pair: string;
  /** One logit (num_labels = 1). */
  logits: number[];
  /** The raw logit. */
  score: number;
  /** sigmoid(score). */
  probs: number;
}

export interface TokClsCase extends GoldenCaseBase {
  /** [T][num_labels] */
  logits: number[][];
  /** Softmax per token. */
  probs: number[][];
  /** Argmax label per token. */
  predicted_label: string[];
}

/** The right-padded batch of all cases, and how far its outputs were from the single runs. */
export interface GoldenBatch {
  input_ids: number[][];
  attention_mask: number[][];
  max_abs_diff_vs_single: Record<string, number>;
  max_abs_diff_vs_single_float32: Record<string, number>;
}

interface GoldenBase {
  fixture: FixtureName;
  architecture: string;
  model_type: 'bert' | 'xlm-roberta' | 'qwen3' | 'distilbert' | 'qwen2' | 'llama' | 'nomic_bert' | 'modernbert' | 'mistral' | 'gemma3_text' | 'mpnet' | 'new';
  reference_dtype: 'float64';
  pad_token_id: number;
  batch: GoldenBatch;
  float32_vs_float64_max_abs_diff: Record<string, number>;
}

export interface EmbedGolden extends GoldenBase {
  kind: 'embed';
  pooling: 'cls' | 'mean' | 'max' | 'lasttoken';
  normalize: boolean;
  /** Present only for matryoshka models. */
  matryoshka?: number[];
  /**
   * Set when `matryoshka` follows the model card's recipe rather than config.json (nomic: layer_norm,
   * truncate, normalize); the runtime follows vLLM there, so these vectors are checked apart.
   */
  matryoshka_recipe?: string;
  /** config_sentence_transformers.json prompts, when the model has them. */
  prompts?: Record<string, string>;
  cases: EmbedCase[];
}

export interface SeqClsGolden extends GoldenBase {
  kind: 'seqcls';
  activation: 'softmax';
  cases: SeqClsCase[];
}

export interface ScoreGolden extends GoldenBase {
  kind: 'score';
  activation: 'sigmoid';
  cases: ScoreCase[];
}

export interface TokClsGolden extends GoldenBase {
  kind: 'tokcls';
  activation: 'softmax';
  cases: TokClsCase[];
}

export type Golden = EmbedGolden | SeqClsGolden | ScoreGolden | TokClsGolden;
export type GoldenCase = Golden['cases'][number];

const KINDS = ['embed', 'seqcls', 'score', 'tokcls'] as const;

/** Cheap structural checks on a parsed golden file, so a stale or hand-edited file fails here rather than deep in a test. */
export function validateGolden(name: string, parsed: unknown): Golden {
  const g = parsed as Golden;
  if (g.fixture !== name) throw new Error(`golden ${name}.json names fixture ${JSON.stringify(g.fixture)}`);
  if (!KINDS.includes(g.kind)) throw new Error(`golden ${name}.json has unknown kind ${JSON.stringify(g.kind)}`);
  if (!Array.isArray(g.cases) || g.cases.length === 0) throw new Error(`golden ${name}.json has no cases`);
  for (const c of g.cases) {
    const t = c.input_ids.length;
    if (c.token_type_ids.length !== t || c.attention_mask.length !== t || c.tokens.length !== t || c.last_hidden_state.length !== t) {
      throw new Error(`golden ${name}.json: case ${JSON.stringify(c.text)} has inconsistent lengths`);
    }
  }
  return g;
}

/** The second text of a case, for pair (cross-encoder) goldens. */
export function casePair(c: GoldenCase): string | undefined {
  return 'text_pair' in c ? c.text_pair : undefined;
}

/** Flatten [T][H] (or any nested number arrays) row-major into one Float64Array. */
export function flat(rows: readonly (readonly number[])[]): Float64Array {
  const n = rows.reduce((a, r) => a + r.length, 0);
  const out = new Float64Array(n);
  let o = 0;
  for (const r of rows) {
    out.set(r, o);
    o += r.length;
  }
  return out;
}

// The fixtures of tools/make_extra_fixtures.py, each in its own format (no `kind`, no hidden states).

/** tiny-xlmr-seqcls: XLMRobertaForSequenceClassification. */
export interface XlmrSeqClsGolden {
  fixture: 'tiny-xlmr-seqcls';
  cases: { text: string; input_ids: number[]; logits: number[]; probs: number[]; predicted_label: string }[];
}

/** tiny-qwen3-reranker: Qwen3ForCausalLM scored by classifier_from_token [no, yes]. */
export interface RerankerGolden {
  fixture: 'tiny-qwen3-reranker';
  classifier_from_token: [string, string];
  /** `logit` = logit_yes − logit_no at the last token; `score` = sigmoid(logit). */
  cases: { text: string; text_pair: string; input_ids: number[]; logit: number; score: number }[];
}

/** tiny-bert-dense-embed: mean pooling → Dense(64→32, tanh) → Normalize. */
export interface DenseEmbedGolden {
  fixture: 'tiny-bert-dense-embed';
  /** `dense`: the Dense output before Normalize. */
  cases: { text: string; input_ids: number[]; dense: number[]; embedding: number[]; matryoshka: Record<string, number[]> }[];
}
