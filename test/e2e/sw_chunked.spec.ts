import { expect, test } from '@playwright/test';

test('Service Worker with pooler_config enable_chunked_processing + max_embed_len embeds long inputs as the goldens', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/e2e/pages/harness.html?suite=sw_chunked');
  await page.waitForFunction(() => window.suiteReady === true);
  const r = (await page.evaluate(() => window.runSuite())) as Record<string, unknown> & { chunks: number[]; tooLongTokens: number };
  console.log(JSON.stringify(r));
  expect(r.status).toBe(200);
  expect(r.chunks).toEqual([1, 1, 2, 2, 3]);
  expect(r.err).toBeLessThan(1e-5);
  expect(r.promptTokens).toBe(r.goldenTokens);
  expect(r.refusedStatus).toBe(400);
  expect(r.refusedMessage).toBe(
    `This model's maximum embedding input length is 100 tokens. However, you requested ${r.tooLongTokens} tokens in the input for embedding generation. Please reduce the length of the input.`,
  );
  expect(errors).toEqual([]);
});
