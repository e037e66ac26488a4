// Reading config.json fields with messages that name the field, the bad value and what was expected:
// the checks every family's parser (configs/*.ts) builds on.

import { ModelLoadError } from '../../gpu/errors';

export function positiveInt(v: unknown): number | undefined {
  return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined;
}

export function nonNegativeInt(v: unknown): number | undefined {
  return Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined;
}

export function positiveNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

export function boolean(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

/** `check`, with null accepted as null (fields HF configs default to None). */
export function nullable<T>(check: (v: unknown) => T | undefined): (v: unknown) => T | null | undefined {
  return (v) => (v === null ? null : check(v));
}

function indexBelow(below: number | undefined): (v: unknown) => number | undefined {
  return (v) => {
    const n = nonNegativeInt(v);
    return n !== undefined && (below === undefined || n < below) ? n : undefined;
  };
}

/** Field access with messages that name the field, the bad value and what was expected. */
export class Fields {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly where: string,
  ) {}

  invalid(key: string, value: unknown, expected: string): ModelLoadError {
    return new ModelLoadError(`${this.where}: "${key}" must be ${expected}, got ${JSON.stringify(value)}`);
  }

  positiveInt(key: string): number {
    const v = this.raw[key];
    if (v === undefined || v === null) throw new ModelLoadError(`${this.where}: required field "${key}" is missing`);
    const n = positiveInt(v);
    if (n === undefined) throw this.invalid(key, v, 'a positive integer');
    return n;
  }

  /** The field through `check` (undefined = invalid), or `fallback` when absent. */
  optional<T>(key: string, fallback: T, check: (v: unknown) => T | undefined, expected: string): T {
    const v = this.raw[key];
    if (v === undefined) return fallback;
    const out = check(v);
    if (out === undefined) throw this.invalid(key, v, expected);
    return out;
  }

  bool(key: string, fallback: boolean): boolean {
    return this.optional(key, fallback, boolean, 'true or false');
  }

  /** A non-negative integer (a token id, a table size), below `below` when given. */
  index(key: string, fallback: number, below?: number): number {
    return this.optional(key, fallback, indexBelow(below), below === undefined ? 'a non-negative integer' : `an integer in [0, ${below})`);
  }

  /** index() that may also be null (HF's None: pad_token_id of most configs). */
  nullableIndex(key: string, fallback: number | null, below?: number): number | null {
    return this.optional(key, fallback, nullable(indexBelow(below)), below === undefined ? 'null or a non-negative integer' : `null or an integer in [0, ${below})`);
  }

  /** hidden / heads must be whole (and even, for rotary embeddings over the whole head). */
  checkHeads(hidden: number, heads: number, rotary: boolean): void {
    if (rotary ? hidden % heads !== 0 || (hidden / heads) % 2 !== 0 : hidden % heads !== 0) {
      throw new ModelLoadError(
        rotary
          ? `${this.where}: hidden_size ${hidden} must split into num_attention_heads ${heads} heads of even width (rotary embeddings)`
          : `${this.where}: hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}`,
      );
    }
  }

  /** num_key_value_heads (GQA) must divide num_attention_heads. */
  checkKvHeads(heads: number, kvHeads: number): void {
    if (heads % kvHeads !== 0) throw new ModelLoadError(`${this.where}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  }

  checkEvenHeadDim(headDim: number): void {
    if (headDim % 2 !== 0) throw new ModelLoadError(`${this.where}: head_dim ${headDim} must be even for rotary embeddings`);
  }

  /**
   * transformers ≥ 5 writes per-layer-type RoPE bases inside rope_parameters ({full_attention: {rope_type,
   * rope_theta}, sliding_attention: …}): the theta of each of `layerTypes`, each checked to be a plain
   * ("default") RoPE; a missing entry is refused like a malformed one.
   */
  ropeThetasByLayerType(layerTypes: readonly string[]): Record<string, number> {
    const rp = this.raw.rope_parameters as Record<string, { rope_type?: unknown; rope_theta?: unknown }>;
    const out: Record<string, number> = {};
    for (const t of layerTypes) {
      const p = rp[t];
      if (!p || (p.rope_type !== undefined && p.rope_type !== 'default') || positiveNumber(p.rope_theta) === undefined) {
        throw new ModelLoadError(`${this.where}: rope_parameters ${JSON.stringify(rp)} is not supported (rope_type "default" with a rope_theta per layer type)`);
      }
      out[t] = p.rope_theta as number;
    }
    return out;
  }

  /** rope_scaling must be absent or null (the families that implement no scaling). */
  refuseRopeScaling(): void {
    if (this.raw.rope_scaling !== undefined && this.raw.rope_scaling !== null) {
      throw new ModelLoadError(`${this.where}: rope_scaling ${JSON.stringify(this.raw.rope_scaling)} is not supported (only null)`);
    }
  }

  /** sentence-transformers' matryoshka sizes cannot exceed the hidden size. */
  checkMatryoshka(dims: number[] | null, hidden: number): void {
    const bad = dims?.find((d) => d > hidden);
    if (bad !== undefined) throw new ModelLoadError(`${this.where}: matryoshka_dimensions entry ${bad} exceeds hidden_size ${hidden}`);
  }
}
