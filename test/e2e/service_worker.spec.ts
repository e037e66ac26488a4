import { expect, test } from '@playwright/test';

test('Service Worker serves /wgpool/v1/embeddings with the JS API vectors, also offline', async ({ page, context }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/e2e/pages/harness.html?suite=service_worker');
  await page.waitForFunction(() => window.suiteReady === true);
  const online = (await page.evaluate(() => window.runSuite({ phase: 'online' }))) as { swStatus: number; swVsJs: number; swErr: number; cachedFiles: string[] };
  console.log(JSON.stringify(online));
  expect(online.swStatus).toBe(200);
  expect(online.swVsJs).toBe(0);
  expect(online.swErr).toBeLessThan(1e-5);
  expect(online.cachedFiles).toContain('/models/tiny-bert-embed/model.safetensors');
  expect(online.cachedFiles).toContain('/models/tiny-bert-embed/tokenizer.json');

  const parity = (await page.evaluate(() => window.runSuite({ phase: 'parity' }))) as Record<string, unknown>;
  console.log(JSON.stringify(parity));
  expect(parity.idsErr).toBeLessThan(1e-5);
  expect(parity.idsTokens).toBe(parity.goldenTokens);
  expect(parity.bytesType).toBe('application/octet-stream');
  expect(parity.bytesErr).toBeLessThan(1e-5);
  expect(parity.f16Excess).toBeLessThan(1e-5);
  expect(parity.chatStatus).toBe(400);
  expect(parity.chatMessage).toMatch(/default chat template is no longer allowed/);
  expect(parity.version).toMatch(/^\d+\.\d+\.\d+/);
  expect(parity.embeddingsCounted).toBe(true);

  await context.setOffline(true);
  const offline = (await page.evaluate(() => window.runSuite({ phase: 'offline' }))) as { swStatus: number; swErr: number; cacheLoadErr: number };
  console.log(JSON.stringify(offline));
  expect(offline.swStatus).toBe(200);
  expect(offline.swErr).toBeLessThan(1e-5);
  expect(offline.cacheLoadErr).toBeLessThan(1e-5);
  expect(errors).toEqual([]);
});
