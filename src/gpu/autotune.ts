// Measured kernel choice: which matmul variant runs this model fastest on this adapter is decided by
// a short timed trial at load, on the model's own dispatch shapes, instead of a vendor rule
// (SwiftShader rewards register blocking, GPUs tiling, and neither rule knows a given laptop).
//
// The trial: every candidate variant is compiled, then each of the model's GEMM shapes (QKV/output
// [T, H]·[H, H], FFN up [T, H]·[H, I], FFN down [T, I]·[I, H], at a representative T) runs `reps`
// times in one pass; the best of `rounds` submits counts. A variant slower than `giveUp`× the best so
// far stops early, so a bad candidate (naive on a big shape) costs little. The winner is remembered
// per adapter + model shape: in memory for the process, and through an optional `TuneStore` (a JSON
// file, IndexedDB, the model cache) across runs. `matmulVariant` skips the trial.
//
// CPU implementations of WebGPU (SwiftShader, lavapipe) skip it by default (`measure: 'hardware'`):
// there the answer is known (register blocking) and the trial's extra compiles cost tens of seconds
// at every load of every test suite; `measure: 'always'` times them too (the benchmark kit does).

import type { Gpu } from './context';
import { MATMUL_VARIANTS, MatmulKernel, flops, pickMatmulVariant, type MatmulShape, type MatmulVariant } from '../kernels/matmul';

export interface MatmulTrial {
  variant: MatmulVariant;
  /** Best time of one pass over every shape (ms); Infinity when it gave up early. */
  ms: number;
  /** Useful GFLOP/s over the trial shapes at that time. */
  gflops: number;
}

export interface MatmulChoice {
  variant: MatmulVariant;
  /**
   * option: matmulVariant given; measured: trial run now; remembered: from memory or the store;
   * rule: a software adapter with `measure: 'hardware'` (pickMatmulVariant, no trial).
   */
  source: 'option' | 'measured' | 'remembered' | 'rule';
  /** Adapter + shapes the choice is remembered under. */
  key: string;
  /** Wall time the choice took at load (compiles + trial), ms. */
  costMs: number;
  trials: MatmulTrial[];
}

/** Where choices persist between runs (both methods may be async). Values are MatmulChoice JSON. */
export interface TuneStore {
  get(key: string): MatmulChoice | undefined | Promise<MatmulChoice | undefined>;
  set(key: string, choice: MatmulChoice): void | Promise<void>;
}

export interface TuneOptions {
  /** Skip the trial and use this variant (EngineOptions.matmulVariant). */
  variant?: MatmulVariant;
  /** Run the trial on every adapter, or only on hardware ones (default 'always' here; the engine passes 'hardware'). */
  measure?: 'always' | 'hardware';
  store?: TuneStore;
  candidates?: readonly MatmulVariant[];
  /** Dispatches of each shape per pass (default 2) and passes, best counted (default 3). */
  reps?: number;
  rounds?: number;
  /** Stop timing a variant once it is this many times slower than the best (default 3). */
  giveUp?: number;
}

const remembered = new Map<string, MatmulChoice>();

/** Forget the in-memory choices (tests). */
export function clearTuneMemory(): void {
  remembered.clear();
}

/** The GEMM shapes of one encoder layer at `tokens` rows: attention projections and the FFN. */
export function encoderMatmulShapes(hidden: number, intermediate: number, tokens = 128): MatmulShape[] {
  return [
    { M: tokens, N: hidden, K: hidden },
    { M: tokens, N: intermediate, K: hidden },
    { M: tokens, N: hidden, K: intermediate },
  ];
}

export function tuneKey(gpu: Gpu, shapes: readonly MatmulShape[]): string {
  const a = gpu.adapter;
  const adapter = [a.vendor, a.architecture, a.device, a.description].join('/');
  return `matmul|${adapter}|${shapes.map((s) => `${s.M}x${s.N}x${s.K}`).join(',')}`;
}

