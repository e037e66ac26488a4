import { expect, test, type Page } from '@playwright/test';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The bytes a load of tiny-bert-embed reads: every file of the fixture.
const DIR = fileURLToPath(new URL('../fixtures/models/tiny-bert-embed', import.meta.url));
const FIXTURE_BYTES = readdirSync(DIR, { recursive: true, withFileTypes: true })
  .filter((f) => f.isFile())
  .reduce((a, f) => a + statSync(join(f.parentPath, f.name)).size, 0);

interface Loaded {
  ok: boolean;
  error?: string;
  status?: number;
  embedding: number[];
  download: { loaded: number; total: number };
  end: { phase: string; progress: number };
  monotonic: boolean;
  list: { kind: string; id: string; files: number; size: number }[];
}

async function open(page: Page) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/e2e/pages/harness.html?suite=cache');
  await page.waitForFunction(() => window.suiteReady === true);
  return errors;
}

const step = (page: Page, name: string) => page.evaluate((s) => window.runSuite({ step: s }), name);

test('offline cache: a second load with the network off comes from Cache Storage; list and delete', async ({ page, context }) => {
  const errors = await open(page);
  const online = (await step(page, 'load')) as Loaded;
  expect(online.error).toBeUndefined();
  expect(online.list).toHaveLength(1);
  expect(online.list[0]).toMatchObject({ kind: 'url', files: 8, size: FIXTURE_BYTES });

  await context.setOffline(true);
  try {
    expect(await step(page, 'probe')).toMatch(/^failed/);
    const offline = (await step(page, 'load')) as Loaded;
    expect(offline.error).toBeUndefined();
    expect(offline.embedding).toEqual(online.embedding);
    // Reading from the cache still reports the download phase, byte for byte, and ends at 100%.
    expect(offline.download).toEqual({ loaded: FIXTURE_BYTES, total: FIXTURE_BYTES });
    expect(offline.end).toMatchObject({ phase: 'ready', progress: 1 });
    expect(offline.monotonic).toBe(true);

    const deleted = (await step(page, 'delete')) as { deleted: number; list: unknown[]; keys: number };
    expect(deleted).toEqual({ deleted: 1, list: [], keys: 0 });
    // With the entry gone, the offline load has nowhere to read from.
    const gone = (await step(page, 'load')) as Loaded;
    expect(gone.ok).toBe(false);
    expect(gone.error).toMatch(/failed/);
  } finally {
    await context.setOffline(false);
  }
  expect(errors).toEqual([]);
});

test('offline cache: a full origin quota is a CacheQuotaError and leaves nothing cached', async ({ page, context }) => {
  const errors = await open(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin, quotaSize: 200_000 });
  const res = (await step(page, 'quota')) as Loaded;
  expect(res.ok).toBe(false);
  expect(res.error).toMatch(/^CacheQuotaError: The offline cache \(Cache Storage "wgpool-v1"\) is out of space/);
  expect(res.status).toBe(507);
  expect(res.list).toEqual([]);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin });
  expect(errors).toEqual([]);
});
