// The search app as users get it: the production build (vite build) served by vite preview, with
// its real Service Worker, IndexedDB and SharedWorker. One visit online, then offline: both pages,
// both models (the reranker never loaded online) and the reverse dictionary keep working.
// Screenshots go to docs/screenshots/ (committed; see the README).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chromium, expect, test, type Page } from '@playwright/test';

const PORT = Number(process.env.E2E_PWA_PORT ?? 5198);
const BASE = `http://127.0.0.1:${PORT}`;
const SHOTS = 'docs/screenshots';
const held = JSON.parse(readFileSync(new URL('../fixtures/wordnet-heldout-lemmas.json', import.meta.url), 'utf8')) as {
  queries: { key: string; gloss: string; answers: string[]; exactRank: number | null }[];
};
// A held-out description (its synset was never in the embedder's training) that the embedder's
// exact search in Node ranks first (scripts/lemma-index/build_index.ts wrote the ranks).
const HELD = held.queries.find((q) => q.exactRank === 0)!;

const PASSAGES = [
  'A bakery is a shop where bread and cakes are made and sold.',
  'The volcano erupted and lava flowed down the mountain.',
  'A violin is a bowed string instrument with four strings.',
  'The dentist examined her teeth and filled a cavity.',
  'A lighthouse is a tower with a bright light that guides ships at sea.',
  'The thunderstorm brought heavy rain, lightning and loud thunder.',
].join('\n\n');

let server: ChildProcess | undefined;

test.describe.configure({ mode: 'serial' });
test.use({ baseURL: BASE, viewport: { width: 960, height: 760 } });

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  const built = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit', env: process.env });
  expect(built.status).toBe(0);
  server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(PORT), '--strictPort'], { stdio: 'ignore', detached: true });
  for (let i = 0; i < 120; i++) {
    const up = await fetch(`${BASE}/demo/search/index.html`).then((r) => r.ok).catch(() => false);
    if (up) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('vite preview did not start');
});

test.afterAll(() => {
  if (server?.pid) process.kill(-server.pid);
});

async function query(page: Page, q: string) {
  await page.fill('#query', q);
  await page.waitForFunction((x) => window.dictApp.lastQuery === x, q);
  return page.evaluate(() => window.dictApp.lastWords);
}

test('built app: installable (manifest, icons, Service Worker on /demo/search/), the dictionary answers a held-out description, and after one visit everything works offline', async ({ page, context }) => {
  test.setTimeout(900_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/demo/search/dictionary.html');
  await page.waitForFunction(() => window.dictApp?.ready === true, undefined, { timeout: 300_000 });
  expect(await page.evaluate(() => window.dictApp.size)).toBe(20000);
  await expect(page.locator('#note')).toContainText('Installed for offline use');
  // SwiftShader here: the app says it runs on a CPU emulation.
  await expect(page.locator('#status.warn')).toContainText('software adapter');

  const pwa = await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    const manifest = await (await fetch(document.querySelector<HTMLLinkElement>('link[rel=manifest]')!.href)).json();
    const icons = await Promise.all(manifest.icons.map(async (i: { src: string }) => (await fetch(new URL(i.src, location.href))).status));
    return { scope: reg?.scope, controlled: !!navigator.serviceWorker.controller, name: manifest.short_name, display: manifest.display, icons };
  });
  expect(pwa).toEqual({ scope: `${BASE}/demo/search/`, controlled: true, name: 'wgpool search', display: 'standalone', icons: [200, 200, 200] });

  const words = await query(page, HELD.gloss);
  console.log(JSON.stringify({ held: HELD.key, query: HELD.gloss, answers: HELD.answers, top10: words }));
  expect(words.some((w) => HELD.answers.includes(w))).toBe(true);
  await expect(page.locator('#results li .gloss').first()).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/dictionary.png`, fullPage: true });

  // Offline from here on. The reload comes from the Service Worker's precache.
  await context.setOffline(true);
  await page.reload();
  await page.waitForFunction(() => window.dictApp?.ready === true, undefined, { timeout: 300_000 });
  expect(await query(page, HELD.gloss)).toEqual(words);
  // The reranker was never loaded online: its files come from the precache too.
  await page.check('#rerank');
  await page.waitForFunction(() => window.dictApp.reranked && document.querySelector('#results .score')?.textContent?.startsWith('rerank'), undefined, { timeout: 300_000 });
  await page.uncheck('#rerank');

  // The passage search page, never opened online: loads, indexes, searches, and restores, offline.
  await page.goto('/demo/search/index.html');
  await page.waitForFunction(() => window.searchApp?.ready === true, undefined, { timeout: 300_000 });
  await expect(page.locator('#count')).toContainText('The index is empty');
  await page.screenshot({ path: `${SHOTS}/search-empty.png`, fullPage: true });
  await page.fill('#paste', PASSAGES);
  await page.click('#add-paste');
  await expect(page.locator('#progress-text')).toContainText('(100%)');
  await expect(page.locator('#count')).toContainText('6 passages indexed');
  await page.fill('#query', 'where bread is baked');
  await page.waitForFunction(() => window.searchApp.lastQuery === 'where bread is baked');
  const first = await page.evaluate(() => window.searchApp.lastTexts[0]);
  expect(first).toContain('bakery');
  await page.screenshot({ path: `${SHOTS}/search-results.png`, fullPage: true });
  await page.reload();
  await page.waitForFunction(() => window.searchApp?.ready === true, undefined, { timeout: 300_000 });
  expect(await page.evaluate(() => ({ size: window.searchApp.size, embedded: window.searchApp.embedded }))).toEqual({ size: 6, embedded: 0 });
  await page.fill('#query', 'where bread is baked');
  await page.waitForFunction(() => window.searchApp.lastQuery === 'where bread is baked');
  expect(await page.evaluate(() => window.searchApp.lastTexts[0])).toBe(first);
  expect(errors).toEqual([]);
});

test('built app without WebGPU (no --enable-unsafe-webgpu): both pages say so and what to do', async ({}, info) => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--no-first-run'] });
  const page = await browser.newPage({ baseURL: BASE, viewport: { width: 960, height: 560 } });
  for (const [path, shot] of [
    ['/demo/search/dictionary.html', 'no-webgpu.png'],
    ['/demo/search/index.html', ''],
  ]) {
    await page.goto(path);
    await expect(page.locator('#status.error')).toContainText(/no WebGPU|no GPU adapter/);
    await expect(page.locator('#query')).toBeDisabled();
    if (shot) await page.screenshot({ path: `${SHOTS}/${shot}`, fullPage: true });
  }
  await browser.close();
  void info;
});