async function timeVariant(gpu: Gpu, variant: MatmulVariant, shapes: readonly MatmulShape[], opts: Required<Pick<TuneOptions, 'reps' | 'rounds' | 'giveUp'>>, best: number): Promise<number> {
  const kernel = await MatmulKernel.create(gpu, { variant });
  const buffers: GPUBuffer[] = [];
  const alloc = (floats: number, label: string) => {
    const b = gpu.createBuffer({ label, size: Math.max(16, floats * 4), usage: GPUBufferUsage.STORAGE });
    buffers.push(b);
    return b;
  };
  const bound: { destroy(): void }[] = [];
  try {
    // Contents do not matter for timing: zero-filled buffers cost the same arithmetic.
    const pass = shapes.map((s, i) => kernel.bind({ x: alloc(s.M * s.K, `tune.x${i}`), w: alloc(s.N * s.K, `tune.w${i}`), y: alloc(s.M * s.N, `tune.y${i}`) }, `tune_${variant}_${i}`).update(s))
      .flatMap((d) => (bound.push(d), Array.from({ length: opts.reps }, () => d)));
    await gpu.run(pass, `tune_${variant}_warmup`); // first run pays lazy driver work
    let fastest = Infinity;
    for (let r = 0; r < opts.rounds; r++) {
      const t0 = performance.now();
      await gpu.run(pass, `tune_${variant}`);
      fastest = Math.min(fastest, (performance.now() - t0) / opts.reps);
      if (fastest > best * opts.giveUp) return fastest;
    }
    return fastest;
  } finally {
    bound.forEach((d) => d.destroy());
    buffers.forEach((b) => b.destroy());
  }
}

/** The matmul variant for this model on this adapter: the option, a remembered choice, or a trial. */
export async function chooseMatmulVariant(gpu: Gpu, shapes: readonly MatmulShape[], opts: TuneOptions = {}): Promise<MatmulChoice> {
  const key = tuneKey(gpu, shapes);
  const t0 = performance.now();
  if (opts.variant) return { variant: opts.variant, source: 'option', key, costMs: 0, trials: [] };
  if (opts.measure === 'hardware' && gpu.adapter.isSoftware) {
    return { variant: pickMatmulVariant(gpu.adapter), source: 'rule', key, costMs: 0, trials: [] };
  }
  const known = remembered.get(key) ?? (await opts.store?.get(key));
  const candidates = opts.candidates ?? MATMUL_VARIANTS;
  if (known && candidates.includes(known.variant)) {
    remembered.set(key, known);
    return { ...known, source: 'remembered', costMs: performance.now() - t0 };
  }
  const settings = { reps: opts.reps ?? 2, rounds: opts.rounds ?? 3, giveUp: opts.giveUp ?? 3 };
  const work = shapes.reduce((a, s) => a + flops(s), 0);
  const trials: MatmulTrial[] = [];
  let best = Infinity;
  for (const variant of candidates) {
    const ms = await timeVariant(gpu, variant, shapes, settings, best);
    best = Math.min(best, ms);
    trials.push({ variant, ms, gflops: work / (ms * 1e6) });
  }
  const winner = trials.reduce((a, b) => (b.ms < a.ms ? b : a));
  const choice: MatmulChoice = { variant: winner.variant, source: 'measured', key, costMs: performance.now() - t0, trials };
  remembered.set(key, choice);
  await opts.store?.set(key, choice);
  return choice;
}

/**
 * A TuneStore over one JSON text (a file in Node, localStorage in a page): `read` returns the text
 * or undefined, `write` saves it. A corrupt text is treated as empty (the trial just runs again).
 */
export function jsonTuneStore(io: { read(): string | undefined | Promise<string | undefined>; write(text: string): void | Promise<void> }): TuneStore {
  const load = async (): Promise<Record<string, MatmulChoice>> => {
    try {
      const parsed: unknown = JSON.parse((await io.read()) ?? '{}');
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, MatmulChoice>) : {};
    } catch {
      return {};
    }
  };
  return {
    get: async (key) => {
      const c = (await load())[key];
      return c && MATMUL_VARIANTS.includes(c.variant) ? c : undefined;
    },
    set: async (key, choice) => {
      const all = await load();
      // Infinity (a variant given up on) is not JSON; null reads back as "not measured".
      all[key] = { ...choice, trials: choice.trials.map((t) => ({ ...t, ms: Number.isFinite(t.ms) ? t.ms : (null as unknown as number) })) };
      await io.write(JSON.stringify(all, null, 2));
    },
  };
}
