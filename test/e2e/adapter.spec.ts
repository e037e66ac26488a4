import { expect, test } from '@playwright/test';

test('WebGPU in headless Chromium: adapter report and a kernel round trip', async ({ page }) => {
  await page.goto('/test/e2e/pages/harness.html?suite=adapter');
  await page.waitForFunction(() => window.suiteReady === true);
  const res = (await page.evaluate(() => window.runSuite())) as { report: { source: string; isSoftware: boolean; features: string[] }; out: number[] };
  expect(res.report.source).toBe('browser');
  // LayerNorm of [1,2,3,4,10]: mean 4, population variance 10.
  const want = [1, 2, 3, 4, 10].map((v) => (v - 4) / Math.sqrt(10 + 1e-5));
  res.out.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-5));
});
