// Run the matmul benchmark in Node (Dawn) and/or headless Chromium, and print a table per runtime.
//
//   node bench/matmul/cli.mjs [--node | --browser | --both] [--quick]
//
// Node: bench/build.mjs bundles bench/matmul/node.ts (TypeScript, ?raw WGSL) into .bench/ and plain
// node runs it — benchmarks are not tests, so not through vitest. Browser: Vite's dev server serves
// bench/matmul/index.html on 127.0.0.1 (WebGPU needs a secure context; loopback counts), Playwright
// drives Debian's Chromium, and the page resolves window.runMatmulBench() to the report.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { buildBench, ROOT } from '../build.mjs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((a) => !['--node', '--browser', '--both', '--quick'].includes(a));
if (unknown.length) {
  console.error(`unknown option ${unknown.join(' ')}\nusage: node bench/matmul/cli.mjs [--node | --browser | --both] [--quick]`);
  process.exit(2);
}
const both = args.has('--both') || (!args.has('--node') && !args.has('--browser'));
const quick = args.has('--quick');

async function runNode() {
  const bundle = await buildBench('bench/matmul/node.ts');
  // Dawn reads VK_ICD_FILENAMES when it loads; without a GPU, Chromium's SwiftShader driver serves.
  const env = { ...process.env };
  if (!env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...(quick ? ['--quick'] : [])], { cwd: ROOT, env, stdio: 'inherit' });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new Error(`node bench exited with ${code}`);
}

async function runBrowser() {
  const { createServer } = await import('vite');
  const { chromium } = await import('@playwright/test');
  const server = await createServer({
    configFile: false,
    root: ROOT,
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 5190, strictPort: false },
    // Only our own sources load in the page; skip the dependency scan and its reloads.
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const base = server.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5190/';
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--enable-unsafe-webgpu',
      '--no-sandbox',
      '--headless=new',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'log') process.stderr.write(`  ${m.text()}\n`);
      else if (m.type() === 'error' || m.type() === 'warning') process.stderr.write(`  [page ${m.type()}] ${m.text()}\n`);
    });
    page.on('pageerror', (e) => process.stderr.write(`  [page error] ${e.message}\n`));
    await page.goto(new URL('bench/matmul/index.html', base).href);
    await page.waitForFunction(() => typeof window.runMatmulBench === 'function');
    const { table } = await page.evaluate((opts) => window.runMatmulBench(opts), { quick });
    console.log(table);
  } finally {
    await browser.close();
    await server.close();
  }
}

const t0 = Date.now();
if (both || args.has('--node')) await runNode();
if (both || args.has('--browser')) await runBrowser();
console.error(`matmul bench done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
