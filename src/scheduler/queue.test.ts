import { afterEach, describe, expect, it, vi } from 'vitest';
import { Scheduler, type BatchEntry, type Executor, type JobResult } from './queue';
import { BadRequestError, OverloadedError, WgpoolError } from '../gpu/errors';
import { rng } from '../../test/helpers/random';

/** One executor call as the fake records it. */
interface Call<I> {
  key: string;
  items: I[];
  tokens: number[];
  done: boolean;
  /** Resolve (no error) or reject the batch; only for manual executors. */
  finish(error?: Error): void;
}

interface FakeOptions<I> {
  /** Batches wait for call.finish() instead of ending on their own. */
  manual?: boolean;
  /** An error to fail a batch with (auto mode). */
  fail?: (key: string, batch: BatchEntry<I>[]) => Error | undefined;
  /** How long an auto batch runs (default: one macrotask). */
  delay?: () => Promise<void>;
}

const result = (item: unknown): string => `r:${typeof item === 'string' ? item : JSON.stringify(item)}`;
const macrotask = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A fake executor that records batches, can be held open or failed, and tracks concurrency. */
function fakeExecutor<I>(opts: FakeOptions<I> = {}) {
  const calls: Call<I>[] = [];
  const state = { running: 0, maxRunning: 0 };
  const execute: Executor<I, string> = (key, batch) =>
    new Promise<string[]>((resolve, reject) => {
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      const call: Call<I> = {
        key,
        items: batch.map((e) => e.item),
        tokens: batch.map((e) => e.tokens),
        done: false,
        finish(error) {
          if (call.done) throw new Error('batch finished twice');
          call.done = true;
          state.running--;
          if (error) reject(error);
          else resolve(batch.map((e) => result(e.item)));
        },
      };
      calls.push(call);
      if (!opts.manual) void (opts.delay ?? macrotask)().then(() => call.finish(opts.fail?.(key, batch)));
    });
  return { calls, execute, state };
}

/** Let queued microtasks and macrotasks run until `cond` holds. */
async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await macrotask();
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The settled state of a promise without awaiting it forever. */
async function peek<T>(p: Promise<T>): Promise<'pending' | 'resolved' | 'rejected'> {
  const marker = Symbol('pending');
  const r = await Promise.race([p.then(() => 'resolved' as const, () => 'rejected' as const), macrotask().then(() => marker)]);
  return r === marker ? 'pending' : (r as 'resolved' | 'rejected');
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => null,
    (err: Error) => err,
  );
  if (!e) throw new Error('expected the promise to reject');
  return e;
}

/** Items "name0", "name1", … with the given token counts. */
function job(name: string, tokens: number[], key = 'embed') {
  return { key, items: tokens.map((_, i) => `${name}${i}`), tokens };
}

const expectedResults = (j: { items: readonly string[] }) => j.items.map(result);

