// Tab soak through the Web Worker engine (suites/soak_worker.ts): right answers under a mixed load
// with aborts and 429s, a drained queue, live GPU buffers back where they were, no console errors or
// WebGPU warnings, and the page kept animating.
import { expect, test } from '@playwright/test';

type Buffers = { liveBuffers: number; liveBytes: number; pooledFreeBuffers: number; pooledFreeBytes: number };

test('Web Worker engine soak: mixed requests, aborts, bursts over the limit', async ({ page }) => {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The URL source probes optional files (tokenizer_config.json, chat_template.jinja …): their 404s are expected.
    if (/Failed to load resource: .* 404/.test(m.text())) return;
    if (m.type() === 'error' || (m.type() === 'warning' && /webgpu|gpu|wgsl/i.test(m.text()))) problems.push(`${m.type()}: ${m.text()}`);
  });
  await page.goto('/test/e2e/pages/harness.html?suite=soak_worker');
  await page.waitForFunction(() => window.suiteReady === true);
  const res = (await page.evaluate(() => window.runSuite({ count: 300 }))) as {
    count: number; ms: number; frames: number; maxGap: number;
    counts: { ok: number; wrong: number; aborted: number; overloaded: number; other: string[] };
    heapBefore: number; heapAfter: number; buffersBefore: Buffers; buffersAfter: Buffers;
    queued: number; inFlight: number;
  };
  console.log(JSON.stringify(res));
  expect(problems).toEqual([]);
  expect(res.counts.other).toEqual([]);
  expect(res.counts.wrong).toBe(0);
  expect(res.counts.ok).toBeGreaterThan(res.count / 2);
  expect([res.queued, res.inFlight]).toEqual([0, 0]);
  // Buffers in use (live minus the pool's free ones) are as many as before. Their bytes may grow:
  // activations are re-made for the largest batch seen (bounded by maxBatchTokens), and the pool
  // keeps freed ones of each size class — bounded, not per request (the Node soak trims the pool
  // and checks the bytes too).
  const inUse = (b: Buffers) => b.liveBuffers - b.pooledFreeBuffers;
  expect(inUse(res.buffersAfter)).toBe(inUse(res.buffersBefore));
  expect(res.buffersAfter.liveBytes).toBeLessThan(4 * res.buffersBefore.liveBytes);
  // The page kept animating while the worker worked.
  expect(res.frames).toBeGreaterThan(Math.min(20, res.ms / 16.7 / 4));
  expect(res.maxGap).toBeLessThan(1000);
});
