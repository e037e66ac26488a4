import { expect, test } from '@playwright/test';

async function runSuite(page: import('@playwright/test').Page, suite: string) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/test/e2e/pages/harness.html?suite=${suite}`);
  await page.waitForFunction(() => window.suiteReady === true);
  const res = await page.evaluate(() => window.runSuite());
  expect(errors).toEqual([]);
  return res;
}

// Every fixture's goldens on both backends: goldens.spec.ts.

test('Web Worker engine: the page signal aborts a load in the upload phase; the worker loads again', async ({ page }) => {
  const res = (await runSuite(page, 'worker_abort')) as { abortOutcome: string; phases: string[]; dims: number; liveBuffers: number };
  console.log(JSON.stringify(res));
  expect(res.abortOutcome).toBe('AbortError');
  expect(res.phases).toContain('upload');
  expect(res.phases).not.toContain('ready');
  expect(res.dims).toBe(64);
  expect(res.liveBuffers).toBeGreaterThan(0);
});

test('Web Worker engine: a large corpus embeds while the page keeps animating', async ({ page }) => {
  const res = (await runSuite(page, 'worker')) as { goldenErr: number; embedded: number; dims: number; ms: number; frames: number; maxGap: number; abortOutcome: string; batches: number };
  console.log(JSON.stringify(res));
  expect(res.goldenErr).toBeLessThan(1e-5);
  expect(res.embedded).toBe(400);
  expect(res.dims).toBe(64);
  expect(res.abortOutcome).toBe('AbortError');
  // 400 calls merged into far fewer batches.
  expect(res.batches).toBeLessThan(100);
  // The main thread stayed free: frames kept coming during the whole embedding run.
  const expected = res.ms / 16.7;
  expect(res.frames).toBeGreaterThan(Math.min(20, expected / 4));
  expect(res.maxGap).toBeLessThan(500);
});