/** Submit one item that holds the executor (manual mode) so later submissions queue up behind it. */
async function blocker<I>(s: Scheduler<string, string>, fake: ReturnType<typeof fakeExecutor<I>>) {
  const p = s.submit(job('block', [1]));
  await until(() => fake.calls.length === 1, 'the blocker batch');
  return { p, call: fake.calls[0] };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('batch budgets', () => {
  it('respects the token budget (real tokens, no padding)', async () => {
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute, { maxBatchTokens: 100 });
    const j = job('a', [30, 30, 30, 30, 30, 30, 30]);
    const { results } = await s.submit(j);
    expect(results).toEqual(expectedResults(j));
    expect(fake.calls.map((c) => c.items.length)).toEqual([3, 3, 1]);
    for (const c of fake.calls) expect(c.tokens.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100);
  });

  it('respects the request budget', async () => {
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute, { maxBatchTokens: 10_000, maxBatchRequests: 4 });
    const j = job('a', Array(10).fill(10));
    const { results, metadata } = await s.submit(j);
    expect(results).toEqual(expectedResults(j));
    expect(fake.calls.map((c) => c.items.length)).toEqual([4, 4, 2]);
    expect(metadata).toMatchObject({ batches: 3, batchSize: 4, tokens: 100 });
  });

  it('merges jobs submitted together into one batch', async () => {
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute, { maxBatchTokens: 100 });
    const jobs = [job('a', [10, 20]), job('b', [30]), job('c', [5, 5, 5])];
    const out = await Promise.all(jobs.map((j) => s.submit(j)));
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0].items).toEqual(['a0', 'a1', 'b0', 'c0', 'c1', 'c2']);
    out.forEach((o, i) => expect(o.results).toEqual(expectedResults(jobs[i])));
    for (const o of out) expect(o.metadata.batchSize).toBe(6);
  });

  it('runs an item longer than the budget alone, and keeps the job in order', async () => {
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute, { maxBatchTokens: 100 });
    const a = job('a', [10, 250, 10]);
    const b = job('b', [20]);
    const [ra, rb] = await Promise.all([s.submit(a), s.submit(b)]);
    expect(ra.results).toEqual(expectedResults(a));
    expect(rb.results).toEqual(expectedResults(b));
    // a1 does not fit behind a0, so a stops there; b fills the room; a1 then runs alone.
    expect(fake.calls.map((c) => c.items)).toEqual([['a0', 'b0'], ['a1'], ['a2']]);
    expect(ra.metadata).toMatchObject({ batches: 3, batchSize: 2, tokens: 270 });
  });

  it('accepts an oversize job as big as the whole queue bound when the queue is empty', async () => {
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute, { maxBatchTokens: 64, maxQueuedTokens: 100 });
    const huge = job('h', [500, 40, 40]);
    const { results } = await s.submit(huge);
    expect(results).toEqual(expectedResults(huge));
    expect(fake.calls.map((c) => c.items)).toEqual([['h0'], ['h1'], ['h2']]);
  });

  it('splits a job bigger than the budget across batches; results come back in order', async () => {
    const r = rng(7);
    const tokens = Array.from({ length: 50 }, () => 1 + Math.floor(r() * 60));
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute, { maxBatchTokens: 128 });
    const j = job('x', tokens);
    const { results, metadata } = await s.submit(j);
    expect(results).toEqual(expectedResults(j));
    expect(fake.calls.length).toBeGreaterThan(1);
    expect(fake.calls.flatMap((c) => c.items)).toEqual(j.items);
    for (const c of fake.calls) expect(c.tokens.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(128);
    expect(metadata.batches).toBe(fake.calls.length);
    expect(metadata.tokens).toBe(tokens.reduce((a, b) => a + b, 0));
  });

  it('an empty job resolves at once with no results and never reaches the executor', async () => {
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute);
    const out = await s.submit({ key: 'embed', items: [], tokens: [] });
    expect(out.results).toEqual([]);
    expect(out.metadata).toEqual({ queueMs: 0, inferenceMs: 0, batches: 0, batchSize: 0, tokens: 0 });
    await macrotask();
    expect(fake.calls).toHaveLength(0);
  });
});

