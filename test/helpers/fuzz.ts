// What every fuzz suite shares: fast-check's run parameters (a fixed seed in CI, more runs on
// request), the outcome check every case must pass (a result or a typed error, within a time
// bound), and a tally of outcomes per target that each suite prints at the end.
//
//   WGPOOL_FUZZ_RUNS=2000 npx vitest run test/hardening    # longer local runs (scaled per suite)
//   WGPOOL_FUZZ_SEED=42 …                                   # another seed (default: fixed)
import fc from 'fast-check';
import { WgpoolError } from '../../src/gpu/errors';

const SEED = Number(process.env.WGPOOL_FUZZ_SEED ?? 16016);

/**
 * fast-check parameters for a suite whose CI budget is `ciRuns` cases. WGPOOL_FUZZ_RUNS scales every
 * suite by the same factor against the reference count of 100 cases.
 */
export function fuzzParams(ciRuns: number, timeLimitMs = 120_000): fc.Parameters<unknown> {
  const env = process.env.WGPOOL_FUZZ_RUNS;
  const numRuns = env ? Math.max(1, Math.round((ciRuns * Number(env)) / 100)) : ciRuns;
  return { seed: SEED, numRuns, interruptAfterTimeLimit: env ? undefined : timeLimitMs, markInterruptAsFailure: false };
}

/** How one case ended. */
export type Outcome = { kind: 'ok'; value: unknown } | { kind: 'error'; error: WgpoolError | Error; label: string };

/** Outcomes per target, printed by report(): "cases per target, errors by kind". */
export class Tally {
  private readonly counts = new Map<string, Map<string, number>>();

  add(target: string, label: string): void {
    const m = this.counts.get(target) ?? new Map<string, number>();
    m.set(label, (m.get(label) ?? 0) + 1);
    this.counts.set(target, m);
  }

  cases(target: string): number {
    return [...(this.counts.get(target)?.values() ?? [])].reduce((a, b) => a + b, 0);
  }

  report(suite: string): string {
    const lines = [...this.counts].map(([t, m]) => `  ${t}: ${this.cases(t)} cases — ${[...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    return `${suite}\n${lines.join('\n')}`;
  }
}

/** A label for an error: its class name and status (AbortError for aborts). */
export function errorLabel(e: unknown): string {
  if (e instanceof WgpoolError) return `${e.name}(${e.status})`;
  if (e instanceof Error) return e.name;
  return typeof e;
}

/**
 * Run one case: it must settle within `timeoutMs` with a value or a typed error (a WgpoolError, or
 * an AbortError when `abortable`). Anything else — a hang, a TypeError from deep inside, a string
 * thrown — fails the property with the input that caused it.
 */
export async function settle(run: () => unknown, timeoutMs: number, opts: { abortable?: boolean } = {}): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`did not settle within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const value = await Promise.race([Promise.resolve().then(run), hang]);
    return { kind: 'ok', value };
  } catch (e) {
    if (e instanceof HangError) throw e;
    if (e instanceof WgpoolError) return { kind: 'error', error: e, label: errorLabel(e) };
    if (opts.abortable && e instanceof Error && e.name === 'AbortError') return { kind: 'error', error: e, label: 'AbortError' };
    throw new UntypedError(e);
  } finally {
    clearTimeout(timer);
  }
}

class HangError extends Error {
  override name = 'HangError';
}

class UntypedError extends Error {
  override name = 'UntypedError';
  constructor(override readonly cause: unknown) {
    super(`untyped error: ${cause instanceof Error ? `${cause.name}: ${cause.message}\n${cause.stack}` : String(cause)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries shared by the request fuzzers

/** Lone surrogates, NUL, combining marks, RTL, emoji, a BOM: the text that breaks naive code. */
const AWKWARD = ['\uD800', '\uDFFF', '\uDBFF\uD800', '\0', '\u0301', '\u202E', '\uFEFF', '👩‍👩‍👧', '\r\n', '\t', ' ', '[CLS]', '[SEP]', '<s>', '</s>', '<|endoftext|>'];

/** Strings: any code unit (lone surrogates included), awkward pieces, and occasionally long ones. */
export const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.array(fc.oneof(fc.constantFrom(...AWKWARD), fc.string({ maxLength: 6 })), { maxLength: 12 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 200, maxLength: 900 }) },
  { weight: 1, arbitrary: fc.nat({ max: 3000 }).map((n) => 'word '.repeat(n)) },
);

/** Numbers where integers are expected: awkward values first. */
export const number = fc.oneof(
  fc.constantFrom(0, -1, 1, -0, 0.5, -2.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, -1e308, NaN, Infinity, -Infinity, Number.MIN_VALUE),
  fc.integer({ min: -5, max: 600 }),
  fc.double(),
);

/** Any JSON-ish value (the wrong type for a field). */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: number },
  { weight: 3, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, true, false, [], {}) },
  { weight: 1, arbitrary: fc.array(fc.oneof(number, text), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(number, text), { maxKeys: 3 }) },
);

/** A token-id list: mostly valid ids, sometimes out of range, negative, fractional or not numbers. */
export const idList = fc.array(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 500 }) }, { weight: 1, arbitrary: number }, { weight: 1, arbitrary: anyValue }), { maxLength: 40 });

/** A pre-tokenized input ({ids}, vLLM's list[int]) or something shaped almost like one. */
export const tokenIds: fc.Arbitrary<unknown> = fc.oneof({ weight: 4, arbitrary: idList.map((ids) => ({ ids })) }, { weight: 1, arbitrary: idList }, { weight: 1, arbitrary: fc.record({ ids: anyValue }) });

/** An input (string, token ids, or the wrong thing) or a list of them. */
export const inputs: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 4, arbitrary: fc.array(text, { maxLength: 5 }) },
  { weight: 1, arbitrary: tokenIds },
  { weight: 1, arbitrary: fc.array(fc.oneof(text, tokenIds), { maxLength: 3 }) },
  { weight: 1, arbitrary: anyValue },
);

/** Sometimes a field is left out, sometimes it is valid-looking, sometimes anything. */
export function field<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: valid }, { weight: 2, arbitrary: anyValue });
}

/** Left out or valid-looking: the fields of a request meant to get through validation. */
export function maybe<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(valid, { nil: undefined, freq: 2 });
}

/** Inputs meant to be accepted: texts (awkward Unicode included), lists of them, or token ids. */
export const saneInputs: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: text },
  { weight: 3, arbitrary: fc.array(text, { minLength: 1, maxLength: 5 }) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 30 }).map((ids) => ({ ids })) },
);
