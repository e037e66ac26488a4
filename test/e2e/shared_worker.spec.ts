import { expect, test } from '@playwright/test';

type Result = { kind: string; loadMs: number; goldenErr: number; hits: number[]; goldenHits: number[]; model: string; sizeAtOpen: number; indexHits: number[]; copyHits: number[]; copySize: number; corpusSize: number; missing: string };

async function runSuite(page: import('@playwright/test').Page, args?: unknown): Promise<Result> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/e2e/pages/harness.html?suite=shared_worker');
  await page.waitForFunction(() => window.suiteReady === true);
  const res = (await page.evaluate((a) => window.runSuite(a), args)) as Result;
  expect(errors).toEqual([]);
  return res;
}

test('SharedWorker engine: two pages of one context share one loaded model and its vector index; no SharedWorker falls back to a Worker', async ({ context }) => {
  const first = await runSuite(await context.newPage());
  const second = await runSuite(await context.newPage());
  const fallback = await runSuite(await context.newPage(), { noSharedWorker: true });
  console.log(JSON.stringify({ firstLoadMs: first.loadMs, secondLoadMs: second.loadMs, fallbackLoadMs: fallback.loadMs }));
  expect([first.kind, second.kind, fallback.kind]).toEqual(['shared', 'shared', 'dedicated']);
  for (const r of [first, second, fallback]) {
    expect(r.goldenErr).toBeLessThan(1e-5);
    expect(r.hits).toEqual(r.goldenHits);
    expect(r.hits[0]).toBe(1);
    // The worker-side GPU index ranks as the page's cosine, also after an IndexedDB round trip.
    expect(r.indexHits).toEqual(r.hits);
    expect(r.copyHits).toEqual(r.hits);
    expect(r.copySize).toBe(r.corpusSize);
    expect(r.missing).toMatch(/No index named "nope"/);
  }
  // One index for both tabs of the shared worker; the fallback page's worker starts empty.
  expect([first.sizeAtOpen, second.sizeAtOpen, fallback.sizeAtOpen]).toEqual([0, first.corpusSize, 0]);
  // The second page found the model loaded: no fetch, no weights upload, no pipeline builds.
  expect(second.loadMs).toBeLessThan(Math.min(250, first.loadMs / 5));
  expect(fallback.loadMs).toBeGreaterThan(second.loadMs);
});
