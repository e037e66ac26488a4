// The benchmark page: wgpool against Transformers.js (WebGPU and WASM) on the same texts in the same
// page, with the workloads of DESIGN.md §6, a results table and charts. bench/run.mjs drives the
// same code headlessly through window.wgpoolBench.run(); by hand, fill the form and press Run.

import { prepare, runBench, fmt, type BenchOptions, type BenchResult, type Workload } from '../../bench/e2e/bench';
import { TransformersJsSystem, WgpoolSystem, tjsPooling, type BenchSystem, type SystemName } from '../../bench/e2e/systems';
import { checkTexts } from '../../bench/e2e/texts';
import type { MatmulVariant } from '../../src/kernels/matmul';
import { resolveSource } from '../../src/loading/source';
import { COLORS, barChart, lineChart, type Bar } from './plot';
import { setupTjs } from './tjs';

export const BROWSER_SYSTEMS = ['wgpool', 'wgpool_cpu', 'transformersjs_wasm', 'transformersjs_webgpu'] as const;

export interface PageRunOptions extends Omit<BenchOptions, 'log' | 'systems'> {
  /** URL prefix of the model folder (relative to the page or absolute). */
  model: string;
  /** Default: all of BROWSER_SYSTEMS (Transformers.js ones only when the model has onnx/model.onnx). */
  systems?: SystemName[];
  /** WASM threads (default navigator.hardwareConcurrency; 1 when not cross-origin isolated). */
  threads?: number;
  matmulVariant?: MatmulVariant;
}

export interface PageResult extends BenchResult {
  environment: Record<string, unknown>;
  /** Systems asked for but not run, and why. */
  skipped: Partial<Record<SystemName, string>>;
}

