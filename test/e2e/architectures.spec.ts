import { expect, test } from '@playwright/test';

test('ModernBERT, Mistral, EmbeddingGemma, MPNet and GTE v1.5 goldens in Chromium through the public API', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/e2e/pages/harness.html?suite=architectures');
  await page.waitForFunction(() => window.suiteReady === true);
  const res = (await page.evaluate(() => window.runSuite())) as Record<string, { embedding?: number; batchInvariance?: number; score?: number }>;
  console.log(JSON.stringify(res));
  expect(errors).toEqual([]);
  for (const name of ['tiny-modernbert-embed', 'tiny-mistral-embed', 'tiny-gemma3-embed', 'tiny-mpnet-embed', 'tiny-gtenew-embed']) {
    expect(res[name].embedding, name).toBeLessThan(1e-5);
    expect(res[name].batchInvariance, name).toBeLessThan(1e-5);
  }
  expect(res['tiny-modernbert-crossenc'].score).toBeLessThan(1e-5);
});
