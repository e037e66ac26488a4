import { expect, test } from '@playwright/test';

async function runSuite(page: import('@playwright/test').Page, suite: string, args?: unknown) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/test/e2e/pages/harness.html?suite=${suite}`);
  await page.waitForFunction(() => window.suiteReady === true);
  const res = await page.evaluate((a) => window.runSuite(a), args);
  expect(errors).toEqual([]);
  return res;
}

test('vector index in Chromium: GPU search, saved to IndexedDB, restored after a reload, other model refused', async ({ page }) => {
  const built = (await runSuite(page, 'index', { phase: 'build' })) as { ids: string[][]; host: string[][]; binary: string[][]; listed: { name: string; count: number }[] };
  expect(built.ids).toEqual(built.host);
  // Rescoring every row makes binary mode exact.
  expect(built.binary).toEqual(built.host);
  expect(built.listed.map((l) => [l.name, l.count])).toEqual([['docs', 120]]);
  await page.reload();
  const restored = (await runSuite(page, 'index', { phase: 'restore' })) as { ids: string[][]; size: number; metadata: unknown; loadMs: number; mismatch: string };
  console.log(JSON.stringify({ loadMs: restored.loadMs, mismatch: restored.mismatch }));
  expect(restored.size).toBe(120);
  expect(restored.ids).toEqual(built.ids);
  expect(restored.metadata).toEqual({ position: Number(built.ids[0][0].slice(1)) });
  expect(restored.mismatch).toMatch(/^IndexModelMismatchError: This index was built with model ".*tiny-bert-embed"/);
});
