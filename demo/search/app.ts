// What both pages of the search app share: the models, the offline Service Worker, the WebGPU
// check, and starting the engine in the app's SharedWorker with a loading bar.
//
// Order on every visit: register the app's Service Worker (built app only) and wait until it
// controls the page, THEN start the engine worker. A worker is controlled by the Service Worker
// whose scope holds its script URL, so the worker script lives in this folder (engine_worker.ts)
// and, started after the page is controlled, all its model fetches go through the app's cache.
// That is what makes the app work offline after one visit.
import { createSharedWorkerEngine, type SharedWorkerEngine } from '../../src/worker/index';
import type { LoadProgress } from '../../src/loading/progress';

/** The embedder and the reranker: the WordNet BERTs trained by tools/train-demo-models. */
export const MODEL_URL = '/models/wordnet-bert-embed';
export const RERANK_MODEL_URL = '/models/wordnet-bert-rerank';

export type StatusKind = '' | 'warn' | 'error';

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export function status(text: string, kind: StatusKind = '') {
  const el = $('status');
  el.textContent = text;
  el.className = `status ${kind}`;
}

/** A second line under the status (offline readiness, storage), never an error by itself. */
export function note(text: string) {
  $('note').textContent = text;
}

export interface AdapterCheck {
  ok: boolean;
  /** A CPU emulation of a GPU (SwiftShader, llvmpipe, WARP): correct but slow. */
  software: boolean;
  label: string;
}

/** No WebGPU → say so and what to do; a software adapter → say it is slow. */
export async function checkWebGpu(): Promise<AdapterCheck> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    status(
      'This browser has no WebGPU, which the app needs to run its models. Open it in a recent Chrome or Edge (version 113 or later) on Windows, macOS or ChromeOS, ' +
        'or enable WebGPU (chrome://flags/#enable-unsafe-webgpu on Linux; Firefox 141+ on Windows; Safari 26+), over https or localhost.',
      'error',
    );
    return { ok: false, software: false, label: '' };
  }
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) {
    status(
      'WebGPU is present but the browser gave no GPU adapter, so the app cannot run its models. On Linux, Chrome and Chromium only offer WebGPU with chrome://flags/#enable-unsafe-webgpu enabled ' +
        '(or started with --enable-unsafe-webgpu); elsewhere, turn on "Use graphics acceleration when available" in the browser settings, or update the GPU driver. Then reload.',
      'error',
    );
    return { ok: false, software: false, label: '' };
  }
  const info = adapter.info;
  const label = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  const software = /swiftshader|llvmpipe|lavapipe|warp|software/i.test(label) || !!(adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return { ok: true, software, label };
}

const BASE = import.meta.env.BASE_URL;

/**
 * Make the app work offline: register its Service Worker (scope: this folder; the project's own
 * wgpool API worker, /sw.js, keeps scope /) and wait until it controls this page. Dev server: none.
 */
export async function registerOffline(): Promise<string> {
  if (import.meta.env.DEV) return 'Development server: no offline Service Worker (npm run demo serves the built, installable app).';
  if (!('serviceWorker' in navigator)) return 'This browser has no Service Workers: the app works, but not offline.';
  try {
    await navigator.serviceWorker.register(`${BASE}demo/search/sw.js`, { scope: `${BASE}demo/search/`, type: 'module' });
    if (!navigator.serviceWorker.controller) {
      // First visit: the worker precaches the app, models and dictionary, then claims this page.
      await Promise.race([
        new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true })),
        new Promise((_, reject) => setTimeout(() => reject(new Error('the Service Worker did not take over within 60 s')), 60_000)),
      ]);
    }
    return 'Installed for offline use: the app, both models and the dictionary are cached in this browser.';
  } catch (e) {
    return `Offline use is unavailable: ${(e as Error).message}.`;
  }
}

function workerFactories() {
  return {
    sharedWorker: () => new SharedWorker(new URL('./engine_worker.ts', import.meta.url), { type: 'module', name: 'wgpool-search' }),
    worker: () => new Worker(new URL('./engine_worker.ts', import.meta.url), { type: 'module' }),
  };
}

