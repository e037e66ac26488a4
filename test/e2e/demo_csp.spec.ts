// The built demo (vite build → dist/demo) under a strict Content-Security-Policy, the
// one the README's Security section gives, sent on every response (page, scripts, /sw.js, model
// files) by a small static server here. On WebGPU, on the CPU backend on one thread, and on the CPU
// backend with worker threads (a cross-origin isolated page: Blob-URL workers, hence `worker-src
// blob:`), the task playground loads its model and answers — the quick search puts "bakery" first
// for the bread query, and the embeddings agree across backends — and the reverse dictionary (the
// search app) answers a held-out description; and nothing violates the policy: no
// securitypolicyviolation event, no "Refused to …" console message, no report at report-uri. A
// control test makes one violation on purpose to show the three watchers see it.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { expect, test, type Page } from '@playwright/test';

/** README → Security → CSP, plus what the demo needs nothing of (objects, frames, forms, base). */
export const STRICT_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  'report-uri /csp-report',
].join('; ');

const ROOT = resolve('dist/demo');
// A held-out description the embedder's exact search ranks right first (as search_pwa.spec.ts).
const HELD = (JSON.parse(readFileSync(new URL('../fixtures/wordnet-heldout-lemmas.json', import.meta.url), 'utf8')) as {
  queries: { gloss: string; answers: string[]; exactRank: number | null }[];
}).queries.find((q) => q.exactRank === 0)!;
const MODELS = [resolve('demo/models'), resolve('test/fixtures/models')];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png', '.webmanifest': 'application/manifest+json', '.txt': 'text/plain',
};

/** CSP reports the browser POSTed to report-uri, from any of the servers. */
const reports: string[] = [];

/** The built demo and the model folders, every answer carrying the policy (and isolation if asked). */
function serve(isolated: boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/csp-report') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        reports.push(body);
        res.writeHead(204).end();
      });
      return;
    }
    res.setHeader('Content-Security-Policy', STRICT_CSP);
    if (isolated) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    const candidates = path.startsWith('/models/')
      ? MODELS.map((dir) => [dir, resolve(dir, path.slice('/models/'.length))])
      : [[ROOT, resolve(ROOT, `.${path === '/' ? '/index.html' : path}`)]];
    const file = candidates.find(([dir, f]) => f.startsWith(dir + sep) && existsSync(f) && statSync(f).isFile())?.[1];
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

