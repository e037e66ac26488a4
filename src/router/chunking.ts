// Chunked processing of long inputs for `embed`, as vLLM does it with PoolerConfig
// `enable_chunked_processing` + `max_embed_len` (vllm/entrypoints/pooling/embed/io_processor.py;
// examples/pooling/embed/openai_embedding_long_text):
//
// - The input is tokenized whole, special tokens included, then cut into consecutive slices of
//   max_model_len ids (vLLM's chunk_list). No special tokens are added per chunk: only the first
//   chunk starts with [CLS], only the last ends with [SEP] / <|endoftext|>. Each chunk is an ordinary
//   sequence (positions from 0) that the scheduler packs beside any other request's sequences.
// - Each chunk goes through the usual head: the model's pooling inside the chunk (CLS, MEAN, LAST —
//   vLLM refuses none of them; MAX and MEAN_SQRT_LEN are wgpool's extension and follow the same
//   rule), then the matryoshka slice and normalize as `use_activation` says.
// - The chunk outputs are combined by a token-count-weighted mean, Σ len_i·out_i / Σ len_i, and that
//   is the answer. vLLM does not normalize the mean again, so with use_activation on the result is a
//   mean of unit vectors (norm ≤ 1); `renormalize` is wgpool's opt-in for a unit-norm answer (with
//   use_activation off the raw mean stays as it is).
// - Usage counts every token of the input.
//
// Lengths (vLLM's messages; `This model's …`): an input longer than max_embed_len is refused; one
// longer than max_model_len is chunked when chunking is on, else refused (the "enable chunked
// processing" hint appears once max_embed_len is configured, as in vLLM).

import { BadRequestError, InternalError } from '../gpu/errors';

export interface ChunkingOptions {
  /** Split inputs longer than the model's limit into chunks (vLLM enable_chunked_processing). */
  enabled: boolean;
  /** Longest input accepted for embed, in tokens (vLLM max_embed_len); unset: no cap while chunking, else the model's limit. */
  maxEmbedLen?: number;
  /** wgpool extension: L2-normalize the combined vector of a normalized (use_activation) embed (vLLM leaves the weighted mean as is). */
  renormalize?: boolean;
}

/** Engine-option form of the chunking settings, checked once at load. */
export function checkChunkingOptions(o: { enableChunkedProcessing?: boolean; maxEmbedLen?: number; renormalizeChunks?: boolean }): ChunkingOptions | undefined {
  const { enableChunkedProcessing: enabled, maxEmbedLen, renormalizeChunks } = o;
  if (enabled !== undefined && typeof enabled !== 'boolean') throw new BadRequestError(`enableChunkedProcessing must be a boolean, got ${JSON.stringify(enabled)}.`);
  if (maxEmbedLen !== undefined && (!Number.isSafeInteger(maxEmbedLen) || maxEmbedLen < 1)) {
    throw new BadRequestError(`maxEmbedLen must be a positive integer, got ${JSON.stringify(maxEmbedLen)}.`);
  }
  if (renormalizeChunks !== undefined && typeof renormalizeChunks !== 'boolean') throw new BadRequestError(`renormalizeChunks must be a boolean, got ${JSON.stringify(renormalizeChunks)}.`);
  if (!enabled && maxEmbedLen === undefined) return undefined;
  return { enabled: !!enabled, ...(maxEmbedLen !== undefined ? { maxEmbedLen } : {}), ...(renormalizeChunks ? { renormalize: true } : {}) };
}

/**
 * How many chunks an embed input of `n` tokens runs as (1: as it is), or a BadRequestError with
 * vLLM's text when it is too long. `maxModelLen` is the model's limit (the chunk size).
 */
export function chunkCount(n: number, maxModelLen: number, c: ChunkingOptions): number {
  if (c.maxEmbedLen !== undefined && n > c.maxEmbedLen) {
    throw new BadRequestError(
      `This model's maximum embedding input length is ${c.maxEmbedLen} tokens. However, you requested ${n} tokens in the input for embedding generation. Please reduce the length of the input.`,
    );
  }
  if (n <= maxModelLen) return 1;
  if (!c.enabled) {
    throw new BadRequestError(
      `This model's maximum position embeddings length is ${maxModelLen} tokens. However, you requested ${n} tokens in the input for embedding generation. Please reduce the length of the input or enable chunked processing.`,
    );
  }
  return Math.ceil(n / maxModelLen);
}

/** One tokenized input: ids and, where the model has them, token type ids. */
export interface TokenRun {
  ids: ArrayLike<number>;
  typeIds?: ArrayLike<number>;
}

/** Consecutive slices of `size` tokens (vLLM chunk_list); the last may be shorter. */
export function splitChunks(seq: TokenRun, size: number): { ids: number[]; typeIds: number[] }[] {
  if (!Number.isSafeInteger(size) || size < 1) throw new InternalError(`chunk size must be a positive integer, got ${size}`);
  const ids = Array.from(seq.ids);
  const typeIds = seq.typeIds ? Array.from(seq.typeIds) : new Array<number>(ids.length).fill(0);
  const out: { ids: number[]; typeIds: number[] }[] = [];
  for (let i = 0; i < ids.length; i += size) out.push({ ids: ids.slice(i, i + size), typeIds: typeIds.slice(i, i + size) });
  return out;
}

/**
 * Σ w_i·v_i / Σ w_i over the chunk outputs (w_i = the chunk's token count), accumulated in float64.
 * With `renormalize` the mean is then scaled to unit L2 norm (x / max(‖x‖, 1e-12), as F.normalize).
 */
export function combineChunks(vectors: readonly Float32Array[], weights: readonly number[], renormalize = false): Float32Array {
  if (vectors.length === 0 || vectors.length !== weights.length) throw new InternalError(`combineChunks: ${vectors.length} vectors, ${weights.length} weights`);
  const d = vectors[0].length;
  const acc = new Float64Array(d);
  let total = 0;
  vectors.forEach((v, i) => {
    if (v.length !== d) throw new InternalError(`combineChunks: chunk ${i} has ${v.length} values, chunk 0 has ${d}`);
    const w = weights[i];
    for (let j = 0; j < d; j++) acc[j] += w * v[j];
    total += w;
  });
  if (!(total > 0)) throw new InternalError('combineChunks: the chunk weights sum to 0');
  for (let j = 0; j < d; j++) acc[j] /= total;
  if (renormalize) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += acc[j] * acc[j];
    const s = 1 / Math.max(Math.sqrt(ss), 1e-12);
    for (let j = 0; j < d; j++) acc[j] *= s;
  }
  return Float32Array.from(acc);
}

/** sentence-transformers 'ubinary' of one vector on the host: bit = x > 0, MSB-first, as quantize_bits.wgsl packs. */
export function ubinaryOf(v: Float32Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(v.length / 8));
  for (let j = 0; j < v.length; j++) if (v[j] > 0) out[j >> 3] |= 0x80 >> (j & 7);
  return out;
}
