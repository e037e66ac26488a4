// A random-weight BERT model in Hugging Face layout, synthesized from a config at run time, so the
// GPU kit carries no weights (MiniLM-L6 is 90 MB, bge-base 440 MB). Throughput does not depend on
// the weight values; the tokenizer is the tiny-bert fixture's WordPiece vocabulary, and texts are
// runs of whole-word vocabulary entries, so every word is one token and lengths are exact.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tokenizerJson from '../../test/fixtures/models/tiny-bert-embed/tokenizer.json?raw';
import tokenizerConfig from '../../test/fixtures/models/tiny-bert-embed/tokenizer_config.json?raw';

export interface KitModelShape {
  name: string;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  vocab: number;
}

export const SHAPES: Record<string, KitModelShape> = {
  'minilm-l6': { name: 'minilm-l6', hidden: 384, layers: 6, heads: 12, intermediate: 1536, vocab: 30522 },
  'bge-base': { name: 'bge-base', hidden: 768, layers: 12, heads: 12, intermediate: 3072, vocab: 30522 },
  // --quick: the same code path, small enough for SwiftShader.
  tiny: { name: 'tiny', hidden: 64, layers: 2, heads: 4, intermediate: 128, vocab: 3499 },
};

function bertTensors(s: KitModelShape): [string, number[]][] {
  const H = s.hidden;
  const t: [string, number[]][] = [
    ['embeddings.word_embeddings.weight', [s.vocab, H]],
    ['embeddings.position_embeddings.weight', [512, H]],
    ['embeddings.token_type_embeddings.weight', [2, H]],
    ['embeddings.LayerNorm.weight', [H]],
    ['embeddings.LayerNorm.bias', [H]],
  ];
  for (let l = 0; l < s.layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const m of ['query', 'key', 'value']) t.push([`${p}attention.self.${m}.weight`, [H, H]], [`${p}attention.self.${m}.bias`, [H]]);
    t.push(
      [`${p}attention.output.dense.weight`, [H, H]], [`${p}attention.output.dense.bias`, [H]],
      [`${p}attention.output.LayerNorm.weight`, [H]], [`${p}attention.output.LayerNorm.bias`, [H]],
      [`${p}intermediate.dense.weight`, [s.intermediate, H]], [`${p}intermediate.dense.bias`, [s.intermediate]],
      [`${p}output.dense.weight`, [H, s.intermediate]], [`${p}output.dense.bias`, [H]],
      [`${p}output.LayerNorm.weight`, [H]], [`${p}output.LayerNorm.bias`, [H]],
    );
  }
  return t;
}

/** Write config.json, tokenizer files and a seeded random model.safetensors (F32) under dir/name. */
export function synthesizeModel(root: string, s: KitModelShape, seed = 1): string {
  const dir = join(root, s.name);
  mkdirSync(dir, { recursive: true });
  const config = {
    architectures: ['BertModel'], model_type: 'bert', vocab_size: s.vocab, hidden_size: s.hidden,
    num_hidden_layers: s.layers, num_attention_heads: s.heads, intermediate_size: s.intermediate,
    hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12,
    pad_token_id: 0, position_embedding_type: 'absolute', torch_dtype: 'float32',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), tokenizerJson);
  writeFileSync(join(dir, 'tokenizer_config.json'), tokenizerConfig);
  const tensors = bertTensors(s);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let head = JSON.stringify(header);
  head += ' '.repeat((8 - (head.length % 8)) % 8); // the data starts 8-byte aligned
  const data = new Float32Array(offset / 4);
  // xorshift32 in [-0.05, 0.05), LayerNorm weights near 1: activations stay in a sane range.
  let x = seed >>> 0 || 1;
  let at = 0;
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNormWeight = name.endsWith('LayerNorm.weight');
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      const r = ((x >>> 0) / 4294967296 - 0.5) * 0.1;
      data[at++] = isNormWeight ? 1 + r : r;
    }
  }
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, Buffer.from(head), Buffer.from(data.buffer)]));
  return dir;
}

/** `batch` texts of exactly `tokens` tokens each ([CLS] + words + [SEP]). */
export function exactTexts(batch: number, tokens: number): string[] {
  const vocab = (JSON.parse(tokenizerJson) as { model: { vocab: Record<string, number> } }).model.vocab;
  const words = Object.keys(vocab).filter((w) => /^[a-z]{2,}$/.test(w));
  return Array.from({ length: batch }, (_, b) => Array.from({ length: tokens - 2 }, (_, i) => words[(b * 7919 + i * 31) % words.length]).join(' '));
}
