// What every family's config.json has, whatever its architecture: identity, labels, and the
// sentence-transformers keys. Defaults are HF PretrainedConfig's.

import { ModelLoadError } from '../../gpu/errors';
import type { Architecture, ModelHead, ModelType } from '../config';
import type { Fields } from './fields';

export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';

/** The sizes most families' configs name alike (DistilBERT and NomicBert have names of their own). */
export interface TransformerSizes {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
}

/** TransformerSizes, each required and a positive integer. */
export function parseSizes(f: Fields): TransformerSizes {
  return {
    hidden_size: f.positiveInt('hidden_size'),
    num_attention_heads: f.positiveInt('num_attention_heads'),
    num_hidden_layers: f.positiveInt('num_hidden_layers'),
    intermediate_size: f.positiveInt('intermediate_size'),
    vocab_size: f.positiveInt('vocab_size'),
  };
}

/** What every family has: identity, labels, and the sentence-transformers keys of config.json. */
export interface CommonConfig {
  model_type: ModelType;
  /** `architectures` as written in the file ([] when absent). */
  architectures: string[];
  /** The architecture that will be built: the first supported entry of `architectures`, else the family's base model. */
  architecture: Architecture;
  head: ModelHead;
  /** Label names by class index (HF's id2label, whose keys are "0", "1", …). */
  id2label: string[];
  label2id: Record<string, number>;
  num_labels: number;
  problem_type: ProblemType | null;
  /** sentence-transformers matryoshka: any output size 1..hidden may be asked for. */
  is_matryoshka: boolean;
  /** The only output sizes allowed, when the model lists them. */
  matryoshka_dimensions: number[] | null;
  /**
   * Cross-encoder activation class from sentence-transformers, e.g. "torch.nn.modules.activation.Sigmoid"
   * (`sentence_transformers.activation_fn`, or the older top-level `sbert_ce_default_activation_function`).
   */
  sentence_transformers: { activation_fn: string | null };
  torch_dtype: string | null;
  /** The parsed file, for keys this type does not model. */
  raw: Readonly<Record<string, unknown>>;
}

/** The fields of CommonConfig; `head` is what the architecture puts on top of the base model. */
export function parseCommon(f: Fields, model_type: ModelType, architectures: string[], architecture: Architecture, head: ModelHead): CommonConfig {
  const labels = parseLabels(f);
  const st = f.optional('sentence_transformers', {} as Record<string, unknown>, (v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined, 'an object');
  const activation = st.activation_fn ?? f.raw.sbert_ce_default_activation_function ?? null;
  if (activation !== null && typeof activation !== 'string') {
    throw f.invalid('sentence_transformers.activation_fn', activation, 'a class name string');
  }
  const matryoshka_dimensions = f.optional('matryoshka_dimensions', null as number[] | null, (v) =>
    v === null ? null : Array.isArray(v) && v.length > 0 && v.every((d) => Number.isSafeInteger(d) && d > 0) ? (v as number[]) : undefined,
    'a non-empty list of positive integers');
  return {
    model_type,
    architectures,
    architecture,
    head,
    ...labels,
    is_matryoshka: f.bool('is_matryoshka', false),
    matryoshka_dimensions,
    sentence_transformers: { activation_fn: activation },
    torch_dtype: f.optional('torch_dtype', null as string | null, (v) => (typeof v === 'string' || v === null ? v : undefined), 'a string'),
    raw: f.raw,
  };
}

function parseLabels(f: Fields): Pick<CommonConfig, 'id2label' | 'label2id' | 'num_labels' | 'problem_type'> {
  let id2label: string[] | null = null;
  const raw = f.raw.id2label;
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) throw f.invalid('id2label', raw, 'an object like {"0": "negative", …}');
    const entries = Object.entries(raw as Record<string, unknown>);
    id2label = new Array<string>(entries.length);
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!/^\d+$/.test(k) || i >= entries.length || typeof v !== 'string') {
        throw f.invalid('id2label', raw, `keys "0".."${entries.length - 1}" with string labels`);
      }
      id2label[i] = v;
    }
  }
  const numLabels = f.optional('num_labels', null as number | null, (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined), 'a positive integer');
  if (id2label && numLabels !== null && numLabels !== id2label.length) {
    throw new ModelLoadError(`${f.where}: num_labels ${numLabels} does not match the ${id2label.length} labels of id2label`);
  }
  // HF's PretrainedConfig default is two labels, LABEL_0 and LABEL_1.
  const labels = id2label ?? Array.from({ length: numLabels ?? 2 }, (_, i) => `LABEL_${i}`);
  const label2id = f.optional('label2id', Object.fromEntries(labels.map((l, i) => [l, i])) as Record<string, number>, (v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((i) => Number.isSafeInteger(i) && i >= 0 && i < labels.length)
      ? (v as Record<string, number>)
      : undefined, `an object of label → index below ${labels.length}`);
  const problem_type = f.optional('problem_type', null as ProblemType | null, (v) =>
    v === null || v === 'regression' || v === 'single_label_classification' || v === 'multi_label_classification' ? (v as ProblemType | null) : undefined,
    'null, "regression", "single_label_classification" or "multi_label_classification"');
  return { id2label: labels, label2id, num_labels: labels.length, problem_type };
}
