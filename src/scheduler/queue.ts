// The request scheduler: one queue per engine. Callers submit jobs (lists of tokenized items) of any
// size at any time; a promise-driven loop drains the queue into padding-free batches bounded by real
// tokens and by sequence count, and hands each batch to the executor. Modelled on TEI's
// core/src/queue.rs (token-budget batching, per-request queue/inference times), with what a page
// needs on top: priorities (lower first, as vLLM), AbortSignal, backpressure, and up to
// `maxInFlight` batches executing at once so batch i+1 is packed while batch i runs on the GPU.
//
// Ordering: jobs wait in one list sorted by (priority, arrival). A batch takes the key (task/head) of
// the first waiting job, then fills with that key's items in list order. Within a job, items are
// taken strictly in order and the job stops contributing at its first item that does not fit; later
// jobs may still fill the leftover room (work-conserving), and the job that was cut short is served
// first by the next batch of its key, so nothing starves behind smaller requests.
//
// No timers: wake-ups are a coalesced microtask after submit() and after each batch ends, so an idle
// scheduler holds nothing that keeps a Node process alive and never spins.

import { BadRequestError, OverloadedError, WgpoolError, abortError, showValue } from '../gpu/errors';

export interface SchedulerOptions {
  /** Real (unpadded) tokens per batch; a single item longer than this runs alone. */
  maxBatchTokens: number;
  /** Sequences (items) per batch. */
  maxBatchRequests: number;
  /** Backpressure: tokens waiting to be batched, past which new jobs are refused with a 429. */
  maxQueuedTokens: number;
  /** Backpressure: jobs (submit() calls) waiting to be batched. */
  maxQueuedRequests: number;
  /** Batches executing at once; 2 lets the next batch be packed while one runs on the GPU. */
  maxInFlight: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: Readonly<SchedulerOptions> = Object.freeze({
  maxBatchTokens: 8192,
  maxBatchRequests: 256,
  maxQueuedTokens: 262144,
  maxQueuedRequests: 4096,
  maxInFlight: 2,
});

export interface SubmitOptions {
  /** Lower runs first (as vLLM); default 0. FIFO among equal priorities. */
  priority?: number;
  signal?: AbortSignal;
}

/** One caller's request: items that must all run under the same `key` (task/head). */
export interface Job<I> {
  key: string;
  items: readonly I[];
  /** tokens[i] = token count of items[i]. */
  tokens: readonly number[];
}

export interface BatchEntry<I> {
  item: I;
  tokens: number;
}

/** Runs one batch; must return exactly one result per entry, in the same order. */
export type Executor<I, R> = (key: string, batch: BatchEntry<I>[]) => Promise<R[]>;

/** Per-job timings and sizes, as TEI reports them. */
export interface JobMetadata {
  /** submit() → start of the first batch carrying one of its items. */
  queueMs: number;
  /** Start of its first batch → end of its last batch (wall time; overlapping batches count once). */
  inferenceMs: number;
  /** Batches its items were spread over. */
  batches: number;
  /** Items in the largest of those batches (all callers' items, not only this job's). */
  batchSize: number;
  /** Tokens of the job. */
  tokens: number;
}

export interface JobResult<R> {
  results: R[];
  metadata: JobMetadata;
}

export interface SchedulerStats {
  /** Batches handed to the executor. */
  batches: number;
  /** Mean over batches of batchTokens / maxBatchTokens (an oversize item alone counts as 1). */
  meanBatchFill: number;
  /** Mean items per batch. */
  meanBatchSize: number;
  /** Jobs refused for overload. */
  requestsRejected: number;
  /** Jobs that ended because their signal aborted. */
  requestsAborted: number;
  /** Tokens of batches the executor completed successfully. */
  tokensProcessed: number;
  /** Tokens waiting to be batched. */
  queuedTokens: number;
  /** Jobs with items waiting to be batched. */
  queuedRequests: number;
  /** Batches executing now. */
  inFlight: number;
}

interface PendingJob<I, R> {
  readonly seq: number;
  readonly key: string;
  readonly priority: number;
  readonly items: readonly I[];
  readonly tokens: readonly number[];
  readonly totalTokens: number;
  readonly results: R[];
  /** Index of the first item not yet put in a batch. */
  next: number;
  /** Tokens of items not yet put in a batch (this job's share of queuedTokens). */
  waitingTokens: number;
  /** Items whose results have arrived. */
  completed: number;
  settled: boolean;
  readonly submittedAt: number;
  firstStartAt: number;
  lastEndAt: number;
  batches: number;
  batchSize: number;
  readonly resolve: (r: JobResult<R>) => void;
  readonly reject: (e: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Where each entry of a batch goes back to. */
interface Slot<I, R> {
  job: PendingJob<I, R>;
  index: number;
}

interface PackedBatch<I, R> {
  key: string;
  entries: BatchEntry<I>[];
  slots: Slot<I, R>[];
  tokens: number;
}

const now = (): number => performance.now();

export class Scheduler<I, R> {
  readonly options: Readonly<SchedulerOptions>;
  /** Jobs with items still waiting, sorted by (priority, seq). */
  private queue: PendingJob<I, R>[] = [];
  private queuedTokens = 0;
  private inFlight = 0;
  private seq = 0;
  private pumpScheduled = false;
  private closedWith: Error | undefined;
  private counters = { batches: 0, fillSum: 0, sizeSum: 0, requestsRejected: 0, requestsAborted: 0, tokensProcessed: 0 };

  constructor(
    private readonly execute: Executor<I, R>,
    opts: Partial<SchedulerOptions> = {},
  ) {
    const o: SchedulerOptions = { ...DEFAULT_SCHEDULER_OPTIONS };
    for (const [name, value] of Object.entries(opts) as [keyof SchedulerOptions, number | undefined][]) {
      if (value === undefined) continue;
      if (!(name in DEFAULT_SCHEDULER_OPTIONS)) throw new BadRequestError(`Unknown scheduler option "${name}".`);
      if (!Number.isSafeInteger(value) || value < 1) throw new BadRequestError(`Scheduler option ${name} must be a positive integer, got ${showValue(value)}.`);
      o[name] = value;
    }
    this.options = Object.freeze(o);
  }

  submit(job: Job<I>, opts: SubmitOptions = {}): Promise<JobResult<R>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const { signal } = opts;
    if (signal?.aborted) {
      this.counters.requestsAborted++;
      return Promise.reject(abortError(signal.reason));
    }
    const invalid = validateJob(job, opts.priority);
    if (invalid) return Promise.reject(invalid);
    if (job.items.length === 0) {
      return Promise.resolve({ results: [], metadata: { queueMs: 0, inferenceMs: 0, batches: 0, batchSize: 0, tokens: 0 } });
    }
    let total = 0;
    for (const t of job.tokens) total += t;
    const overload = this.overload(total);
    if (overload) {
      this.counters.requestsRejected++;
      return Promise.reject(overload);
    }

    return new Promise<JobResult<R>>((resolve, reject) => {
      const pending: PendingJob<I, R> = {
        seq: this.seq++,
        key: job.key,
        priority: opts.priority ?? 0,
        // Copies, so a caller mutating its arrays after submit() cannot corrupt the queue's accounting.
        items: job.items.slice(),
        tokens: job.tokens.slice(),
        totalTokens: total,
        results: new Array<R>(job.items.length),
        next: 0,
        waitingTokens: total,
        completed: 0,
        settled: false,
        submittedAt: now(),
        firstStartAt: -1,
        lastEndAt: -1,
        batches: 0,
        batchSize: 0,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        pending.onAbort = () => {
          if (pending.settled) return;
          this.counters.requestsAborted++;
          this.dropWaiting(pending);
          this.settle(pending, abortError(signal.reason));
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.enqueue(pending);
      this.queuedTokens += total;
      this.schedulePump();
    });
  }

  stats(): SchedulerStats {
    const c = this.counters;
    return {
      batches: c.batches,
      meanBatchFill: c.batches ? c.fillSum / c.batches : 0,
      meanBatchSize: c.batches ? c.sizeSum / c.batches : 0,
      requestsRejected: c.requestsRejected,
      requestsAborted: c.requestsAborted,
      tokensProcessed: c.tokensProcessed,
      queuedTokens: this.queuedTokens,
      queuedRequests: this.queue.length,
      inFlight: this.inFlight,
    };
  }

  /**
   * Reject every job that still has items waiting and refuse new ones. Batches already executing
   * finish; jobs whose items are all in them still resolve.
   */
  close(reason?: Error): void {
    if (this.closedWith) return;
    this.closedWith = reason ?? new WgpoolError('The engine is shut down; it accepts no new requests.', 503, 'ServiceUnavailableError');
    for (const job of this.queue.slice()) {
      this.dropWaiting(job);
      this.settle(job, this.closedWith);
    }
  }

  /** The overload error for a job of `tokens` tokens, or undefined if it may be queued. */
  private overload(tokens: number): OverloadedError | undefined {
    const { maxQueuedRequests, maxQueuedTokens } = this.options;
    const queued = this.queue.length;
    if (queued >= maxQueuedRequests) {
      return new OverloadedError(`Server overloaded: ${queued} requests already queued (limit ${maxQueuedRequests}); retry later.`);
    }
    // A job bigger than the whole bound is still served when nothing waits: refusing it for its size
    // alone would make it impossible to ever run, however idle the engine.
    if (queued === 0) return undefined;
    if (this.queuedTokens + tokens > maxQueuedTokens) {
      const adds = this.queuedTokens >= maxQueuedTokens ? '' : `, this request adds ${tokens}`;
      return new OverloadedError(
        `Server overloaded: ${this.queuedTokens} tokens already queued${adds} (limit ${maxQueuedTokens}); retry later.`,
      );
    }
    return undefined;
  }

  /** Insert after every job of equal or higher priority (lower number), so equal priorities stay FIFO. */
  private enqueue(job: PendingJob<I, R>): void {
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid].priority <= job.priority) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, job);
  }

