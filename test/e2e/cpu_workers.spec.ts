import { expect, test } from '@playwright/test';

async function runSuite(page: import('@playwright/test').Page, query: string, phase: string) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/test/e2e/pages/harness.html?suite=cpu_workers${query}`);
  await page.waitForFunction(() => window.suiteReady === true);
  const res = await page.evaluate((p) => window.runSuite({ phase: p }), phase);
  expect(errors).toEqual([]);
  return res;
}

test('Web Worker engine on the CPU backend, 2 kernel threads inside the worker (cross-origin isolated)', async ({ page }) => {
  const res = (await runSuite(page, '&coi=1', 'worker')) as { isolated: boolean; backend: { name: string; threads: number }; goldenErr: number; batchInvariance: number; vsPageCpu: number };
  console.log(JSON.stringify(res));
  expect(res.isolated).toBe(true);
  expect(res.backend).toMatchObject({ name: 'cpu', threads: 2 });
  expect(res.goldenErr).toBeLessThan(1e-5);
  expect(res.batchInvariance).toBe(0);
  expect(res.vsPageCpu).toBe(0);
});

test('Service Worker (sw_entry.ts?backend=cpu) serves /wgpool/v1/embeddings from the CPU backend', async ({ page }) => {
  const res = (await runSuite(page, '', 'sw')) as { status: number; count: number; expected: number; goldenErr: number; vsPageCpu: number };
  console.log(JSON.stringify(res));
  expect(res.status).toBe(200);
  expect(res.count).toBe(res.expected);
  expect(res.goldenErr).toBeLessThan(1e-5);
  expect(res.vsPageCpu).toBe(0);
});