describe('ordering', () => {
  it('lower priority number first, FIFO within a priority', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1, maxBatchRequests: 1 });
    const { call } = await blocker(s, fake);
    const prios = [5, 1, 5, 0, 1, -2];
    const ps = prios.map((p, i) => s.submit(job(`p${p}n${i}-`, [10]), { priority: p }));
    call.finish();
    for (let k = 1; k <= prios.length; k++) {
      await until(() => fake.calls.length === k + 1, `batch ${k}`);
      fake.calls[k].finish();
    }
    await Promise.all(ps);
    expect(fake.calls.slice(1).map((c) => c.items[0])).toEqual(['p-2n5-0', 'p0n3-0', 'p1n1-0', 'p1n4-0', 'p5n0-0', 'p5n2-0']);
  });

  it('fills a batch in priority order', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1, maxBatchTokens: 40 });
    const { call } = await blocker(s, fake);
    const low = s.submit(job('low', [20, 20]), { priority: 3 });
    const high = s.submit(job('high', [20]), { priority: 1 });
    call.finish();
    await until(() => fake.calls.length === 2);
    expect(fake.calls[1].items).toEqual(['high0', 'low0']);
    fake.calls[1].finish();
    await until(() => fake.calls.length === 3);
    expect(fake.calls[2].items).toEqual(['low1']);
    fake.calls[2].finish();
    await Promise.all([low, high]);
  });

  it('batches never mix keys; the first waiting job picks the key', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1 });
    const { call } = await blocker(s, fake);
    const jobs = [job('e1', [5], 'embed'), job('c1', [5], 'classify'), job('e2', [5], 'embed'), job('c2', [5], 'classify')];
    const ps = jobs.map((j) => s.submit(j));
    const urgent = s.submit(job('u', [5], 'token_embed'), { priority: -1 });
    call.finish();
    for (let k = 1; k <= 3; k++) {
      await until(() => fake.calls.length === k + 1, `batch ${k}`);
      fake.calls[k].finish();
    }
    const out = await Promise.all(ps);
    await urgent;
    expect(fake.calls.slice(1).map((c) => [c.key, c.items])).toEqual([
      ['token_embed', ['u0']],
      ['embed', ['e10', 'e20']],
      ['classify', ['c10', 'c20']],
    ]);
    out.forEach((o, i) => expect(o.results).toEqual(expectedResults(jobs[i])));
  });
});

describe('abort', () => {
  it('an already-aborted signal rejects at once with AbortError and nothing runs', async () => {
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute);
    const ctl = new AbortController();
    ctl.abort();
    const err = await rejection(s.submit(job('a', [3]), { signal: ctl.signal }));
    expect(err.name).toBe('AbortError');
    await macrotask();
    expect(fake.calls).toHaveLength(0);
    expect(s.stats()).toMatchObject({ requestsAborted: 1, queuedTokens: 0, queuedRequests: 0 });
  });

  it('abort while queued: rejects, and its items are never executed', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1 });
    const { call } = await blocker(s, fake);
    const ctl = new AbortController();
    const doomed = s.submit(job('x', [7, 8]), { signal: ctl.signal });
    const kept = s.submit(job('k', [4]));
    expect(s.stats()).toMatchObject({ queuedTokens: 19, queuedRequests: 2 });
    ctl.abort();
    expect((await rejection(doomed)).name).toBe('AbortError');
    expect(s.stats()).toMatchObject({ queuedTokens: 4, queuedRequests: 1, requestsAborted: 1 });
    call.finish();
    await until(() => fake.calls.length === 2);
    fake.calls[1].finish();
    expect((await kept).results).toEqual(['r:k0']);
    expect(fake.calls.flatMap((c) => c.items)).toEqual(['block0', 'k0']);
  });

  it('abort while executing: rejects at once, results discarded, batch-mates still resolve', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1 });
    const ctl = new AbortController();
    const a = s.submit(job('a', [5, 5]), { signal: ctl.signal });
    const b = s.submit(job('b', [5]));
    await until(() => fake.calls.length === 1);
    expect(fake.calls[0].items).toEqual(['a0', 'a1', 'b0']);
    ctl.abort();
    // Rejected while the batch is still running on the "GPU".
    expect(await peek(a)).toBe('rejected');
    expect(fake.calls[0].done).toBe(false);
    expect((await rejection(a)).name).toBe('AbortError');
    fake.calls[0].finish();
    expect((await b).results).toEqual(['r:b0']);
    expect(s.stats()).toMatchObject({ requestsAborted: 1, inFlight: 0 });
  });

  it('abort of a job split across batches drops its remaining items', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1, maxBatchTokens: 10 });
    const ctl = new AbortController();
    const a = s.submit(job('a', [10, 10, 10]), { signal: ctl.signal });
    await until(() => fake.calls.length === 1);
    expect(s.stats()).toMatchObject({ queuedTokens: 20, queuedRequests: 1 });
    ctl.abort();
    expect((await rejection(a)).name).toBe('AbortError');
    expect(s.stats()).toMatchObject({ queuedTokens: 0, queuedRequests: 0 });
    fake.calls[0].finish();
    await until(() => s.stats().inFlight === 0);
    await macrotask();
    expect(fake.calls.map((c) => c.items)).toEqual([['a0']]);
  });

  it('aborting after the job resolved changes nothing', async () => {
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute);
    const ctl = new AbortController();
    const out = await s.submit(job('a', [1]), { signal: ctl.signal });
    ctl.abort();
    expect(out.results).toEqual(['r:a0']);
    expect(s.stats().requestsAborted).toBe(0);
  });
});