  /** Take a job's not-yet-batched items out of the queue; they will never run. */
  private dropWaiting(job: PendingJob<I, R>): void {
    if (job.next >= job.items.length) return;
    const at = this.queue.indexOf(job);
    if (at >= 0) this.queue.splice(at, 1);
    this.queuedTokens -= job.waitingTokens;
    job.waitingTokens = 0;
    job.next = job.items.length;
  }

  private settle(job: PendingJob<I, R>, error?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (job.signal && job.onAbort) job.signal.removeEventListener('abort', job.onAbort);
    if (error !== undefined) {
      job.reject(error);
      return;
    }
    job.resolve({
      results: job.results,
      metadata: {
        queueMs: job.firstStartAt - job.submittedAt,
        inferenceMs: job.lastEndAt - job.firstStartAt,
        batches: job.batches,
        batchSize: job.batchSize,
        tokens: job.totalTokens,
      },
    });
  }

  /** Coalesce wake-ups: every submit() of one synchronous burst lands in the same first batch. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) this.launch(this.nextBatch());
  }

  private nextBatch(): PackedBatch<I, R> {
    const { maxBatchTokens, maxBatchRequests } = this.options;
    const key = this.queue[0].key;
    const entries: BatchEntry<I>[] = [];
    const slots: Slot<I, R>[] = [];
    let tokens = 0;
    let emptied = false;
    for (const job of this.queue) {
      if (job.key !== key) continue;
      while (job.next < job.items.length && entries.length < maxBatchRequests && tokens < maxBatchTokens) {
        const t = job.tokens[job.next];
        // The first item always goes in, even past the budget: an oversize item then runs alone
        // (the loop condition closes the batch behind it).
        if (entries.length > 0 && tokens + t > maxBatchTokens) break;
        entries.push({ item: job.items[job.next], tokens: t });
        slots.push({ job, index: job.next });
        tokens += t;
        job.waitingTokens -= t;
        job.next++;
      }
      if (job.next >= job.items.length) emptied = true;
      if (entries.length >= maxBatchRequests || tokens >= maxBatchTokens) break;
    }
    this.queuedTokens -= tokens;
    if (emptied) this.queue = this.queue.filter((j) => j.next < j.items.length);
    return { key, entries, slots, tokens };
  }

  private launch(batch: PackedBatch<I, R>): void {
    const { entries, slots } = batch;
    this.inFlight++;
    this.counters.batches++;
    this.counters.fillSum += Math.min(1, batch.tokens / this.options.maxBatchTokens);
    this.counters.sizeSum += entries.length;
    const startedAt = now();
    // A job's items sit contiguously in a batch, so comparing with the previous slot counts each
    // job once per batch.
    for (let i = 0; i < slots.length; i++) {
      const job = slots[i].job;
      if (i > 0 && slots[i - 1].job === job) continue;
      if (job.firstStartAt < 0) job.firstStartAt = startedAt;
      job.batches++;
      job.batchSize = Math.max(job.batchSize, entries.length);
    }
    let running: Promise<R[]>;
    try {
      running = Promise.resolve(this.execute(batch.key, entries));
    } catch (e) {
      running = Promise.reject(e);
    }
    // The slot is freed before callers hear back, so stats() seen from a resolved caller is settled.
    running.then(
      (results) => {
        this.inFlight--;
        this.complete(batch, results);
        this.schedulePump();
      },
      (error: unknown) => {
        this.inFlight--;
        this.fail(batch, error);
        this.schedulePump();
      },
    );
  }

  private complete(batch: PackedBatch<I, R>, results: R[]): void {
    if (!Array.isArray(results) || results.length !== batch.entries.length) {
      const got = Array.isArray(results) ? `${results.length} results` : `a ${typeof results}`;
      this.fail(batch, new WgpoolError(`Executor returned ${got} for a batch of ${batch.entries.length} items (key "${batch.key}").`));
      return;
    }
    this.counters.tokensProcessed += batch.tokens;
    const endedAt = now();
    for (let i = 0; i < batch.slots.length; i++) {
      const { job, index } = batch.slots[i];
      // Aborted (or failed elsewhere) while this batch ran: its results are discarded.
      if (job.settled) continue;
      job.results[index] = results[i];
      job.lastEndAt = endedAt;
      if (++job.completed === job.items.length) this.settle(job);
    }
  }

  /** A failed batch fails every job with items in it; their waiting items are dropped too. */
  private fail(batch: PackedBatch<I, R>, error: unknown): void {
    for (const { job } of batch.slots) {
      if (job.settled) continue;
      this.dropWaiting(job);
      this.settle(job, error);
    }
  }
}

function validateJob(job: Job<unknown>, priority: number | undefined): Error | undefined {
  if (typeof job.key !== 'string') return new BadRequestError(`Job key must be a string, got ${typeof job.key}.`);
  if (job.items.length !== job.tokens.length) {
    return new BadRequestError(`Job has ${job.items.length} items but ${job.tokens.length} token counts.`);
  }
  for (let i = 0; i < job.tokens.length; i++) {
    const t = job.tokens[i];
    if (!Number.isSafeInteger(t) || t < 0) return new BadRequestError(`Job item ${i} has an invalid token count ${t}.`);
  }
  if (priority !== undefined && !Number.isFinite(priority)) return new BadRequestError(`Priority must be a finite number, got ${showValue(priority)}.`);
  return undefined;
}