const PHASES: Record<string, string> = { download: 'downloading', parse: 'reading', upload: 'uploading to the GPU', compile: 'compiling kernels', ready: 'ready' };

/** Load `model` in the shared engine worker, drawing the loading bar (#load-bar, #load-text). */
export async function startEngine(model: string, what: string): Promise<SharedWorkerEngine> {
  const box = $('loading');
  box.hidden = false;
  const onProgress = (p: LoadProgress) => {
    $('load-fill').style.width = `${(100 * p.progress).toFixed(1)}%`;
    $('load-text').textContent = `Loading ${what}: ${PHASES[p.phase] ?? p.phase}, ${Math.floor(100 * p.progress)}%`;
  };
  try {
    return await createSharedWorkerEngine(null, { model: new URL(model, location.href).href, onProgress }, workerFactories());
  } finally {
    box.hidden = true;
  }
}

let reranker: Promise<SharedWorkerEngine> | null = null;

/**
 * Rescore `hits` for `query` with the cross-encoder, best first, each with its rerankScore. The
 * reranker starts on first use, as a second model in the same worker.
 */
export async function rescore<H>(query: string, hits: H[], text: (hit: H) => string, opts: { signal: AbortSignal; truncatePromptTokens?: number }): Promise<(H & { rerankScore: number })[]> {
  reranker ??= createSharedWorkerEngine(null, { model: new URL(RERANK_MODEL_URL, location.href).href }, workerFactories());
  const r = await (await reranker).rerank(query, hits.map(text), opts);
  return r.results.map((x) => ({ ...hits[x.index], rerankScore: x.relevanceScore }));
}

/** Both pages' controls (main's buttons, inputs, text areas) stay off until the model is ready. */
export function enableControls(on: boolean) {
  for (const el of document.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLTextAreaElement>('main button, main input, main textarea')) el.disabled = !on;
}

export interface OpenedApp {
  adapter: AdapterCheck;
  /** The offline readiness line (also shown under the status). */
  offline: string;
  engine: SharedWorkerEngine;
  /** When the start began (performance.now()), for the ready line's timing. */
  t0: number;
}

/**
 * What both pages do first: controls off, the WebGPU check (null, with the reason shown, when there
 * is none), the offline Service Worker, then the embedder in the shared worker. `work` names what
 * a software adapter makes slow ("embedding").
 */
export async function openApp(work: string): Promise<OpenedApp | null> {
  enableControls(false);
  const adapter = await checkWebGpu();
  if (!adapter.ok) return null;
  status(adapter.software ? `WebGPU runs on a software adapter (${adapter.label}): a CPU emulation of a GPU, so ${work} is slow. Preparing…` : `WebGPU: ${adapter.label}. Preparing…`, adapter.software ? 'warn' : '');
  const offline = await registerOffline();
  note(offline);
  const t0 = performance.now();
  const engine = await startEngine(MODEL_URL, 'the embedder');
  return { adapter, offline, engine, t0 };
}

/** "12.3 MB of 5.1 GB used": shown with storage errors, so the user sees why. */
export async function storageSummary(): Promise<string> {
  try {
    const { usage = 0, quota = 0 } = await navigator.storage.estimate();
    return `${(usage / 1e6).toFixed(1)} MB of ${(quota / 1e9).toFixed(1)} GB of this site's storage in use`;
  } catch {
    return 'storage use unknown';
  }
}

/** A storage failure (quota, private mode, blocked IndexedDB), said plainly. */
export async function storageError(what: string, e: unknown): Promise<string> {
  const err = e as { name?: string; message?: string; status?: number };
  const quota = err?.name === 'QuotaExceededError' || err?.status === 507 || /quota/i.test(err?.message ?? '');
  const why = quota ? 'this browser\'s storage for the site is full' : `the browser refused (${err?.message ?? String(e)})`;
  return `${what} could not be saved: ${why}. It works until you close the tab. Free space (site settings → storage) or leave private mode to keep it; ${await storageSummary()}.`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
