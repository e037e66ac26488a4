// The CPU backend's worker threads: N − 1 workers (worker_threads in Node, Web Workers in a
// cross-origin-isolated page) each instantiate the same kernel module over the same shared
// WebAssembly.Memory, so a kernel call splits into calls on disjoint output ranges (matmul rows or
// column panels, attention heads) with no copies. The calling thread works alongside them.
//
// Protocol (one control SharedArrayBuffer, no postMessage per call): the caller writes each work
// item's full argument list into its row of `args`, the item count, the function's index, and
// zeroed claim and done counts; then it bumps the generation and Atomics.notify()s. Each worker,
// parked in Atomics.wait on the generation, wakes and claims items one at a time with
// Atomics.add on the claim count until none is left, then adds 1 to done; the last one notifies.
// The caller claims items the same way, then waits for done = workers: Atomics.wait where the
// thread may block (Node, workers), a short spin and then Atomics.waitAsync on a page's main
// thread, which may not block. Atomics' sequential consistency orders the caller's writes to the
// memory before the workers' reads, and their results before the caller's reads.
//
// Why a queue rather than one fixed part per thread: on a machine shared with other processes a
// thread is often descheduled for a few ms, and a fixed split makes every step wait for the
// slowest part; with several items per thread the others take over the descheduled one's share.
// Which thread runs an item never changes its arithmetic, so results stay bit-identical.
//
// The worker's source is a string (no bundler step, the same code in Node and the browser): Node
// runs it with `eval: true`, a page from a Blob URL (CSP: worker-src blob:).

import { GpuError } from '../gpu/errors';

/** Exports a kernel call may name (the module's functions, src/cpu/wasm.ts). */
export const THREADED_FUNCTIONS = ['matmul', 'attention', 'glu', 'layerNorm', 'rmsNorm'] as const;
export type ThreadedFunction = (typeof THREADED_FUNCTIONS)[number];

const GEN = 0;
const DONE = 1;
const FN = 2;
const NARGS = 3;
const STOP = 4;
const FAILED = 5;
const ITEMS = 6; // work items this call
const NEXT = 7; // the next item to claim
export const MAX_THREADS = 64;
/** Work items one call may queue (split.ts sizes its items to stay below). */
export const MAX_ITEMS = 256;
const MAX_ARGS = 32;
const ARGS_BYTE = 64;
const CONTROL_BYTES = ARGS_BYTE + MAX_ITEMS * MAX_ARGS * 8;

const WORKER_BODY = `
const GEN = ${GEN}, DONE = ${DONE}, FN = ${FN}, NARGS = ${NARGS}, STOP = ${STOP}, FAILED = ${FAILED}, ITEMS = ${ITEMS}, NEXT = ${NEXT}, ARGS_BYTE = ${ARGS_BYTE}, MAX_ARGS = ${MAX_ARGS};
function start(msg, post) {
  const { module, memory, control, workers, names } = msg;
  const fns = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const ctl = new Int32Array(control);
  const args = new Float64Array(control, ARGS_BYTE);
  const table = names.map((n) => fns[n]);
  // The generation is read before 'ready': once every worker is ready the caller may bump it at once.
  let seen = Atomics.load(ctl, GEN);
  post('ready');
  for (;;) {
    Atomics.wait(ctl, GEN, seen);
    const gen = Atomics.load(ctl, GEN);
    if (gen === seen) continue;
    seen = gen;
    if (Atomics.load(ctl, STOP)) return;
    try {
      const f = table[Atomics.load(ctl, FN)];
      const n = Atomics.load(ctl, NARGS);
      const items = Atomics.load(ctl, ITEMS);
      const a = new Array(n);
      for (let item = Atomics.add(ctl, NEXT, 1); item < items; item = Atomics.add(ctl, NEXT, 1)) {
        const row = item * MAX_ARGS;
        for (let i = 0; i < n; i++) a[i] = args[row + i];
        f(...a);
      }
    } catch (e) {
      Atomics.store(ctl, FAILED, 1);
    }
    if (Atomics.add(ctl, DONE, 1) + 1 === workers) Atomics.notify(ctl, DONE);
  }
}
`;

const NODE_WORKER = `${WORKER_BODY}
const { parentPort } = require('node:worker_threads');
parentPort.once('message', (msg) => start(msg, (m) => parentPort.postMessage(m)));
`;

const WEB_WORKER = `${WORKER_BODY}
self.onmessage = (e) => start(e.data, (m) => self.postMessage(m));
`;

const WORKER_THREADS = 'node:worker_threads';
const NODE_OS = 'node:os';

export const isNode = () => typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/** May this thread block in Atomics.wait? (Not a page's main thread.) */
function canBlock(): boolean {
  if (isNode()) return true;
  return typeof window === 'undefined';
}

/**
 * Why this environment cannot run kernels on several threads, or null when it can: shared
 * WebAssembly memory needs SharedArrayBuffer, which a browser offers only to cross-origin-isolated
 * pages (COOP: same-origin + COEP: require-corp or credentialless).
 */
export function threadsUnavailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return 'no SharedArrayBuffer (the page is not cross-origin isolated)';
  if (!isNode() && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== true) return 'the page is not cross-origin isolated (COOP/COEP headers)';
  if (!isNode() && typeof Worker === 'undefined') return 'no Worker in this context';
  return null;
}

/** The default thread count: the machine's cores, at most 4 (beyond that the GEMMs here are memory-bound). */
export async function defaultThreads(): Promise<number> {
  if (threadsUnavailable()) return 1;
  let cores = 1;
  if (isNode()) {
    const os = (await import(/* @vite-ignore */ NODE_OS)) as typeof import('node:os');
    cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  } else {
    cores = navigator.hardwareConcurrency || 1;
  }
  return Math.max(1, Math.min(4, cores));
}

