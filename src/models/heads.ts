// Which classifier head an architecture carries, read from its checkpoint by HF state-dict name.
//
//   BertForSequenceClassification          pooler.dense (+tanh) on [CLS] → classifier
//   (XLM)RobertaForSequenceClassification  classifier.dense (+tanh) on <s> → classifier.out_proj
//   BertForTokenClassification             classifier on every token
//   Qwen3ForSequenceClassification         score (no bias) on the last token
//   DistilBertForSequenceClassification    pre_classifier (+ReLU) on [CLS] → classifier
//   Llama/Qwen2ForSequenceClassification   score (no bias) on the rightmost token whose id ≠ pad_token_id
//   ModernBertForSequenceClassification    head.norm(gelu(head.dense)) on CLS or the mean → classifier
//   Qwen3ForCausalLM + classifier_from_token  one row, lm_head[yes] − lm_head[no], on the last token
//                                          (vLLM's Qwen3-Reranker conversion: sigmoid(yes − no) is
//                                          the softmax probability of "yes" over {no, yes})

import type { Gpu } from '../gpu/context';
import { ModelLoadError } from '../gpu/errors';
import type { WeightStore } from '../loading/safetensors';
import type { ClassifierWeights } from '../pooling/classifier_head';
import type { TextTokenizer } from '../tokenizer/tokenizer';
import type { ModelConfig } from './config';
import { uploadWeight } from './weights';

export interface ClassifierSpec {
  weights: ClassifierWeights;
  /** Label names by index. */
  labels: string[];
}

/** `classifier_from_token: [no, yes]` from engine options or config.json (vLLM hf_overrides key). */
export function classifierFromToken(config: ModelConfig, override?: readonly string[]): readonly string[] | null {
  const raw = override ?? (config.raw.classifier_from_token as unknown);
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw) || raw.length !== 2 || raw.some((t) => typeof t !== 'string')) {
    throw new ModelLoadError(`classifier_from_token must be two token strings like ["no", "yes"], got ${JSON.stringify(raw)}`);
  }
  return raw as string[];
}

export function loadClassifier(
  gpu: Gpu,
  config: ModelConfig,
  weights: WeightStore,
  tokenizer: TextTokenizer,
  fromToken: readonly string[] | null,
): ClassifierSpec | null {
  const H = config.hidden_size;
  const L = config.num_labels;
  const w = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape);
  /** nn.Linear(H, rows) by module name: its weight [rows, H] and bias [rows]. */
  const linear = (name: string, rows: number) => ({ w: w(`${name}.weight`, [rows, H]), b: w(`${name}.bias`, [rows]) });
  const labels = config.id2label.length === L ? config.id2label : Array.from({ length: L }, (_, i) => `LABEL_${i}`);

  if (fromToken) {
    const [no, yes] = fromToken.map((t) => {
      const id = tokenizer.tokenId(t);
      if (id === undefined) throw new ModelLoadError(`classifier_from_token: token "${t}" is not in the vocabulary`);
      return id;
    });
    const table = weights.has('lm_head.weight') ? 'lm_head.weight' : 'embed_tokens.weight';
    const full = weights.get(table);
    const row = new Float32Array(H);
    for (let i = 0; i < H; i++) row[i] = full[yes * H + i] - full[no * H + i];
    return {
      weights: { pooling: 'last', out: { w: gpu.upload(row, `${table}[yes-no]`) }, numLabels: 1 },
      labels: ['relevance'],
    };
  }

  switch (config.architecture) {
    case 'BertForSequenceClassification':
      return {
        weights: {
          pooling: 'cls',
          dense: linear('pooler.dense', H),
          out: linear('classifier', L),
          numLabels: L,
        },
        labels,
      };
    case 'RobertaForSequenceClassification':
    case 'XLMRobertaForSequenceClassification':
      return {
        weights: {
          pooling: 'cls',
          dense: linear('classifier.dense', H),
          out: linear('classifier.out_proj', L),
          numLabels: L,
        },
        labels,
      };
    case 'BertForTokenClassification':
      return { weights: { pooling: 'token', out: linear('classifier', L), numLabels: L }, labels };
    case 'Qwen3ForSequenceClassification':
      // HF scores the last token whose id != pad_token_id; we score each packed sequence's true last
      // token. They agree unless an input ends in the pad token itself (Qwen3 tokenizers append
      // <|im_end|> or <|endoftext|>, and the packed batch has no padding to confuse them).
      return { weights: { pooling: 'last', out: { w: w('score.weight', [L, H]) }, numLabels: L }, labels };
    case 'DistilBertForSequenceClassification':
      return {
        weights: {
          pooling: 'cls',
          dense: { ...linear('pre_classifier', H), activation: 'relu' },
          out: linear('classifier', L),
          numLabels: L,
        },
        labels,
      };
    case 'LlamaForSequenceClassification':
    case 'Qwen2ForSequenceClassification':
      // HF GenericForSequenceClassification. Without a pad token HF refuses batches; each packed
      // sequence then simply scores its last token (vLLM's rule).
      return {
        weights: { pooling: 'last_non_pad', padTokenId: config.pad_token_id, out: { w: w('score.weight', [L, H]) }, numLabels: L },
        labels,
      };
    case 'ModernBertForSequenceClassification': {
      if (config.family !== 'modernbert') return null;
      if (config.classifier_activation !== 'gelu') {
        throw new ModelLoadError(`classifier_activation "${config.classifier_activation}" is not supported for the ModernBERT head (only exact "gelu")`);
      }
      return {
        weights: {
          pooling: config.classifier_pooling,
          dense: { w: w('head.dense.weight', [H, H]), b: config.classifier_bias ? w('head.dense.bias', [H]) : undefined, activation: 'gelu' },
          norm: { gamma: w('head.norm.weight', [H]), beta: config.norm_bias ? w('head.norm.bias', [H]) : gpu.upload(new Float32Array(H), 'head.norm.bias(zero)'), eps: config.norm_eps },
          out: linear('classifier', L),
          numLabels: L,
        },
        labels,
      };
    }
    default:
      return null;
  }
}
