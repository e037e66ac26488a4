import { expect, test } from '@playwright/test';

async function runSuite(page: import('@playwright/test').Page, query: string) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/test/e2e/pages/harness.html?suite=cpu_threads${query}`);
  await page.waitForFunction(() => window.suiteReady === true);
  const res = await page.evaluate(() => window.runSuite());
  expect(errors).toEqual([]);
  return res;
}

test('CPU backend with 2 threads (Web Workers, shared memory) on a cross-origin-isolated page', async ({ page }) => {
  const res = (await runSuite(page, '&coi=1')) as { isolated: boolean; info: { name: string; threads: number; simd: string; description: string }; embedding: number; vsOneThread: number; batchInvariance: number };
  console.log(JSON.stringify(res));
  expect(res.isolated).toBe(true);
  expect(res.info).toMatchObject({ name: 'cpu', threads: 2, simd: 'relaxed-simd' });
  expect(res.info.description).toMatch(/, 2 threads$/);
  expect(res.embedding).toBeLessThan(1e-5);
  expect(res.vsOneThread).toBe(0);
  expect(res.batchInvariance).toBeLessThan(1e-5);
});

test('CPU backend without cross-origin isolation: 1 thread by default, 2 is a clear error', async ({ page }) => {
  const res = (await runSuite(page, '')) as { isolated: boolean; threads: number; error: string };
  console.log(JSON.stringify(res));
  expect(res).toMatchObject({ isolated: false, threads: 1 });
  expect(res.error).toMatch(/cannot run 2 threads here: .*cross-origin isolated/);
});