/** Atomics.waitAsync (ES2024; in every engine with cross-origin isolation, not yet in TypeScript's ES2022 lib). */
const waitAsync = (a: Int32Array, i: number, v: number) =>
  (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync(a, i, v);

interface AnyWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

/** One work item of a split call: the function's full argument list, or null for an empty item. */
export type Part = readonly number[] | null;

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly fnIndex = new Map<string, number>();
  private busy = false;
  private closed = false;

  private constructor(
    readonly threads: number,
    private readonly control: SharedArrayBuffer,
    private readonly workers: AnyWorker[],
    private readonly local: Record<string, (...a: number[]) => void>,
  ) {
    this.ctl = new Int32Array(control);
    this.args = new Float64Array(control, ARGS_BYTE);
    THREADED_FUNCTIONS.forEach((n, i) => this.fnIndex.set(n, i));
  }

  /** Start threads − 1 workers over `memory` (shared) running `module`; `local` is this thread's instance. */
  static async start(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory, local: object): Promise<ThreadPool> {
    if (!Number.isInteger(threads) || threads < 2 || threads > MAX_THREADS) throw new GpuError(`threads must be an integer in [2, ${MAX_THREADS}] for a pool, got ${threads}`);
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const workers: AnyWorker[] = [];
    const ready: Promise<void>[] = [];
    const msg = () => ({ module, memory, control, workers: threads - 1, names: THREADED_FUNCTIONS });
    try {
      for (let i = 0; i < threads - 1; i++) {
        if (isNode()) {
          const { Worker: NodeWorker } = (await import(/* @vite-ignore */ WORKER_THREADS)) as typeof import('node:worker_threads');
          const w = new NodeWorker(NODE_WORKER, { eval: true, name: `wgpool-cpu-${i + 1}` });
          w.unref(); // an idle pool never keeps a Node process alive
          ready.push(new Promise((res, rej) => {
            w.once('message', () => res());
            w.once('error', (e) => rej(e));
          }));
          w.postMessage(msg());
          workers.push(w);
        } else {
          const url = URL.createObjectURL(new Blob([WEB_WORKER], { type: 'text/javascript' }));
          const w = new Worker(url, { name: `wgpool-cpu-${i + 1}` });
          URL.revokeObjectURL(url);
          ready.push(new Promise((res, rej) => {
            w.onmessage = () => res();
            w.onerror = (e) => rej(new GpuError(e.message || 'worker failed to start (CSP worker-src blob:?)'));
          }));
          w.postMessage(msg());
          workers.push(w);
        }
      }
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) void w.terminate();
      throw new GpuError(`The CPU backend could not start its ${threads - 1} worker thread(s): ${(e as Error).message}`);
    }
    return new ThreadPool(threads, control, workers, local as Record<string, (...a: number[]) => void>);
  }

  /**
   * Run `fn` once per work item, items claimed in order by whichever thread is free (this one
   * included), and resolve when all have returned. Null items are skipped. Synchronous (returns
   * undefined) where this thread may block.
   */
  run(fn: ThreadedFunction, parts: readonly Part[]): void | Promise<void> {
    if (this.closed) throw new GpuError('the CPU backend was destroyed');
    if (this.busy) throw new GpuError('CPU thread pool: a call is already in flight (steps run one at a time)');
    const index = this.fnIndex.get(fn);
    if (index === undefined) throw new GpuError(`CPU thread pool: ${fn} is not a threaded function`);
    const items = parts.filter((p): p is readonly number[] => p !== null);
    if (items.length > MAX_ITEMS) throw new GpuError(`CPU thread pool: ${items.length} work items for ${fn}, at most ${MAX_ITEMS}`);
    const { ctl, args } = this;
    const nargs = items[0]?.length ?? 0;
    items.forEach((p, i) => {
      if (p.length !== nargs || nargs > MAX_ARGS) throw new GpuError(`CPU thread pool: item ${i} of ${fn} has ${p.length} arguments, expected ${nargs} (≤ ${MAX_ARGS})`);
      args.set(p, i * MAX_ARGS);
    });
    Atomics.store(ctl, FN, index);
    Atomics.store(ctl, NARGS, nargs);
    Atomics.store(ctl, ITEMS, items.length);
    Atomics.store(ctl, NEXT, 0);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    this.busy = true;
    let localError: unknown;
    try {
      const f = this.local[fn];
      for (let item = Atomics.add(ctl, NEXT, 1); item < items.length; item = Atomics.add(ctl, NEXT, 1)) f(...items[item]);
    } catch (e) {
      localError = e;
    }
    const workers = this.threads - 1;
    const finish = () => {
      this.busy = false;
      if (localError) throw localError;
      if (Atomics.load(ctl, FAILED)) throw new GpuError(`CPU thread pool: ${fn} trapped on a worker thread`);
    };
    if (canBlock()) {
      for (let d = Atomics.load(ctl, DONE); d < workers; d = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, d);
      return finish();
    }
    // A page's main thread: spin briefly (the workers usually finish with us), then wait without blocking.
    for (let spin = 0; spin < 2000 && Atomics.load(ctl, DONE) < workers; spin++);
    if (Atomics.load(ctl, DONE) >= workers) return finish();
    return (async () => {
      for (let d = Atomics.load(ctl, DONE); d < workers; d = Atomics.load(ctl, DONE)) {
        const r = waitAsync(ctl, DONE, d);
        if (r.async) await r.value;
      }
      finish();
    })();
  }

  /** Stop and terminate the workers (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) void w.terminate();
  }
}