declare global {
  interface Window {
    wgpoolBench: { run(opts: PageRunOptions): Promise<PageResult>; ready: boolean };
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const logEl = $<HTMLPreElement>('log');

function log(line: string): void {
  console.log(line);
  logEl.textContent += `${line}\n`;
  logEl.scrollTop = logEl.scrollHeight;
}

export async function runPage(opts: PageRunOptions): Promise<PageResult> {
  const href = new URL(opts.model.replace(/\/+$/, ''), location.href).href;
  log(`model ${href}`);
  const p = await prepare(await resolveSource(href));
  const wanted = opts.systems ?? [...BROWSER_SYSTEMS];
  // A classifier's pooling is inside Transformers.js' text-classification model; an embedder's must be one it has.
  const pooling = p.task === 'classify' ? p.pooling : tjsPooling(p.pooling);
  const skipped: PageResult['skipped'] = {};
  const systems: SystemName[] = [];
  for (const name of wanted) {
    if (name === 'wgpool' || name === 'wgpool_cpu') systems.push(name);
    else if (name !== 'transformersjs_wasm' && name !== 'transformersjs_webgpu') skipped[name] = 'not a browser system';
    else if (!p.hasOnnx) skipped[name] = `${href}/onnx/model.onnx not found (make one with shared/oracle/export_onnx.py)`;
    else if (!pooling) skipped[name] = `Transformers.js has no "${p.pooling}" pooling`;
    else systems.push(name);
  }
  for (const [k, v] of Object.entries(skipped)) log(`${k}: skipped (${v})`);

  const usesTjs = systems.some((s) => s.startsWith('transformersjs'));
  // Transformers.js treats an http(s) localModelPath as remote (and refuses it offline): give it the path.
  const path = new URL(href).pathname;
  const setup = usesTjs ? await setupTjs(path.slice(0, path.lastIndexOf('/') + 1), opts.threads) : null;
  const modelId = href.slice(href.lastIndexOf('/') + 1);
  const firstTjs = systems.find((s) => s.startsWith('transformersjs'));
  const make = (name: SystemName): BenchSystem => {
    if (name === 'wgpool' || name === 'wgpool_cpu') return new WgpoolSystem({ name, source: p.source, matmulVariant: opts.matmulVariant, task: p.task, threads: name === 'wgpool_cpu' ? setup?.threads ?? opts.threads : undefined });
    const sys = new TransformersJsSystem({
      name: name as 'transformersjs_wasm' | 'transformersjs_webgpu',
      tjs: setup!.tjs,
      modelId,
      pooling: pooling!,
      normalize: p.normalize,
      task: p.task,
      labels: p.labels,
      threads: name === 'transformersjs_wasm' ? setup!.threads : undefined,
    });
    // onnxruntime-web's WASM runtime (one for both Transformers.js backends) starts with the first session.
    const describe = sys.describe.bind(sys);
    sys.describe = () => ({ ...describe(), load_includes_ort_runtime_start: name === firstTjs });
    return sys;
  };
  const result = await runBench(p, make, { ...opts, systems, log });
  const environment = {
    runtime: 'chromium',
    user_agent: navigator.userAgent,
    cross_origin_isolated: crossOriginIsolated,
    hardware_concurrency: navigator.hardwareConcurrency,
    wasm_threads: setup?.threads ?? null,
  };
  return { environment, skipped, ...result };
}

// ---------------------------------------------------------------------------------------------
// Rendering

const LABEL: Record<string, string> = {
  wgpool: 'wgpool (WebGPU)',
  wgpool_node: 'wgpool (Node, Dawn)',
  wgpool_cpu: 'wgpool CPU (WASM SIMD)',
  wgpool_cpu_node: 'wgpool CPU (Node, WASM SIMD)',
  transformersjs_webgpu: 'Transformers.js WebGPU',
  transformersjs_wasm: 'Transformers.js WASM',
  transformersjs_node: 'Transformers.js Node CPU',
};

const cell = (x: unknown) => (typeof x === 'number' && !Number.isInteger(x) ? fmt(x) : x === null || x === undefined ? '–' : String(x));

export function render(r: PageResult): void {
  const out = $<HTMLDivElement>('results');
  const names = Object.keys(r.systems) as SystemName[];
  const base = r.systems.wgpool;
  const m = r.main;
  let html = `<p>${r.model.architecture} · ${m.texts} texts · ${m.tokens} real tokens (${m.min_tokens}–${m.max_tokens} each; ${m.padded_tokens} padded) · ${
    m.useful_gflop === null ? '' : `${fmt(m.useful_gflop)} useful GFLOP per request`
  } · WASM threads ${cell(r.environment.wasm_threads)} (cross-origin isolated: ${r.environment.cross_origin_isolated})</p>`;
  html += '<table><tr><th>system</th><th>load ms</th><th>pipelines ms</th><th>first ms</th><th>median ms</th><th>min–max ms</th><th>tokens/s</th><th>GFLOP/s</th><th>max |Δ| vs others</th></tr>';
  for (const n of names) {
    const s = r.systems[n]!;
    const diffs = Object.entries(s.max_abs_diff)
      .map(([k, v]) => `${k}: ${v.toExponential(1)}`)
      .join(', ');
    html += `<tr><td>${LABEL[n] ?? n}</td><td>${cell(s.load_ms)}</td><td>${cell(s.compile_ms)}</td><td>${cell(s.first_ms)}</td><td>${cell(s.median_ms)}</td><td>${cell(s.min_ms)}–${cell(
      s.max_ms,
    )}</td><td>${cell(s.tokens_per_s)}</td><td>${cell(s.gflops)}</td><td>${diffs}</td></tr>`;
  }
  html += '</table>';
  for (const [k, v] of Object.entries(r.errors)) html += `<p class="err">${k} failed: ${v}</p>`;
  for (const [k, v] of Object.entries(r.skipped)) html += `<p>${k} skipped: ${v}</p>`;

  const ratio = (x: number) => (base && x > 0 ? `(wgpool ×${fmt(base.tokens_per_s / x)})` : '');
  const bars: Bar[] = names.map((n) => ({ label: LABEL[n] ?? n, value: r.systems[n]!.tokens_per_s, color: COLORS[n], note: n === 'wgpool' ? '' : ratio(r.systems[n]!.tokens_per_s) }));
  html += `<div class="chart">${barChart('Steady state, main workload: real tokens per second', 'tok/s', bars)}</div>`;
  const cold: Bar[] = names.map((n) => ({ label: LABEL[n] ?? n, value: r.systems[n]!.cold_ms / 1000, color: COLORS[n], note: `(load ${fmt(r.systems[n]!.load_ms / 1000)} + first ${fmt(r.systems[n]!.first_ms / 1000)})` }));
  html += `<div class="chart">${barChart('Cold start: load + first request', 's', cold)}</div>`;

  const w = r.workloads;
  if (w.uniform) {
    const u = Object.entries(w.uniform.systems).map(([n, s]) => ({ label: LABEL[n] ?? n, value: s!.tokens_per_s, color: COLORS[n] }));
    html += `<div class="chart">${barChart(`Uniform lengths (${w.uniform.texts} texts, ${w.uniform.tokens} tokens): tokens per second`, 'tok/s', u)}</div>`;
  }
  if (w.rerank) {
    const u = Object.entries(w.rerank.systems).map(([n, s]) => ({ label: LABEL[n] ?? n, value: s!.median_ms, color: COLORS[n] }));
    html += `<div class="chart">${barChart(`Rerank 1→${w.rerank.documents}: latency`, 'ms', u)}</div>`;
  }
  if (w.batch) {
    const series = Object.entries(w.batch.systems).map(([n, rows]) => ({ name: LABEL[n] ?? n, color: COLORS[n], points: rows!.map((x) => [x.batch, x.median_ms] as [number, number]) }));
    html += `<div class="chart">${lineChart('Latency vs batch size (mixed texts)', 'texts per request', 'median ms', series)}</div>`;
  }
  if (w.concurrent) {
    const series = Object.entries(w.concurrent.systems).map(([n, rows]) => ({ name: LABEL[n] ?? n, color: COLORS[n], points: rows!.map((x) => [x.concurrency, x.requests_per_s] as [number, number]) }));
    html += `<div class="chart">${lineChart('Concurrent single-text callers: throughput', 'concurrent callers', 'requests / s', series)}</div>`;
    const rows = Object.entries(w.concurrent.systems).flatMap(([n, rs]) =>
      rs!.map((x) => `<tr><td>${LABEL[n] ?? n}</td><td>${x.concurrency}</td><td>${cell(x.requests_per_s)}</td><td>${cell(x.latency_p50_ms)}</td><td>${cell(x.latency_p95_ms)}</td><td>${cell(x.mean_batch_size)}</td><td>${cell(x.mean_batch_fill)}</td></tr>`),
    );
    html += `<table><tr><th>system</th><th>callers</th><th>req/s</th><th>p50 ms</th><th>p95 ms</th><th>mean batch (texts)</th><th>mean batch fill</th></tr>${rows.join('')}</table>`;
  }
  out.innerHTML = html;
  const json = $<HTMLAnchorElement>('download');
  json.href = URL.createObjectURL(new Blob([JSON.stringify(r, null, 1)], { type: 'application/json' }));
  json.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Form

const numbers = (s: string) =>
  s
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)
    .filter((x) => Number.isInteger(x) && x > 0);

function formOptions(): PageRunOptions {
  const checked = (name: string) => [...document.querySelectorAll<HTMLInputElement>(`input[name=${name}]:checked`)].map((i) => i.value);
  const textsRaw = $<HTMLTextAreaElement>('texts').value.trim();
  const runs = Number($<HTMLInputElement>('runs').value) || 1;
  const webgpuRuns = Number($<HTMLInputElement>('webgpu-runs').value) || 1;
  const systems = checked('system') as SystemName[];
  const withWebgpu = $<HTMLInputElement>('webgpu-workloads').checked;
  return {
    model: $<HTMLInputElement>('model').value,
    systems,
    runs,
    runsFor: { transformersjs_webgpu: webgpuRuns },
    texts: textsRaw ? checkTexts(JSON.parse(textsRaw), 'Texts') : undefined,
    workloads: checked('workload') as Workload[],
    workloadSystems: systems.filter((s) => withWebgpu || s !== 'transformersjs_webgpu'),
    concurrency: numbers($<HTMLInputElement>('concurrency').value),
    concurrentRequests: Number($<HTMLInputElement>('requests').value) || undefined,
    batchSizes: numbers($<HTMLInputElement>('batch-sizes').value),
  };
}

async function defaultModel(): Promise<string> {
  const q = new URLSearchParams(location.search).get('model');
  if (q) return q;
  // Under bench/run.mjs --serve the benchmark models are listed at /bench-models/; the demo build
  // serves the tiny test fixtures under /models/.
  try {
    const r = await fetch('/bench-models/index.json');
    if (r.ok) {
      const names = (await r.json()) as string[];
      if (names.length) return `/bench-models/${names.includes('perf-minilm-l6') ? 'perf-minilm-l6' : names[0]}`;
    }
  } catch {
    // not under the bench server
  }
  return '/models/tiny-bert-embed';
}

window.wgpoolBench = {
  ready: true,
  run: async (opts) => {
    const r = await runPage(opts);
    render(r);
    return r;
  },
};

void defaultModel().then((m) => ($<HTMLInputElement>('model').value ||= m));
$<HTMLFormElement>('form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const button = $<HTMLButtonElement>('run');
  button.disabled = true;
  logEl.textContent = '';
  window.wgpoolBench
    .run(formOptions())
    .catch((e: Error) => log(`failed: ${e.stack ?? e}`))
    .finally(() => (button.disabled = false));
});