describe('backpressure', () => {
  it('refuses past maxQueuedTokens with a 429 OverloadedError and keeps serving', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1, maxQueuedTokens: 100 });
    const { call } = await blocker(s, fake);
    const ok = s.submit(job('ok', [60]));
    const err = await rejection(s.submit(job('big', [50])));
    expect(err).toBeInstanceOf(OverloadedError);
    expect((err as OverloadedError).status).toBe(429);
    expect((err as OverloadedError).type).toBe('TooManyRequestsError');
    expect(err.message).toBe('Server overloaded: 60 tokens already queued, this request adds 50 (limit 100); retry later.');
    // Exactly at the limit is fine.
    const fits = s.submit(job('fits', [40]));
    const full = await rejection(s.submit(job('one', [1])));
    expect(full.message).toBe('Server overloaded: 100 tokens already queued (limit 100); retry later.');
    // Bigger than the whole bound: refused while others wait (accepted on an empty queue, tested above).
    expect(await rejection(s.submit(job('huge', [500])))).toBeInstanceOf(OverloadedError);
    expect(s.stats()).toMatchObject({ requestsRejected: 3, queuedTokens: 100, queuedRequests: 2 });

    call.finish();
    await until(() => fake.calls.length === 2);
    fake.calls[1].finish();
    await Promise.all([ok, fits]);
    const after = s.submit(job('after', [90]));
    await until(() => fake.calls.length === 3);
    fake.calls[2].finish();
    expect((await after).results).toEqual(['r:after0']);
  });

  it('refuses past maxQueuedRequests (jobs, not items)', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1, maxQueuedRequests: 3 });
    const { call } = await blocker(s, fake);
    const queued = [s.submit(job('a', [1, 1, 1, 1])), s.submit(job('b', [1])), s.submit(job('c', [1]))];
    const err = await rejection(s.submit(job('d', [1])));
    expect(err).toBeInstanceOf(OverloadedError);
    expect(err.message).toBe('Server overloaded: 3 requests already queued (limit 3); retry later.');
    expect(s.stats().requestsRejected).toBe(1);
    call.finish();
    await until(() => fake.calls.length === 2);
    fake.calls[1].finish();
    await Promise.all(queued);
    const later = s.submit(job('e', [1]));
    await until(() => fake.calls.length === 3);
    fake.calls[2].finish();
    expect((await later).results).toEqual(['r:e0']);
  });
});

