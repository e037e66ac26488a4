// Request inputs before they reach the tokenizer: text or pre-tokenized ids (vLLM's completion-style
// `input: list[int] | list[list[int]]`). Token ids are the model input as they stand — vLLM adds no
// special tokens and no prompt to them — so all that is left to do is check them against the
// model's embedding table and apply truncate_prompt_tokens by cutting the id list itself (there are
// no "special tokens the post-processor added" to protect in a list the caller built).

import { BadRequestError } from '../gpu/errors';
import type { TruncationSide } from '../tokenizer/tokenizer';
import type { Input, TokenIds } from './types';

export function isTokenIds(x: unknown): x is TokenIds {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Array.isArray((x as TokenIds).ids);
}

/** A request's inputs as a non-empty list; each must be a string or `{ ids }`. */
export function inputList(input: Input | Input[]): Input[] {
  const list = typeof input === 'string' || isTokenIds(input) ? [input] : input;
  if (!Array.isArray(list) || list.length === 0) throw new BadRequestError('Input must be a non-empty string, list of strings, or list of token ids.');
  list.forEach((x, i) => {
    if (typeof x !== 'string' && !isTokenIds(x)) {
      throw new BadRequestError(`Each input must be a string or token ids; input[${i}] is ${x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x}.`);
    }
  });
  return list;
}

export interface IdLimits {
  /** Rows of the embedding table (config.json vocab_size). */
  vocabSize: number;
  /** The model's longest input. */
  maxLength: number;
  /** Which input of the request this is, for error messages. */
  index: number;
}

/**
 * Check pre-tokenized ids and truncate them. `limit` is the resolved truncate_prompt_tokens (already
 * checked against max_model_len), undefined when the request did not ask to truncate. An id outside
 * the embedding table is refused naming it, as vLLM refuses it ("Token id N is out of vocabulary").
 */
export function prepareTokenIds(input: TokenIds, limits: IdLimits, limit: number | undefined, side: TruncationSide): number[] {
  const ids = input.ids;
  if (ids.length === 0) throw new BadRequestError(`input[${limits.index}] is an empty list of token ids.`);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw new BadRequestError(`Token ids must be integers; input[${limits.index}][${i}] is ${JSON.stringify(id)}.`);
    }
    if (id < 0 || id >= limits.vocabSize) {
      throw new BadRequestError(`Token id ${id} is out of vocabulary (input[${limits.index}][${i}]; the model has ids 0..${limits.vocabSize - 1}).`);
    }
  }
  let out = ids;
  if (limit !== undefined && ids.length > limit) out = side === 'left' ? ids.slice(ids.length - limit) : ids.slice(0, limit);
  if (out.length > limits.maxLength) {
    throw new BadRequestError(
      `This model's maximum context length is ${limits.maxLength} tokens. However, you requested ${out.length} tokens in the input. Please reduce the length of the input, or set truncate_prompt_tokens.`,
    );
  }
  return out.slice();
}
