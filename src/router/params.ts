// Per-task parameter rules, as vLLM's pooling params validate them. An error here is a 400 whose
// message matches vLLM's wording, so clients written against vLLM see the same text.

import { BadRequestError } from '../gpu/errors';

import type { Task } from './types';

export type { Task };

/** The parameters each task accepts (vLLM PoolingParams.valid_parameters). */
export const TASK_PARAMS: Record<Task, readonly string[]> = {
  embed: ['dimensions', 'use_activation'],
  token_embed: ['dimensions', 'use_activation'],
  classify: ['use_activation'],
  score: ['use_activation'],
  token_classify: ['use_activation'],
};

/** Reject parameters the task does not take, naming them as vLLM does. */
export function checkTaskParams(task: Task, given: Record<string, unknown>): void {
  const valid = TASK_PARAMS[task];
  const invalid = Object.keys(given).filter((k) => given[k] !== undefined && given[k] !== null && !valid.includes(k));
  if (invalid.length) {
    throw new BadRequestError(
      `Task '${task}' only supports ${pyList(valid)} parameters, does not support ${pyList(invalid)} parameters`,
    );
  }
}

function pyList(xs: readonly string[]): string {
  return `[${xs.map((x) => `'${x}'`).join(', ')}]`;
}

export interface MatryoshkaInfo {
  modelName: string;
  hiddenSize: number;
  isMatryoshka: boolean;
  matryoshkaDimensions: number[] | null;
}

/**
 * Validate `dimensions` against the model's matryoshka support (vLLM PoolingParams.verify): a model
 * is matryoshka when config.json has `is_matryoshka: true` or a non-empty `matryoshka_dimensions`;
 * when the list exists only its sizes are allowed. Returns the number of columns to keep.
 */
export function resolveDimensions(dimensions: unknown, m: MatryoshkaInfo): number {
  if (dimensions === undefined || dimensions === null) return m.hiddenSize;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions)) {
    throw new BadRequestError(`dimensions must be an integer, got ${JSON.stringify(dimensions)}`);
  }
  const listed = m.matryoshkaDimensions && m.matryoshkaDimensions.length ? m.matryoshkaDimensions : null;
  if (!m.isMatryoshka && !listed) {
    throw new BadRequestError(
      `Model "${m.modelName}" does not support matryoshka representation, changing output dimensions will lead to poor results.`,
    );
  }
  if (listed) {
    if (!listed.includes(dimensions)) {
      throw new BadRequestError(
        `Model "${m.modelName}" only supports [${listed.join(', ')}] matryoshka dimensions, use other output dimensions will lead to poor results.`,
      );
    }
  } else if (dimensions < 1) {
    throw new BadRequestError('Dimensions must be greater than 0');
  }
  if (dimensions > m.hiddenSize) {
    throw new BadRequestError(`dimensions ${dimensions} is larger than the model's hidden size ${m.hiddenSize}`);
  }
  return dimensions;
}
