import { expect, test } from '@playwright/test';

test('DistilBERT, Qwen2, NomicBert embedders and DistilBERT, Llama classifiers match their goldens in Chromium', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/e2e/pages/harness.html?suite=archs');
  await page.waitForFunction(() => window.suiteReady === true);
  const res = (await page.evaluate(() => window.runSuite())) as Record<string, { golden: number; batchInvariance: number }>;
  expect(errors).toEqual([]);
  console.log(JSON.stringify(res));
  const names = ['tiny-distilbert-embed', 'tiny-qwen2-embed', 'tiny-qwen2-bidir-embed', 'tiny-nomic-embed', 'tiny-distilbert-seqcls', 'tiny-llama-seqcls'];
  expect(Object.keys(res).sort()).toEqual([...names].sort());
  for (const name of names) {
    expect(res[name].golden, name).toBeLessThan(1e-5);
    expect(res[name].batchInvariance, name).toBeLessThan(1e-5);
  }
});