describe('executor failure', () => {
  it('rejects only the jobs in the failed batch, drops their waiting items, and keeps serving', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1, maxBatchTokens: 20 });
    const a = s.submit(job('a', [10]));
    const b = s.submit(job('b', [10, 10, 10])); // b1, b2 do not fit: they wait for the next batch
    const c = s.submit(job('c', [10], 'classify'));
    await until(() => fake.calls.length === 1);
    expect(fake.calls[0].items).toEqual(['a0', 'b0']);
    const boom = new Error('device lost');
    fake.calls[0].finish(boom);
    expect(await rejection(a)).toBe(boom);
    expect(await rejection(b)).toBe(boom);
    await until(() => fake.calls.length === 2);
    expect(fake.calls[1].items).toEqual(['c0']); // b's remaining items were dropped
    fake.calls[1].finish();
    expect((await c).results).toEqual(['r:c0']);
    const d = s.submit(job('d', [3]));
    await until(() => fake.calls.length === 3);
    fake.calls[2].finish();
    expect((await d).results).toEqual(['r:d0']);
    expect(s.stats()).toMatchObject({ batches: 3, tokensProcessed: 13, inFlight: 0, queuedTokens: 0 });
  });

  it('an executor that throws synchronously or returns the wrong count fails the batch', async () => {
    let mode: 'throw' | 'short' | 'ok' = 'throw';
    const s = new Scheduler<string, string>((_key, batch) => {
      if (mode === 'throw') throw new Error('sync failure');
      if (mode === 'short') return Promise.resolve(batch.slice(1).map((e) => result(e.item)));
      return Promise.resolve(batch.map((e) => result(e.item)));
    });
    expect((await rejection(s.submit(job('a', [1])))).message).toBe('sync failure');
    mode = 'short';
    const short = await rejection(s.submit(job('b', [1, 1])));
    expect(short).toBeInstanceOf(WgpoolError);
    expect(short.message).toMatch('Executor returned 1 results for a batch of 2 items');
    mode = 'ok';
    expect((await s.submit(job('c', [1]))).results).toEqual(['r:c0']);
  });
});

describe('in-flight batches', () => {
  async function inFlightRun(maxInFlight: number) {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight, maxBatchRequests: 1 });
    const ps = Array.from({ length: 6 }, (_, i) => s.submit(job(`j${i}-`, [1])));
    await until(() => fake.calls.length === Math.min(maxInFlight, 6));
    await macrotask();
    // Exactly maxInFlight started, none finished: the later ones started while the first still ran.
    expect(fake.calls).toHaveLength(maxInFlight);
    expect(s.stats().inFlight).toBe(maxInFlight);
    while (fake.calls.some((c) => !c.done)) {
      fake.calls.find((c) => !c.done)!.finish();
      await macrotask();
      await macrotask();
    }
    await Promise.all(ps);
    expect(fake.calls).toHaveLength(6);
    expect(fake.state.maxRunning).toBe(maxInFlight);
  }

  it('maxInFlight=1 serializes batches', () => inFlightRun(1));
  it('maxInFlight=2 (default) overlaps batch 2 with batch 1', () => inFlightRun(2));
  it('maxInFlight=3 allows three at once', () => inFlightRun(3));

  it('the default is 2', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxBatchRequests: 1 });
    expect(s.options.maxInFlight).toBe(2);
    const ps = [s.submit(job('a', [1])), s.submit(job('b', [1])), s.submit(job('c', [1]))];
    await until(() => fake.calls.length === 2);
    await macrotask();
    expect(fake.calls).toHaveLength(2);
    fake.calls[0].finish();
    await until(() => fake.calls.length === 3);
    fake.calls[1].finish();
    fake.calls[2].finish();
    await Promise.all(ps);
  });
});

