// The tab soak's request mix and its checking, shared by the Web Worker engine soak (soak_worker.ts)
// and the Service Worker soak (soak_sw.ts). A table of calls is answered once each, alone, for
// reference; then random calls from it are sent in bursts — some of 1–16, one in ten of 80–140 so
// the engine's backpressure limit is passed — with one in ten carrying an AbortSignal (aborted
// before sending or 0–20 ms later). Each outcome is counted: an answer equal to its reference,
// a wrong one, an abort of an aborted call, a 429 (OverloadedError), or anything else (a failure).
// A requestAnimationFrame loop counts frames and the longest gap between them meanwhile.

const WORDS = 'the quick brown fox jumps over a lazy dog while seven wizards quietly hex ünïcode text 🦊 12 345'.split(' ');

/** A seeded LCG: the same mix on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** Sentences of 1–80 words (mostly short), from the seeded generator. */
export function sentences(seed: number): () => string {
  const r = rng(seed);
  return () => Array.from({ length: 1 + Math.floor(r() ** 2 * 80) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
}

/** Largest absolute difference between two answers (numbers, typed arrays, arrays, objects); Infinity when their shapes differ. */
export function diff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = a as Float32Array, y = b as Float32Array;
    if (x.length !== y.length) return Infinity;
    let m = 0;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
    return m;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length ? a.reduce((m: number, x, i) => Math.max(m, diff(x, b[i])), 0) : Infinity;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const k = Object.keys(a);
    return k.length === Object.keys(b).length ? k.reduce((m, n) => Math.max(m, diff((a as never)[n], (b as never)[n])), 0) : Infinity;
  }
  return a === b ? 0 : Infinity;
}

/** The page's JS heap in bytes (Chromium's performance.memory; NaN elsewhere). */
export const heap = () => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? NaN;

/** One request of the mix: resolves with its answer, or rejects (name OverloadedError for a 429). */
export type Call = (signal?: AbortSignal) => Promise<unknown>;

export interface Counts {
  ok: number;
  wrong: number;
  aborted: number;
  overloaded: number;
  /** Every other outcome, as "name: message" (each one is a failure). */
  other: string[];
}

/** Each call answered alone, in order: what the mix's answers must equal. */
export async function references(table: Call[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const call of table) out.push(await call());
  return out;
}

/** Send `n` calls from `table` in seeded bursts and count their outcomes against `reference`. */
export async function mix(table: Call[], reference: unknown[], n: number, seed: number, tolerance = 1e-5): Promise<Counts> {
  const counts: Counts = { ok: 0, wrong: 0, aborted: 0, overloaded: 0, other: [] };
  const m = rng(seed);
  let sent = 0;
  while (sent < n) {
    const burst = Math.min(n - sent, m() < 0.1 ? 80 + Math.floor(m() * 60) : 1 + Math.floor(m() * 16));
    const jobs: Promise<void>[] = [];
    for (let j = 0; j < burst; j++, sent++) {
      const k = Math.floor(m() * table.length);
      let ctl: AbortController | undefined;
      if (m() < 0.1) {
        ctl = new AbortController();
        const when = m();
        if (when < 0.3) ctl.abort();
        else setTimeout(() => ctl!.abort(), Math.floor(when * 20));
      }
      jobs.push(
        table[k](ctl?.signal).then(
          (v) => void (diff(v, reference[k]) <= tolerance ? counts.ok++ : counts.wrong++),
          (e: Error) => {
            if (e.name === 'OverloadedError') counts.overloaded++;
            else if (e.name === 'AbortError' && ctl?.signal.aborted) counts.aborted++;
            else counts.other.push(`${e.name}: ${e.message}`);
          },
        ),
      );
    }
    await Promise.all(jobs);
  }
  return counts;
}
