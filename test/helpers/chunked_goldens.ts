// Typed loader for test/fixtures/goldens/chunked-<fixture>.json: float64 chunk and combined
// embeddings of long inputs, written by tools/make_chunked_goldens.py (its docstring says how vLLM
// chunks and combines, and what each field holds).
import { readFileSync } from 'node:fs';
import { FIXTURES_ROOT, GOLDENS_ROOT } from './fixtures';

export type ChunkMode = 'cls' | 'mean' | 'max' | 'lasttoken';

export interface ChunkedCase {
  name: string;
  text: string;
  /** The whole input, special tokens included. */
  input_ids: number[];
  num_tokens: number;
  /** Consecutive max_model_len slices of input_ids, each with its pooled vector (before normalize) per mode. */
  chunks: { input_ids: number[]; token_type_ids: number[]; pooled: Record<ChunkMode, number[]> }[];
  /** Token-count-weighted means of the chunk outputs, per pooling mode inside the chunks. */
  combined: Record<ChunkMode, { normalized: number[]; raw: number[]; matryoshka: Record<string, number[]> }>;
}

export interface ChunkedGolden {
  fixture: 'tiny-bert-embed-short' | 'tiny-qwen3-embed';
  model_type: string;
  /** Engine hf_overrides that serve the fixture with max_model_len = `max_model_len`. */
  hf_overrides: Record<string, unknown>;
  max_model_len: number;
  pooling: ChunkMode;
  matryoshka: number[];
  cases: ChunkedCase[];
}

export const CHUNKED_GOLDENS = ['tiny-bert-embed-short', 'tiny-qwen3-embed'] as const;

export function loadChunkedGolden(name: ChunkedGolden['fixture']): ChunkedGolden {
  const g = JSON.parse(readFileSync(`${GOLDENS_ROOT}/chunked-${name}.json`, 'utf8')) as ChunkedGolden;
  if (g.fixture !== name) throw new Error(`chunked-${name}.json names fixture ${JSON.stringify(g.fixture)}`);
  for (const c of g.cases) {
    const joined = c.chunks.flatMap((k) => k.input_ids);
    if (joined.join() !== c.input_ids.join() || c.num_tokens !== c.input_ids.length) throw new Error(`chunked-${name}.json: case ${c.name} chunks do not add up`);
  }
  return g;
}

/** Model folder of a chunked golden's fixture (tiny-bert-embed-short is not one of the oracle's FIXTURES). */
export function chunkedFixtureDir(name: ChunkedGolden['fixture']): string {
  return `${FIXTURES_ROOT}/${name}`;
}

/** Engine wgpool's `pooling` mode for a golden mode name. */
export function poolMode(m: ChunkMode): 'cls' | 'mean' | 'max' | 'last' {
  return m === 'lasttoken' ? 'last' : m;
}
