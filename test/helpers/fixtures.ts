// The tiny Hugging Face-layout model fixtures under test/fixtures/models (copied from the oracle,
// without its onnx/ exports): seeded random weights, real tokenizer/config/sentence-transformers files.
import { fileURLToPath } from 'node:url';

export const FIXTURES = [
  'tiny-bert-embed',
  'tiny-bert-cls-pool',
  'tiny-bert-seqcls',
  'tiny-bert-crossenc',
  'tiny-bert-tokcls',
  'tiny-roberta-embed',
  'tiny-qwen3-embed',
  'tiny-qwen3-seqcls',
  'tiny-distilbert-embed',
  'tiny-distilbert-seqcls',
  'tiny-qwen2-embed',
  'tiny-qwen2-bidir-embed',
  'tiny-llama-seqcls',
  'tiny-nomic-embed',
  'tiny-modernbert-embed',
  'tiny-modernbert-crossenc',
  'tiny-mistral-embed',
  'tiny-gemma3-embed',
  'tiny-mpnet-embed',
  'tiny-gtenew-embed',
] as const;

export type FixtureName = (typeof FIXTURES)[number];

/** Absolute path of test/fixtures/models (no trailing slash). */
export const FIXTURES_ROOT = fileURLToPath(new URL('../fixtures/models', import.meta.url));

/** Absolute path of test/fixtures/goldens (no trailing slash). */
export const GOLDENS_ROOT = fileURLToPath(new URL('../fixtures/goldens', import.meta.url));

/** Absolute path of one fixture's model folder. */
export function fixtureDir(name: FixtureName): string {
  if (!(FIXTURES as readonly string[]).includes(name)) throw new Error(`unknown fixture ${JSON.stringify(name)}`);
  return `${FIXTURES_ROOT}/${name}`;
}
