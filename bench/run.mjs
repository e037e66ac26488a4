// End-to-end benchmark: wgpool against Transformers.js (WebGPU and WASM) on the same texts in the
// same headless Chromium page, and optionally wgpool in Node on Dawn. `node bench/run.mjs --help`.
//
// How it runs: Vite serves demo/bench/ (the interactive benchmark page) with the model folders under
// /bench-models/ and cross-origin isolation headers (bench/e2e/serve.mjs); Playwright drives
// Debian's Chromium, and the page resolves window.wgpoolBench.run(options) to its results. With
// --node, bench/build.mjs bundles bench/e2e/node.ts into .bench/e2e/node.mjs and plain node runs it.
// Results: a table on stdout, and with --json the JSON documented in README.md ("Benchmarks").

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = resolve(ROOT, '.bench');
const MODELS_DIR = resolve(BENCH_DIR, 'models');
const DEFAULT_MODEL = resolve(MODELS_DIR, 'perf-minilm-l6');
const ORACLE = process.env.WGPOOL_ORACLE_DIR ?? resolve(ROOT, '../shared/oracle');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const WORKLOADS = ['uniform', 'rerank', 'concurrent', 'batch', 'search'];
const BROWSER_SYSTEMS = ['wgpool', 'wgpool_cpu', 'transformersjs_wasm', 'transformersjs_webgpu'];
const ORDER = ['wgpool', 'wgpool_cpu', 'transformersjs_webgpu', 'transformersjs_wasm', 'wgpool_node', 'wgpool_cpu_node', 'transformersjs_node'];

const HELP = `usage: npm run bench -- [options]        (or: node bench/run.mjs [options])

Runs wgpool and, when DIR/onnx/model.onnx exists, Transformers.js WebGPU and WASM on the same texts
in one headless Chromium page, and prints load, first-request and steady-state times, tokens/s,
useful GFLOP/s and the largest difference between their embeddings.

  --model DIR           HF-layout model folder (default: .bench/models/perf-minilm-l6, built with
                        ../shared/oracle/make_fixtures.py --perf and export_onnx.py when missing)
  --texts FILE          JSON array of strings (default: 32 seeded texts of 8-39 tokens)
  --runs N              timed runs after the first request (default 3)
  --webgpu-runs N       timed runs for Transformers.js WebGPU (default 1: ~1 min each on SwiftShader)
  --json OUT            write the results as JSON
  --workload LIST       extra workloads, comma-separated: ${WORKLOADS.join(', ')}, all, none
                        (default: concurrent). The main workload (--texts) always runs.
                        search: the GPU vector index vs a JS flat scan (no model; runs alone
                        when it is the only workload)
  --search-sizes LIST   corpus rows for --workload search (default 10000,100000; 384 dims, top 10)
  --concurrency LIST    concurrent single-text callers per level (default 1,8,64)
  --requests N          requests per concurrency level (default max(16, callers))
  --batch-sizes LIST    for --workload batch (default 1,2,4,8,16,32)
  --systems LIST        browser systems (default ${BROWSER_SYSTEMS.join(',')})
  --webgpu-workloads    run the extra workloads on Transformers.js WebGPU too (slow)
  --threads N           WASM threads (default: all cores; needs cross-origin isolation, which the
                        bench server provides)
  --matmul-variant V    force wgpool's matmul kernel (naive, regblock, tiled)
  --node                also run in Node: wgpool on Dawn, Transformers.js on onnxruntime-node (CPU)
  --no-browser          skip Chromium (with --node: Node only)
  --serve               serve the benchmark page (demo/bench/) with the models and wait
  --load-memory         only load the model once in a fresh Node process (wgpool on Dawn) and print
                        the load timeline and peak memory (RSS, V8 heap, ArrayBuffers) as JSON.
                        The browser runs report load_memory per wgpool system too
  --dtype D             with --load-memory: the weights' dtype option (auto, f32, f16; default auto)
  --help                this text

Environment: CHROMIUM_PATH (default /usr/bin/chromium), VK_ICD_FILENAMES (Node; default the
SwiftShader driver Chromium ships), PYTHON and WGPOOL_ORACLE_DIR (model generation).`;

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(1);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      model: { type: 'string' },
      texts: { type: 'string' },
      runs: { type: 'string', default: '3' },
      'webgpu-runs': { type: 'string', default: '1' },
      json: { type: 'string' },
      workload: { type: 'string', default: 'concurrent' },
      concurrency: { type: 'string', default: '1,8,64' },
      'search-sizes': { type: 'string', default: '10000,100000' },
      requests: { type: 'string' },
      'batch-sizes': { type: 'string', default: '1,2,4,8,16,32' },
      systems: { type: 'string', default: BROWSER_SYSTEMS.join(',') },
      'webgpu-workloads': { type: 'boolean', default: false },
      threads: { type: 'string' },
      'matmul-variant': { type: 'string' },
      node: { type: 'boolean', default: false },
      'no-browser': { type: 'boolean', default: false },
      serve: { type: 'boolean', default: false },
      'load-memory': { type: 'boolean', default: false },
      dtype: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (e) {
  console.error(`bench: ${e.message}\n\n${HELP}`);
  process.exit(2);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

const int = (name, v, min = 0) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
};
const list = (name, v, min = 1) => v.split(',').filter(Boolean).map((x) => int(name, x, min));
const runs = int('runs', args.runs, 1);
const webgpuRuns = int('webgpu-runs', args['webgpu-runs'], 1);
const concurrency = list('concurrency', args.concurrency);
const batchSizes = list('batch-sizes', args['batch-sizes']);
const requests = args.requests === undefined ? undefined : int('requests', args.requests, 1);
const threads = args.threads === undefined ? undefined : int('threads', args.threads, 1);
const workloads = args.workload === 'all' ? WORKLOADS : args.workload === 'none' ? [] : args.workload.split(',').filter(Boolean);
for (const w of workloads) if (!WORKLOADS.includes(w)) fail(`unknown workload "${w}" (use ${WORKLOADS.join(', ')}, all or none)`);
const systems = args.systems.split(',').filter(Boolean);
for (const s of systems) if (!BROWSER_SYSTEMS.includes(s)) fail(`unknown browser system "${s}" (use ${BROWSER_SYSTEMS.join(', ')})`);
if (args['matmul-variant'] && !['naive', 'regblock', 'tiled'].includes(args['matmul-variant'])) fail(`unknown matmul variant ${args['matmul-variant']}`);
const browser = !args['no-browser'];
if (!browser && !args.node && !args.serve) fail('--no-browser leaves nothing to run; add --node');