const servers: Record<'plain' | 'isolated', Server | undefined> = { plain: undefined, isolated: undefined };
const origin = (s: Server | undefined) => `http://127.0.0.1:${(s!.address() as AddressInfo).port}`;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({}, info) => {
  info.setTimeout(300_000);
  const t0 = Date.now();
  const built = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit', env: process.env });
  expect(built.status).toBe(0);
  console.log(`vite build: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  servers.plain = await serve(false);
  servers.isolated = await serve(true);
});

test.afterAll(() => {
  servers.plain?.close();
  servers.isolated?.close();
});

/** Everything that says the policy was violated, from the page, its workers and the report endpoint. */
async function watch(page: Page) {
  const seen: string[] = [];
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  });
  const refused = (where: string) => (m: { type(): string; text(): string }) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) seen.push(`${where} ${m.type()}: ${m.text()}`);
    else if (m.type() === 'error' && !/Failed to load resource: .* 404/.test(m.text())) seen.push(`${where} error: ${m.text()}`);
  };
  page.on('console', refused('page'));
  page.on('worker', (w) => w.on('console', refused('worker')));
  page.context().on('serviceworker', (w) => w.on('console', refused('service worker')));
  page.on('pageerror', (e) => seen.push(`pageerror: ${e.message}`));
  const startReports = reports.length;
  return async () => {
    const events = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
    // Reports are sent asynchronously; give them a moment to arrive.
    await page.waitForTimeout(300);
    return [...seen, ...events.map((e) => `securitypolicyviolation: ${e}`), ...reports.slice(startReports).map((r) => `report: ${r}`)];
  };
}

/** Load the default model on `backend`, run the quick search and the embed task; what the page shows. */
async function useDemo(page: Page, base: string, backend: 'webgpu' | 'cpu') {
  await page.goto(`${base}/?backend=${backend}`);
  await page.click('#load');
  await expect(page.locator('#info')).toContainText('loaded in', { timeout: 120_000 });
  const info = await page.locator('#info').textContent();
  await page.click('#search');
  await expect(page.locator('#results li').first()).toBeVisible({ timeout: 120_000 });
  const ranked = await page.locator('#results li').allTextContents();
  await page.click('#run');
  await expect(page.locator('#output')).toContainText(`on ${backend}`, { timeout: 120_000 });
  const output = (await page.locator('#output').textContent()) ?? '';
  const embeddings = (JSON.parse(output.slice(output.indexOf('\n') + 1)) as { embeddings: number[][] }).embeddings;
  return { info: info ?? '', ranked, embeddings, errors: await page.locator('.error').count() };
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((x, j) => Math.abs(x - b[i][j]))));
let webgpuEmbeddings: number[][] = [];

test('WebGPU under the strict CSP: the demo loads its model, searches, embeds, and its Service Worker answers', async ({ page }) => {
  const violations = await watch(page);
  const t0 = Date.now();
  const r = await useDemo(page, origin(servers.plain), 'webgpu');
  console.log(JSON.stringify({ backend: 'webgpu', seconds: (Date.now() - t0) / 1000, info: r.info, top: r.ranked[0] }));
  expect(r.errors).toBe(0);
  expect(r.info).toContain('backend webgpu');
  expect(r.ranked[0]).toMatch(/bakery$/);
  expect(r.embeddings.length).toBe(3);
  webgpuEmbeddings = r.embeddings;
  // The HTTP API from /sw.js (its own script also carries the policy).
  await page.click('#sw');
  await expect(page.locator('#sw-output')).toContainText(/^200 /, { timeout: 120_000 });
  expect(await violations()).toEqual([]);
});

test('CPU backend, one thread, under the strict CSP: same answers as WebGPU', async ({ page }) => {
  const violations = await watch(page);
  const t0 = Date.now();
  const r = await useDemo(page, origin(servers.plain), 'cpu');
  console.log(JSON.stringify({ backend: 'cpu', seconds: (Date.now() - t0) / 1000, info: r.info, top: r.ranked[0] }));
  expect(r.errors).toBe(0);
  expect(r.info).toMatch(/backend cpu \((relaxed-simd|simd128), 1 thread\)/);
  expect(r.ranked[0]).toMatch(/bakery$/);
  // The page rounds to 5 decimals; the backends agree to the WebGPU path's tolerance.
  expect(maxDiff(r.embeddings, webgpuEmbeddings)).toBeLessThan(1e-4);
  expect(await violations()).toEqual([]);
});

test('CPU backend with worker threads (cross-origin isolated page, Blob-URL workers) under the strict CSP', async ({ page }) => {
  const violations = await watch(page);
  const t0 = Date.now();
  const r = await useDemo(page, origin(servers.isolated), 'cpu');
  console.log(JSON.stringify({ backend: 'cpu threads', seconds: (Date.now() - t0) / 1000, info: r.info, top: r.ranked[0] }));
  expect(r.errors).toBe(0);
  expect(r.info).toMatch(/backend cpu \((relaxed-simd|simd128), [2-9] threads\)/);
  expect(r.ranked[0]).toMatch(/bakery$/);
  expect(maxDiff(r.embeddings, webgpuEmbeddings)).toBeLessThan(1e-4);
  expect(await violations()).toEqual([]);
});

test('the reverse dictionary (search app: its Service Worker, SharedWorker engine, IndexedDB) under the strict CSP', async ({ page }) => {
  test.setTimeout(300_000);
  const violations = await watch(page);
  const t0 = Date.now();
  await page.goto(`${origin(servers.plain)}/demo/search/dictionary.html`);
  await page.waitForFunction(() => window.dictApp?.ready === true, undefined, { timeout: 240_000 });
  await page.fill('#query', HELD.gloss);
  await page.waitForFunction((q) => window.dictApp.lastQuery === q, HELD.gloss);
  const words = await page.evaluate(() => window.dictApp.lastWords);
  console.log(JSON.stringify({ app: 'dictionary', seconds: (Date.now() - t0) / 1000, query: HELD.gloss, top: words.slice(0, 5) }));
  expect(words.some((w) => HELD.answers.includes(w))).toBe(true);
  expect(await violations()).toEqual([]);
});

test('control: the watchers see a violation (an inline style) when there is one', async ({ page }) => {
  const violations = await watch(page);
  await page.goto(`${origin(servers.plain)}/?backend=webgpu`);
  await page.evaluate(() => {
    const s = document.createElement('style');
    s.textContent = 'body { color: red }';
    document.head.append(s);
  });
  const seen = await violations();
  console.log(JSON.stringify(seen));
  expect(seen.some((v) => v.startsWith('securitypolicyviolation: style-src'))).toBe(true);
  expect(seen.some((v) => v.startsWith('report: '))).toBe(true);
  expect(seen.some((v) => v.startsWith('page ') && /Content Security Policy/.test(v))).toBe(true);
});
