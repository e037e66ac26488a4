// bench/run.mjs --workload search: the search benchmark page in headless Chromium (and with --node
// on Dawn), printed as a table, optionally written as JSON.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function table(r) {
  const head = ['rows x dims', 'gpu float ms', 'gpu binary ms', 'js flat ms', 'js/gpu float', 'js/gpu binary', 'float = js', 'binary recall@10'];
  const body = r.rows.map((x) => [`${x.rows} x ${x.dims}`, x.gpu_float_ms.toFixed(2), x.gpu_binary_ms.toFixed(2), x.js_flat_ms.toFixed(2), `x${x.speedup_float.toFixed(2)}`, `x${x.speedup_binary.toFixed(2)}`, String(x.float_matches_js), x.binary_recall.toFixed(3)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c) => c.map((s, i) => (i ? s.padStart(w[i]) : s.padEnd(w[i]))).join('  ');
  return [`top-10 search, median of ${r.runs} queries; adapter: ${r.adapter}`, line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}

export async function runSearchWorkload({ root, chromium, browser, node, sizes, runs, json }) {
  const opts = { sizes, dims: 384, k: 10, runs };
  const out = {};
  if (browser) {
    const { chromium: pw } = await import('@playwright/test');
    const { startBenchServer } = await import('./serve.mjs');
    const { server, url } = await startBenchServer({ root, folders: new Map() });
    const b = await pw.launch({ executablePath: chromium, headless: true, args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    try {
      const page = await b.newPage();
      page.on('console', (m) => m.type() === 'log' && m.text().startsWith('search:') && process.stderr.write(`  [chromium] ${m.text()}\n`));
      page.on('pageerror', (e) => process.stderr.write(`  [chromium error] ${e.message}\n`));
      await page.goto(new URL('bench/e2e/search.html', url).href);
      await page.waitForFunction(() => window.wgpoolSearchBench?.ready === true, null, { timeout: 120_000 });
      out.chromium = await page.evaluate((o) => window.wgpoolSearchBench.run(o), opts);
    } finally {
      await b.close();
      await server.close();
    }
    console.log(`\nChromium (WebGPU vs JavaScript in one page):\n${table(out.chromium)}`);
  }
  if (node) {
    const { buildBench } = await import('../build.mjs');
    const bundle = await buildBench('bench/e2e/search_node.ts');
    const optsFile = resolve(root, '.bench/e2e/search-options.json');
    const outFile = resolve(root, '.bench/e2e/search-result.json');
    writeFileSync(optsFile, JSON.stringify(opts));
    const env = { ...process.env };
    if (!env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    const code = await new Promise((res) => spawn(process.execPath, [bundle, optsFile, outFile], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] }).on('exit', (c) => res(c ?? 1)));
    if (code !== 0) throw new Error(`the Node search bench exited with ${code}`);
    out.node = JSON.parse(readFileSync(outFile, 'utf8'));
    console.log(`\nNode (Dawn vs JavaScript in one process):\n${table(out.node)}`);
  }
  if (json) {
    mkdirSync(dirname(resolve(json)), { recursive: true });
    writeFileSync(json, `${JSON.stringify({ schema: 'wgpool-search-bench/1', date: new Date().toISOString(), ...out }, null, 1)}\n`);
    console.error(`bench: wrote ${json}`);
  }
  return out;
}
