// Every fixture's goldens in Chromium through the public API, every task it serves, with batch
// invariance, on both backends: WebGPU (SwiftShader here), and the CPU backend's WebAssembly kernels
// on one thread (a page without cross-origin isolation) and on two (an isolated page: kernel Web
// Workers over shared memory). The checks and their bars are the Node suites' (test/helpers/
// golden_checks.ts); the table of goldens is test/helpers/golden_table.ts.
import { readdirSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { GOLDEN_CHECKS } from '../helpers/golden_table';
import type { GoldensResult } from './pages/suites/goldens';

const FIXTURES = new URL('../fixtures/', import.meta.url);
/** The demo models' golden (test/models/demo_models.test.ts): trained weights, not an oracle fixture. */
const NOT_FIXTURE_GOLDENS = ['wordnet-demo-models'];
const ONLY = process.env.GOLDENS_ONLY?.split(',');

async function runGoldens(page: Page, query: string): Promise<GoldensResult> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.text().startsWith('goldens ') && console.log(m.text()));
  await page.goto(`/test/e2e/pages/harness.html?suite=goldens&${query}`);
  await page.waitForFunction(() => window.suiteReady === true);
  const res = (await page.evaluate((only) => window.runSuite({ only }), ONLY)) as GoldensResult;
  expect(errors).toEqual([]);
  return res;
}

function expectAllPass(res: GoldensResult, want: { backend: string; threads: number | null; simd: string | null; adapterSource: string }) {
  const engine = { ...want, dtype: 'f32' };
  const worst = Object.fromEntries(
    Object.entries(res.results).map(([name, r]) => [name, Object.fromEntries(Object.entries(r.errors).map(([what, m]) => [what, Number(m.err.toPrecision(2))]))]),
  );
  console.log(`max errors: ${JSON.stringify(worst)}`);
  console.log(`ms per golden: ${JSON.stringify(Object.fromEntries(Object.entries(res.results).map(([n, r]) => [n, r.ms])))}`);
  expect(Object.keys(res.results).sort()).toEqual([...(ONLY ?? Object.keys(GOLDEN_CHECKS))].sort());
  for (const [name, r] of Object.entries(res.results)) {
    expect.soft(r.mismatches, name).toEqual([]);
    expect.soft(r.engines.length, `${name} engines`).toBeGreaterThan(0);
    for (const e of r.engines) expect.soft(e, `${name} backend`).toMatchObject(engine);
    for (const [what, m] of Object.entries(r.errors)) expect.soft(m.err, `${name} ${what}`).toBeLessThan(m.tol);
  }
}

test('the golden table covers every fixture folder and every golden file', () => {
  const models = readdirSync(new URL('models/', FIXTURES)).sort();
  const goldens = readdirSync(new URL('goldens/', FIXTURES)).map((f) => f.replace(/\.json$/, '')).filter((n) => !NOT_FIXTURE_GOLDENS.includes(n));
  expect([...new Set(Object.values(GOLDEN_CHECKS).map((c) => c.model))].sort()).toEqual(models);
  expect(Object.keys(GOLDEN_CHECKS).sort()).toEqual(goldens.sort());
});

test('every golden on WebGPU', async ({ page }) => {
  const res = await runGoldens(page, 'backend=webgpu');
  console.log(`adapter: ${JSON.stringify({ ...res.adapter, features: undefined, limits: undefined })}`);
  // navigator.gpu's adapter, shared by the suite's engines (pages/suites/goldens.ts says why).
  expect(res.adapter).toMatchObject({ source: 'browser' });
  expectAllPass(res, { backend: 'webgpu', threads: null, simd: null, adapterSource: 'injected' });
});

test('every golden on the CPU backend, 1 thread (no cross-origin isolation)', async ({ page }) => {
  const res = await runGoldens(page, 'backend=cpu&threads=1');
  expect(res.isolated).toBe(false);
  expectAllPass(res, { backend: 'cpu', threads: 1, simd: 'relaxed-simd', adapterSource: 'browser' });
});

test('every golden on the CPU backend, 2 threads (Web Workers over shared memory, cross-origin isolated)', async ({ page }) => {
  const res = await runGoldens(page, 'backend=cpu&threads=2&coi=1');
  expect(res.isolated).toBe(true);
  expectAllPass(res, { backend: 'cpu', threads: 2, simd: 'relaxed-simd', adapterSource: 'browser' });
});