describe('stats and metadata', () => {
  it('counts batches, fill, size and tokens', async () => {
    const fake = fakeExecutor<string>();
    const s = new Scheduler(fake.execute, { maxBatchTokens: 100 });
    expect(s.stats()).toEqual({
      batches: 0,
      meanBatchFill: 0,
      meanBatchSize: 0,
      requestsRejected: 0,
      requestsAborted: 0,
      tokensProcessed: 0,
      queuedTokens: 0,
      queuedRequests: 0,
      inFlight: 0,
    });
    await s.submit(job('a', [50, 30, 40])); // batches [50, 30] and [40]
    await s.submit(job('b', [300])); // oversize, alone: counts as a full batch
    const st = s.stats();
    expect(st.batches).toBe(3);
    expect(st.meanBatchFill).toBeCloseTo((0.8 + 0.4 + 1) / 3, 12);
    expect(st.meanBatchSize).toBeCloseTo(4 / 3, 12);
    expect(st.tokensProcessed).toBe(420);
    expect(st).toMatchObject({ queuedTokens: 0, queuedRequests: 0, inFlight: 0 });
  });

  it('reports queue time and inference time per job', async () => {
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1, maxBatchTokens: 10 });
    const { call } = await blocker(s, fake);
    const p = s.submit(job('a', [10, 10])); // submitted at 1000
    clock = 1010;
    call.finish();
    await until(() => fake.calls.length === 2); // a0 starts at 1010
    clock = 1025;
    fake.calls[1].finish();
    await until(() => fake.calls.length === 3); // a1 starts at 1025
    clock = 1040;
    fake.calls[2].finish();
    const { metadata } = await p;
    expect(metadata).toEqual({ queueMs: 10, inferenceMs: 30, batches: 2, batchSize: 1, tokens: 20 });
  });
});

describe('close', () => {
  it('rejects everything queued, lets executing batches finish, refuses new work', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1 });
    const { p: running, call } = await blocker(s, fake);
    const queued = [s.submit(job('a', [5])), s.submit(job('b', [5], 'classify'))];
    s.close();
    for (const q of queued) {
      const err = await rejection(q);
      expect(err).toBeInstanceOf(WgpoolError);
      expect((err as WgpoolError).status).toBe(503);
    }
    expect(s.stats()).toMatchObject({ queuedTokens: 0, queuedRequests: 0, inFlight: 1 });
    expect((await rejection(s.submit(job('late', [1])))).message).toMatch('shut down');
    call.finish();
    expect((await running).results).toEqual(['r:block0']);
    await macrotask();
    expect(fake.calls).toHaveLength(1);
  });

  it('uses the given reason', async () => {
    const fake = fakeExecutor<string>({ manual: true });
    const s = new Scheduler(fake.execute, { maxInFlight: 1 });
    const { call } = await blocker(s, fake);
    const q = s.submit(job('a', [5]));
    const reason = new Error('engine disposed');
    s.close(reason);
    expect(await rejection(q)).toBe(reason);
    expect(await rejection(s.submit(job('b', [1])))).toBe(reason);
    call.finish();
  });
});

describe('loop', () => {
  it('uses no timers, so an idle scheduler keeps no process alive', async () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    const s = new Scheduler<string, string>(async (_k, batch) => {
      calls.push(batch.length);
      return batch.map((e) => result(e.item));
    });
    const ps = [s.submit(job('a', [1, 2])), s.submit(job('b', [3]))];
    expect(vi.getTimerCount()).toBe(0);
    const out = await Promise.all(ps);
    expect(out.map((o) => o.results)).toEqual([['r:a0', 'r:a1'], ['r:b0']]);
    expect(vi.getTimerCount()).toBe(0);
    // Idle: more microtask turns run no more batches (no spinning).
    for (let i = 0; i < 100; i++) await Promise.resolve();
    expect(calls).toEqual([3]);
  });

  it('validates jobs and options', async () => {
    const s = new Scheduler<string, string>(async (_k, b) => b.map((e) => e.item));
    expect(await rejection(s.submit({ key: 'embed', items: ['a', 'b'], tokens: [1] }))).toBeInstanceOf(BadRequestError);
    expect(await rejection(s.submit({ key: 'embed', items: ['a'], tokens: [-1] }))).toBeInstanceOf(BadRequestError);
    expect(await rejection(s.submit({ key: 'embed', items: ['a'], tokens: [1.5] }))).toBeInstanceOf(BadRequestError);
    expect(await rejection(s.submit(job('a', [1]), { priority: NaN }))).toBeInstanceOf(BadRequestError);
    expect(() => new Scheduler(async () => [], { maxBatchTokens: 0 })).toThrow(/maxBatchTokens must be a positive integer/);
    expect(() => new Scheduler(async () => [], { maxInFlight: 1.5 })).toThrow(/maxInFlight/);
  });
});

