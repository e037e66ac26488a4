// The semantic search app: passages → embedded in the shared engine's worker (one model for every
// tab) → a GPU vector index kept in IndexedDB → search as you type. MODEL_URL is the one constant to
// swap for a real embedder.
import { createSharedWorkerEngine, type RemoteIndex, type SharedWorkerEngine } from '../../src/worker/index';
import { highlight, splitPassages, type Passage } from './passages';

/** The embedder (a folder laid out like a hub repo). The tiny fixture until the trained models ship. */
export const MODEL_URL = '/models/tiny-bert-embed';
/** The optional second stage. */
export const RERANK_MODEL_URL = '/models/tiny-bert-crossenc';
const INDEX = 'passages';
const BATCH = 16;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string, kind: '' | 'warn' | 'error' = '') => {
  const el = $('status');
  el.textContent = text;
  el.className = `status ${kind}`;
};

declare global {
  interface Window {
    searchApp: { ready: boolean; size: number; lastQuery: string; lastResults: string[]; lastTexts: string[]; restored: boolean; embedded: number };
  }
}
window.searchApp = { ready: false, size: 0, lastQuery: '', lastResults: [], lastTexts: [], restored: false, embedded: 0 };

function workerFactories() {
  return {
    sharedWorker: () => new SharedWorker(new URL('../../src/worker/shared_worker.ts', import.meta.url), { type: 'module', name: 'wgpool-search' }),
    worker: () => new Worker(new URL('../../src/worker/shared_worker.ts', import.meta.url), { type: 'module' }),
  };
}

async function checkWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    status('This browser has no WebGPU. Use a recent Chrome or Edge (or Firefox/Safari with WebGPU enabled), on a secure (https or localhost) page.', 'error');
    return false;
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    status('WebGPU is present but no GPU adapter is available (blocklisted driver or disabled hardware acceleration). Enable hardware acceleration in the browser settings.', 'error');
    return false;
  }
  const info = adapter.info;
  const software = /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture} ${info.description}`) || (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (software) status(`WebGPU runs on a software adapter (${info.vendor} ${info.architecture}): a CPU emulation, so embedding is slow. Loading the model…`, 'warn');
  else status(`WebGPU: ${info.vendor} ${info.architecture}. Loading the model…`);
  return true;
}

let engine: SharedWorkerEngine;
let index: RemoteIndex;
let reranker: SharedWorkerEngine | null = null;
let searchCtl: AbortController | null = null;

function updateCount(size: number) {
  window.searchApp.size = size;
  $('count').textContent = size ? `${size} passages indexed.` : 'The index is empty: add some text above.';
}

async function addPassages(passages: Passage[]) {
  if (!passages.length) return;
  const bar = $('bar-fill');
  const text = $('progress-text');
  $('progress').hidden = false;
  const t0 = performance.now();
  let tokens = 0;
  for (let done = 0; done < passages.length; done += BATCH) {
    const part = passages.slice(done, done + BATCH);
    const r = await index.addTexts(part.map((p) => ({ id: p.id, text: p.text, metadata: { source: p.source, index: p.index, offset: p.offset } })));
    tokens += r.promptTokens;
    const n = Math.min(done + BATCH, passages.length);
    const s = (performance.now() - t0) / 1000;
    const left = (s / n) * (passages.length - n);
    bar.style.width = `${(100 * n) / passages.length}%`;
    text.textContent = `${n} / ${passages.length} passages · ${(tokens / s).toFixed(0)} tokens/s · ${left < 1 ? 'done soon' : `${left.toFixed(0)} s left`}`;
    window.searchApp.embedded += part.length;
  }
  const ms = performance.now() - t0;
  text.textContent = `${passages.length} / ${passages.length} passages (100%) in ${ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`}`;
  try {
    const info = await index.save();
    updateCount(info.size);
  } catch (e) {
    status(`Indexed, but saving to this browser's storage failed: ${(e as Error).message}`, 'error');
  }
}

