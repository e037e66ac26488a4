// CORS from a real browser: `wgpool serve` (the bundled CLI, one tiny model) allows the origin Vite
// serves the test pages from, with an API key. Chromium's own preflight decides: a page on the
// allowed origin gets the golden vector; a page on another origin, a header not allowed, or a
// method not allowed is refused by the browser itself (fetch rejects).
import { expect, test } from '@playwright/test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures/models/tiny-bert-embed', import.meta.url));
const golden = JSON.parse(readFileSync(new URL('../fixtures/goldens/tiny-bert-embed.json', import.meta.url), 'utf8')) as { cases: { text: string; embedding: number[] }[] };
const PAGE_ORIGIN = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 5199)}`;

let child: ChildProcess;
let api = '';

test.beforeAll(async () => {
  const built = spawnSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build:cli failed: ${built.stderr}`);
  child = spawn(
    process.execPath,
    ['bin/wgpool.mjs', 'serve', '--model', MODEL, '--served-model-name', 'embedder', '--port', '0', '-q', '--api-key', 'k',
      '--allowed-origins', JSON.stringify([PAGE_ORIGIN]), '--allowed-methods', 'GET,POST', '--allowed-headers', 'content-type,authorization'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json' } },
  );
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  api = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line:\n${out}`)), 110_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`wgpool serve exited with ${code}:\n${out}`)));
  });
});

test.afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
});

/** fetch from the page; a CORS refusal shows as a rejected fetch (the browser hides the answer). */
async function call(page: import('@playwright/test').Page, url: string, init: { method?: string; headers?: Record<string, string>; body?: string }) {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const r = await fetch(url, init);
        return { ok: true, status: r.status, body: await r.text(), timing: r.headers.get('x-wgpool-total-ms') };
      } catch (e) {
        return { ok: false, error: String(e) };
      }
    },
    { url, init },
  );
}

test('preflights pass for the allowed origin, method and headers, and fail for the rest', async ({ page }) => {
  const body = JSON.stringify({ model: 'embedder', input: golden.cases[0].text, encoding_format: 'float' });
  const auth = { 'content-type': 'application/json', authorization: 'Bearer k' };

  await page.goto('/test/e2e/pages/ping.html');
  expect(new URL(page.url()).origin).toBe(PAGE_ORIGIN);
  const ok = await call(page, `${api}/v1/embeddings`, { method: 'POST', headers: auth, body });
  expect(ok.ok, JSON.stringify(ok)).toBe(true);
  expect(ok.status).toBe(200);
  const vec = (JSON.parse(ok.body!) as { data: { embedding: number[] }[] }).data[0].embedding;
  expect(Math.max(...vec.map((x, i) => Math.abs(x - golden.cases[0].embedding[i])))).toBeLessThan(1e-5);
  expect(ok.timing).not.toBeNull(); // exposed to the page by Access-Control-Expose-Headers

  // Allowed origin, but the API key is wrong: the 401 is readable (it carries CORS headers).
  const wrongKey = await call(page, `${api}/v1/embeddings`, { method: 'POST', headers: { ...auth, authorization: 'Bearer nope' }, body });
  expect(wrongKey).toMatchObject({ ok: true, status: 401, body: '{"error":"Unauthorized"}' });

  const badHeader = await call(page, `${api}/v1/embeddings`, { method: 'POST', headers: { ...auth, 'x-custom': '1' }, body });
  expect(badHeader.ok).toBe(false);
  const badMethod = await call(page, `${api}/v1/embeddings`, { method: 'PUT', headers: auth, body });
  expect(badMethod.ok).toBe(false);

  // Another origin: the same page from "localhost" instead of 127.0.0.1.
  await page.goto(PAGE_ORIGIN.replace('127.0.0.1', 'localhost') + '/test/e2e/pages/ping.html');
  const other = await call(page, `${api}/v1/embeddings`, { method: 'POST', headers: auth, body });
  expect(other.ok).toBe(false);
  // Even a simple GET without preflight is unreadable there (no Access-Control-Allow-Origin)…
  const health = await call(page, `${api}/health`, {});
  expect(health.ok).toBe(false);
  // …while the server is reachable from that page: an opaque no-cors request goes through. So the
  // refusals above are CORS, not a connection problem.
  const reachable = await page.evaluate(async (url) => (await fetch(url, { mode: 'no-cors' })).type, `${api}/health`);
  expect(reachable).toBe('opaque');
});