describe('many concurrent callers', () => {
  it('200 jobs from 20 callers: each gets exactly its own results, in order, in far fewer batches', async () => {
    interface Item {
      caller: number;
      job: number;
      index: number;
    }
    const r = rng(1234);
    const maxBatchTokens = 2048;
    const maxBatchRequests = 64;
    const maxInFlight = 2;
    const keys = ['embed', 'classify'];
    const calls: { key: string; items: Item[]; tokens: number[] }[] = [];
    let running = 0;
    let maxRunning = 0;
    const s = new Scheduler<Item, string>(
      async (key, batch) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        calls.push({ key, items: batch.map((e) => e.item), tokens: batch.map((e) => e.tokens) });
        for (let d = Math.floor(r() * 3); d >= 0; d--) await macrotask();
        running--;
        return batch.map((e) => `${key}|${e.item.caller}.${e.item.job}.${e.item.index}`);
      },
      { maxBatchTokens, maxBatchRequests, maxInFlight },
    );

    const submitted: { key: string; items: Item[]; promise: Promise<JobResult<string>> }[] = [];
    const caller = async (c: number) => {
      for (let j = 0; j < 10; j++) {
        const n = 1 + Math.floor(r() * 4);
        const items = Array.from({ length: n }, (_, index) => ({ caller: c, job: j, index }));
        // Mostly short texts, now and then one longer than the whole batch budget.
        const tokens = items.map(() => (r() < 0.02 ? maxBatchTokens + 100 : 1 + Math.floor(r() * 120)));
        const key = keys[Math.floor(r() * keys.length)];
        submitted.push({ key, items, promise: s.submit({ key, items, tokens }, { priority: Math.floor(r() * 3) }) });
        if (r() < 0.5) await macrotask();
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, c) => caller(c)));
    const out = await Promise.all(submitted.map((x) => x.promise));

    expect(submitted).toHaveLength(200);
    out.forEach((o, i) => {
      const { key, items } = submitted[i];
      expect(o.results).toEqual(items.map((it) => `${key}|${it.caller}.${it.job}.${it.index}`));
      expect(o.metadata.tokens).toBeGreaterThan(0);
    });
    for (const c of calls) {
      expect(c.items.length).toBeLessThanOrEqual(maxBatchRequests);
      const t = c.tokens.reduce((a, b) => a + b, 0);
      if (c.items.length > 1) expect(t).toBeLessThanOrEqual(maxBatchTokens);
      else expect(c.tokens[0] > maxBatchTokens || t <= maxBatchTokens).toBe(true);
      if (c.tokens.some((x) => x > maxBatchTokens)) expect(c.items).toHaveLength(1);
      // One key per batch: every item's job was submitted under the batch's key.
      for (const it of c.items) expect(submitted.find((x) => x.items[0].caller === it.caller && x.items[0].job === it.job)!.key).toBe(c.key);
    }
    // Every item ran exactly once.
    const totalItems = submitted.reduce((a, x) => a + x.items.length, 0);
    expect(calls.reduce((a, c) => a + c.items.length, 0)).toBe(totalItems);
    expect(calls.filter((c) => c.tokens[0] > maxBatchTokens).length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThan(200 / 4);
    expect(maxRunning).toBeLessThanOrEqual(maxInFlight);
    const st = s.stats();
    expect(st.batches).toBe(calls.length);
    expect(st.tokensProcessed).toBe(calls.reduce((a, c) => a + c.tokens.reduce((x, y) => x + y, 0), 0));
    expect(st).toMatchObject({ queuedTokens: 0, queuedRequests: 0, inFlight: 0, requestsRejected: 0 });
  });
});