async function addSource(source: string, body: string) {
  const passages = splitPassages(source, body);
  if (!passages.length) return status('No text to add: paste or pick plain text or Markdown files.', 'warn');
  try {
    await addPassages(passages);
  } catch (e) {
    status(/already has id/.test((e as Error).message) ? `"${source}" is already indexed.` : `Adding "${source}" failed: ${(e as Error).message}`, 'error');
  }
}

async function search() {
  const q = $<HTMLInputElement>('query').value.trim();
  searchCtl?.abort();
  if (!q) {
    $('results').innerHTML = '';
    return;
  }
  const ctl = new AbortController();
  searchCtl = ctl;
  try {
    let hits = await index.search(q, { k: 10, signal: ctl.signal });
    if ($<HTMLInputElement>('rerank').checked && hits.length) {
      reranker ??= await createSharedWorkerEngine(null, { model: new URL(RERANK_MODEL_URL, location.href).href }, workerFactories());
      const r = await reranker.rerank(q, hits.map((h) => h.text ?? ''), { signal: ctl.signal });
      hits = r.results.map((x) => ({ ...hits[x.index], rerankScore: x.relevanceScore }));
    }
    if (ctl.signal.aborted) return;
    window.searchApp.lastQuery = q;
    window.searchApp.lastResults = hits.map((h) => h.id);
    window.searchApp.lastTexts = hits.map((h) => h.text ?? '');
    $('results').innerHTML = hits
      .map((h) => {
        const m = h.metadata as { source: string; index: number };
        const score = h.rerankScore !== undefined ? `rerank ${h.rerankScore.toFixed(3)} · cosine ${h.score.toFixed(3)}` : `cosine ${h.score.toFixed(3)}`;
        return `<li><div class="hit-meta"><span class="score">${score}</span> · ${highlight(m.source, '')} · passage ${m.index + 1}</div><div>${highlight(h.text ?? '', q)}</div></li>`;
      })
      .join('');
  } catch (e) {
    if ((e as Error).name !== 'AbortError') status(`Search failed: ${(e as Error).message}`, 'error');
  }
}

/** Controls stay off until the model is ready (and for good when there is no WebGPU). */
function enable(on: boolean) {
  for (const el of document.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLTextAreaElement>('main button, main input, main textarea')) el.disabled = !on;
}

async function start() {
  enable(false);
  if (!(await checkWebGpu())) return;
  const t0 = performance.now();
  engine = await createSharedWorkerEngine(null, { model: new URL(MODEL_URL, location.href).href }, workerFactories());
  index = engine.index(INDEX);
  // Another tab may already hold the index in the shared worker; otherwise restore it from IndexedDB.
  let info = await index.open();
  if (info.size === 0) {
    info = await index.load().catch(() => info);
    window.searchApp.restored = info.size > 0;
  }
  updateCount(info.size);
  const kind = engine.kind === 'shared' ? 'shared by every tab' : 'in this tab';
  const st = $('status');
  const prefix = st.classList.contains('warn') ? `${st.textContent!.replace(/ Loading the model….*$/, '')} ` : '';
  status(`${prefix}Model ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (${kind}).${window.searchApp.restored ? ' Index restored from this browser.' : ''}`, prefix ? 'warn' : '');

  $('add-paste').addEventListener('click', async () => {
    const body = $<HTMLTextAreaElement>('paste').value;
    await addSource(`Pasted text, ${new Date().toLocaleString()}`, body);
    $<HTMLTextAreaElement>('paste').value = '';
  });
  for (const id of ['files', 'folder']) {
    $<HTMLInputElement>(id).addEventListener('change', async (e) => {
      const files = [...((e.target as HTMLInputElement).files ?? [])].filter((f) => /\.(txt|md|markdown)$/i.test(f.name) || f.type.startsWith('text/'));
      for (const f of files) await addSource(f.webkitRelativePath || f.name, await f.text());
    });
  }
  $('clear').addEventListener('click', async () => {
    await index.drop();
    info = await index.open();
    await index.save();
    updateCount(info.size);
    $('results').innerHTML = '';
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  $('query').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  $('rerank').addEventListener('change', search);
  enable(true);
  window.searchApp.ready = true;
}

start().catch((e) => status(`Could not start: ${(e as Error).message}`, 'error'));