// The search workload needs no model: run it first, and alone when it is all that was asked for.
if (workloads.includes('search') && !args.serve) {
  const { runSearchWorkload } = await import('./e2e/search_run.mjs');
  const sizes = list('search-sizes', args['search-sizes']);
  try {
    await runSearchWorkload({ root: ROOT, chromium: CHROMIUM, browser, node: args.node, sizes, runs: Math.max(runs, 5), json: args.json && workloads.length === 1 ? args.json : undefined });
  } catch (err) {
    fail(err.stack ?? String(err));
  }
  workloads.splice(workloads.indexOf('search'), 1);
  if (!workloads.length) process.exit(0);
}

let texts;
if (args.texts) {
  try {
    texts = JSON.parse(readFileSync(args.texts, 'utf8'));
  } catch (e) {
    fail(`cannot read --texts ${args.texts}: ${e.message}`);
  }
  if (!Array.isArray(texts) || texts.length === 0 || texts.some((t) => typeof t !== 'string')) fail(`--texts ${args.texts} must be a non-empty JSON array of strings`);
}

// ---------------------------------------------------------------------------------------------
// The model

function run(cmd, argv) {
  console.error(`bench: ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit' });
  return r.status === 0;
}

/** Build the MiniLM-L6-shaped benchmark model (random weights, real bert-base-uncased vocab) and its ONNX export. */
function ensureDefaultModel() {
  const haveWeights = existsSync(resolve(DEFAULT_MODEL, 'config.json')) && existsSync(resolve(DEFAULT_MODEL, 'model.safetensors'));
  const haveOnnx = existsSync(resolve(DEFAULT_MODEL, 'onnx/model.onnx'));
  if (haveWeights && haveOnnx) return;
  const make = resolve(ORACLE, 'make_fixtures.py');
  const exporter = resolve(ORACLE, 'export_onnx.py');
  if (!existsSync(make) || !existsSync(exporter)) {
    fail(
      `the benchmark model ${DEFAULT_MODEL} is missing and the scripts that build it are not at ${ORACLE}\n` +
        '(make_fixtures.py, export_onnx.py: set WGPOOL_ORACLE_DIR), or pass --model DIR with an HF-layout model folder.',
    );
  }
  mkdirSync(MODELS_DIR, { recursive: true });
  if (!haveWeights && !run(PYTHON, [make, '--perf', MODELS_DIR])) {
    fail(`${make} --perf failed; it needs python3 with torch and numpy (apt-get install python3-torch python3-numpy python3-onnx python3-regex)`);
  }
  if (!run(PYTHON, [exporter, DEFAULT_MODEL])) {
    console.error('bench: the ONNX export failed (python3-onnx missing?); Transformers.js will be skipped');
  }
}

const modelDir = resolve(args.model ?? DEFAULT_MODEL);
if (!args.model) ensureDefaultModel();
if (!existsSync(resolve(modelDir, 'config.json'))) fail(`${modelDir} is not a model folder (no config.json)`);

// --load-memory: one load in a process of its own, so its peak is the load's and nothing else's.
if (args['load-memory']) {
  const { buildBench } = await import('./build.mjs');
  const bundle = await buildBench('bench/e2e/load_memory.ts');
  const env = { ...process.env };
  if (!env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const r = spawnSync(process.execPath, [bundle, modelDir, args.dtype ?? 'auto'], { env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) fail(`load-memory run failed (exit ${r.status})`);
  process.stdout.write(r.stdout);
  if (args.json) writeFileSync(args.json, r.stdout);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Runs

async function withServer(f) {
  const { startBenchServer, modelFolders } = await import('./e2e/serve.mjs');
  const { server, url } = await startBenchServer({ root: ROOT, folders: modelFolders(MODELS_DIR, [modelDir]) });
  try {
    return await f(url);
  } finally {
    await server.close();
  }
}

async function runBrowser() {
  const { chromium } = await import('@playwright/test');
  return withServer(async (base) => {
    const b = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await b.newPage();
      page.on('console', (m) => {
        // The server runs without HMR's WebSocket (see serve.mjs); vite's client complains about it.
        if (/WebSocket|\[vite\]|your current setup|<--\[HTTP\]-->|Check out your Vite|status of 404/.test(m.text())) return;
        if (m.type() === 'log') process.stderr.write(`  [chromium] ${m.text()}\n`);
        else if (m.type() === 'error' || m.type() === 'warning') process.stderr.write(`  [chromium ${m.type()}] ${m.text()}\n`);
      });
      page.on('pageerror', (e) => process.stderr.write(`  [chromium error] ${e.message}\n`));
      page.on('response', (r) => {
        // 404s are expected: loaders probe for optional files (model.safetensors.index.json, …).
        if (r.status() >= 400 && r.status() !== 404) process.stderr.write(`  [chromium] ${r.status()} ${r.url()}\n`);
      });
      await page.goto(new URL('demo/bench/index.html', base).href);
      await page.waitForFunction(() => window.wgpoolBench?.ready === true, null, { timeout: 120_000 });
      const opts = {
        model: `/bench-models/${basename(modelDir)}`,
        systems,
        runs,
        runsFor: { transformersjs_webgpu: webgpuRuns },
        texts,
        workloads,
        workloadSystems: systems.filter((s) => args['webgpu-workloads'] || s !== 'transformersjs_webgpu'),
        concurrency,
        concurrentRequests: requests,
        batchSizes,
        threads,
        matmulVariant: args['matmul-variant'],
        keepEmbeddings: true,
      };
      return await page.evaluate((o) => window.wgpoolBench.run(o), opts);
    } finally {
      await b.close();
    }
  });
}

async function runNode(sameTexts) {
  const { buildBench } = await import('./build.mjs');
  const bundle = await buildBench('bench/e2e/node.ts');
  const optsFile = resolve(BENCH_DIR, 'e2e/node-options.json');
  const outFile = resolve(BENCH_DIR, 'e2e/node-result.json');
  writeFileSync(
    optsFile,
    JSON.stringify({
      model: modelDir,
      out: outFile,
      tjs: true,
      runs,
      texts: sameTexts,
      workloads,
      concurrency,
      concurrentRequests: requests,
      batchSizes,
      matmulVariant: args['matmul-variant'],
      keepEmbeddings: true,
    }),
  );
  // Dawn reads VK_ICD_FILENAMES when it loads; without a GPU, Chromium's SwiftShader driver serves.
  const env = { ...process.env };
  if (!env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const code = await new Promise((res) => {
    const child = spawn(process.execPath, [bundle, optsFile], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (c) => res(c ?? 1));
  });
  if (code !== 0) throw new Error(`the Node bench exited with ${code}`);
  return JSON.parse(readFileSync(outFile, 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// Report

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i].length !== b[i].length) return Infinity;
    for (let j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
  }
  return m;
}

/** Merge the browser and Node results into the documented JSON (systems as top-level keys). */
function merge(parts) {
  const first = parts[0];
  const out = {
    schema: 'wgpool-bench/1',
    date: new Date().toISOString(),
    model: { dir: modelDir, ...first.model, onnx: existsSync(resolve(modelDir, 'onnx/model.onnx')) },
    environment: Object.fromEntries(parts.map((p) => [p.environment.runtime, p.environment])),
    main: first.main,
    flops_formula: first.main.flops_formula,
    runs: { default: runs, transformersjs_webgpu: webgpuRuns },
  };
  const embeddings = {};
  const workloads = {};
  const skipped = {};
  const errors = {};
  for (const p of parts) {
    Object.assign(embeddings, p.embeddings ?? {});
    Object.assign(skipped, p.skipped ?? {});
    Object.assign(errors, p.errors ?? {});
    for (const [k, s] of Object.entries(p.systems)) out[k] = s;
    for (const [w, v] of Object.entries(p.workloads)) {
      if (!workloads[w]) workloads[w] = { ...v, systems: { ...v.systems } };
      else {
        Object.assign(workloads[w].systems, v.systems);
        if (v.max_abs_diff) Object.assign(workloads[w].max_abs_diff, v.max_abs_diff);
      }
    }
  }
  // Embedding differences for every pair, across runtimes too.
  const names = ORDER.filter((n) => embeddings[n]);
  out.max_abs_diff = {};
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const d = maxAbsDiff(embeddings[names[i]], embeddings[names[j]]);
      out.max_abs_diff[`${names[i]} vs ${names[j]}`] = d;
      if (out[names[i]]) out[names[i]].max_abs_diff[names[j]] = d;
      if (out[names[j]]) out[names[j]].max_abs_diff[names[i]] = d;
    }
  }
  out.workloads = workloads;
  out.skipped = skipped;
  out.errors = errors;
  out.texts = first.texts;
  return out;
}

const f = (x, digits) => {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (digits !== undefined) return x.toFixed(digits);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(2);
};
const s = (ms) => (ms === null || ms === undefined ? '-' : f(ms / 1000));
const e = (x) => (x === undefined ? '-' : x.toExponential(1));

function table(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

function report(r) {
  const names = ORDER.filter((n) => r[n]);
  const m = r.main;
  const lines = [];
  lines.push(
    `\nmodel ${basename(r.model.dir)} (${r.model.architecture}, ${r.model.layers} layers, hidden ${r.model.hidden_size}, ${f(r.model.non_embedding_params / 1e6)} M non-embedding params, ${r.model.task === 'classify' ? `classify: ${r.model.pooling} pooling → class probabilities` : `${r.model.pooling} pooling${r.model.normalize ? ' + normalize' : ''}`})`,
  );
  lines.push(
    `main workload: ${m.texts} texts, ${m.tokens} real tokens (${m.min_tokens}-${m.max_tokens} each), ${m.padded_tokens} padded; ${f(m.useful_gflop)} useful GFLOP per request`,
  );
  lines.push(`  useful FLOPs = ${r.flops_formula}`);
  const env = r.environment.chromium;
  if (env) lines.push(`chromium: WASM threads ${env.wasm_threads ?? '-'} (cross-origin isolated: ${env.cross_origin_isolated}, ${env.hardware_concurrency} cores)`);
  const adapter = names.map((n) => r[n].adapter).find(Boolean);
  if (adapter) lines.push(`WebGPU adapter: ${adapter}`);
  lines.push('');
  lines.push(
    table(
      ['system (times in s)', 'load', 'pipelines', 'first', 'cold', 'median', 'min', 'max', 'runs', 'tokenize', 'tokens/s', 'GFLOP/s', 'max|diff| vs wgpool'],
      names.map((n) => {
        const x = r[n];
        const ref = n === 'wgpool' ? (r.wgpool_node ? 'wgpool_node' : null) : 'wgpool';
        return [n, s(x.load_ms), s(x.compile_ms), s(x.first_ms), s(x.cold_ms), s(x.median_ms), s(x.min_ms), s(x.max_ms), x.runs_ms.length, s(x.tokenize_ms), f(x.tokens_per_s), f(x.gflops), ref ? `${e(x.max_abs_diff[ref])}${n === 'wgpool' ? ' (vs node)' : ''}` : '-'];
      }),
    ),
  );
  const cpu = r.wgpool_cpu ?? r.wgpool_cpu_node;
  const wasm = r.transformersjs_wasm ?? r.transformersjs_node;
  if (cpu && wasm) {
    lines.push('');
    lines.push(`wgpool_cpu vs ${r.transformersjs_wasm ? 'transformersjs_wasm' : 'transformersjs_node'}: median ${s(cpu.median_ms)} s vs ${s(wasm.median_ms)} s = x${f(cpu.median_ms / wasm.median_ms)} (issue 13 target: <= 0.67)`);
  }
  const w = r.wgpool ?? r.wgpool_node;
  if (w) {
    lines.push('');
    for (const n of names) {
      if (n.startsWith('wgpool')) continue;
      const o = r[n];
      lines.push(
        `wgpool vs ${n}: throughput x${f(w.tokens_per_s / o.tokens_per_s)}, steady latency ${s(w.median_ms)} s vs ${s(o.median_ms)} s, cold start ${s(w.cold_ms)} s vs ${s(o.cold_ms)} s, max |diff| ${e(w.max_abs_diff[n])}`,
      );
    }
  }
  const wl = r.workloads;
  if (wl.uniform) {
    lines.push(`\nuniform lengths (${wl.uniform.texts} texts, ${wl.uniform.tokens} tokens):`);
    lines.push(table(['system', 'median s', 'tokens/s', 'GFLOP/s'], Object.entries(wl.uniform.systems).map(([n, x]) => [n, s(x.median_ms), f(x.tokens_per_s), f(x.gflops)])));
  }
  if (wl.rerank) {
    lines.push(`\nrerank 1->${wl.rerank.documents} (${wl.rerank.tokens} tokens):`);
    lines.push(table(['system', 'median s', 'tokens/s'], Object.entries(wl.rerank.systems).map(([n, x]) => [n, s(x.median_ms), f(x.tokens_per_s)])));
    for (const [k, v] of Object.entries(wl.rerank.max_abs_diff)) lines.push(`  score max |diff| ${k}: ${e(v)}`);
  }
  if (wl.concurrent) {
    lines.push('\nconcurrent single-text callers (closed loop):');
    lines.push(
      table(
        ['system', 'callers', 'requests', 'req/s', 'tokens/s', 'p50 ms', 'p95 ms', 'batches', 'mean batch', 'mean fill'],
        Object.entries(wl.concurrent.systems).flatMap(([n, rows]) =>
          rows.map((x) => [n, x.concurrency, x.requests, f(x.requests_per_s), f(x.tokens_per_s), f(x.latency_p50_ms), f(x.latency_p95_ms), x.batches ?? '-', f(x.mean_batch_size), x.mean_batch_fill === null ? '-' : f(x.mean_batch_fill, 4)]),
        ),
      ),
    );
  }
  if (wl.batch) {
    lines.push('\nlatency vs batch size (median s):');
    const sizes = [...new Set(Object.values(wl.batch.systems).flatMap((rows) => rows.map((x) => x.batch)))];
    lines.push(table(['system', ...sizes.map(String)], Object.entries(wl.batch.systems).map(([n, rows]) => [n, ...sizes.map((b) => s(rows.find((x) => x.batch === b)?.median_ms))])));
  }
  for (const [k, v] of Object.entries(r.skipped)) lines.push(`\n${k} skipped: ${v}`);
  for (const [k, v] of Object.entries(r.errors)) lines.push(`\n${k} FAILED: ${v}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

if (args.serve) {
  const { startBenchServer, modelFolders } = await import('./e2e/serve.mjs');
  const { url } = await startBenchServer({ root: ROOT, folders: modelFolders(MODELS_DIR, [modelDir]) });
  console.log(`benchmark page: ${new URL('demo/bench/index.html', url).href}?model=/bench-models/${basename(modelDir)}  (Ctrl-C stops)`);
} else {
  const t0 = Date.now();
  const parts = [];
  try {
    if (browser) parts.push(await runBrowser());
    if (args.node) parts.push(await runNode(texts ?? parts[0]?.texts));
  } catch (err) {
    fail(err.stack ?? String(err));
  }
  const result = merge(parts);
  console.log(report(result));
  if (args.json) {
    mkdirSync(dirname(resolve(args.json)), { recursive: true });
    writeFileSync(args.json, `${JSON.stringify(result, null, 1)}\n`);
    console.error(`bench: wrote ${args.json}`);
  }
  console.error(`bench: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (Object.keys(result.errors).length) process.exitCode = 1;
}
