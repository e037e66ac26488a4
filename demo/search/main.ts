// The semantic search app: passages → embedded in the shared engine's worker (one model for every
// tab) → a GPU vector index kept in IndexedDB → search as you type, optionally rescored by the
// cross-encoder. Models, offline Service Worker and WebGPU checks: app.ts.
import type { RemoteIndex } from '../../src/worker/index';
import { $, MODEL_URL, RERANK_MODEL_URL, enableControls, formatMs, openApp, rescore, status, storageError, type StatusKind } from './app';
import { highlight, splitPassages, type Passage } from './passages';

export { MODEL_URL, RERANK_MODEL_URL };
const INDEX = 'passages';
const BATCH = 16;
/** Passages past the embedder's 64 tokens are cut there (vLLM's truncate_prompt_tokens = -1). */
const TRUNCATE = -1;

declare global {
  interface Window {
    searchApp: { ready: boolean; size: number; lastQuery: string; lastResults: string[]; lastTexts: string[]; restored: boolean; embedded: number; offline: string };
  }
}
window.searchApp = { ready: false, size: 0, lastQuery: '', lastResults: [], lastTexts: [], restored: false, embedded: 0, offline: '' };

let index: RemoteIndex;
let searchCtl: AbortController | null = null;
/** The ready line, so passing messages can be replaced by it again. */
let readyLine: [string, StatusKind] = ['', ''];

function updateCount(size: number) {
  window.searchApp.size = size;
  $('count').textContent = size ? `${size} passages indexed. Type to search them.` : 'The index is empty: paste text above, or pick files or a folder, to search it here.';
  $('search').classList.toggle('empty', size === 0);
}

async function addPassages(passages: Passage[]) {
  const bar = $('bar-fill');
  const text = $('progress-text');
  $('progress').hidden = false;
  const t0 = performance.now();
  let tokens = 0;
  for (let done = 0; done < passages.length; done += BATCH) {
    const part = passages.slice(done, done + BATCH);
    const r = await index.addTexts(
      part.map((p) => ({ id: p.id, text: p.text, metadata: { source: p.source, index: p.index, offset: p.offset } })),
      { truncatePromptTokens: TRUNCATE },
    );
    tokens += r.promptTokens;
    const n = Math.min(done + BATCH, passages.length);
    const s = (performance.now() - t0) / 1000;
    const left = (s / n) * (passages.length - n);
    bar.style.width = `${(100 * n) / passages.length}%`;
    text.textContent = `${n} / ${passages.length} passages (${Math.floor((100 * n) / passages.length)}%) · ${(tokens / s).toFixed(0)} tokens/s · ${left < 1 ? 'done soon' : `${left.toFixed(0)} s left`}`;
    window.searchApp.embedded += part.length;
  }
  text.textContent = `${passages.length} / ${passages.length} passages (100%) in ${formatMs(performance.now() - t0)}`;
  try {
    updateCount((await index.save()).size);
    status(...readyLine);
  } catch (e) {
    updateCount((await index.info()).size);
    status(await storageError('The index', e), 'error');
  }
}

async function addSource(source: string, body: string) {
  const passages = splitPassages(source, body);
  if (!passages.length) return status('No text to add: paste, or pick plain text or Markdown files.', 'warn');
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
    let hits = await index.search(q, { k: 10, signal: ctl.signal, truncatePromptTokens: TRUNCATE });
    if ($<HTMLInputElement>('rerank').checked && hits.length) hits = await rescore(q, hits, (h) => h.text ?? '', { signal: ctl.signal, truncatePromptTokens: TRUNCATE });
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
    if ((e as Error).name !== 'AbortError' && !ctl.signal.aborted) status(`Search failed: ${(e as Error).message}`, 'error');
  }
}

async function start() {
  const app = await openApp('embedding');
  if (!app) return;
  const { adapter, engine, t0 } = app;
  window.searchApp.offline = app.offline;
  index = engine.index(INDEX);
  // Another tab may already hold the index in the shared worker; otherwise restore it from IndexedDB.
  let info = await index.open();
  let storageProblem = '';
  if (info.size === 0) {
    try {
      info = await index.load();
      window.searchApp.restored = info.size > 0;
    } catch (e) {
      const err = e as Error & { status?: number };
      if (err.status !== 404) storageProblem = err.name === 'IndexModelMismatchError' ? `The saved index was built with another model and is ignored: ${err.message}` : await storageError('The saved index could not be read, and new passages', e);
      info = await index.open();
    }
  }
  updateCount(info.size);
  const kind = engine.kind === 'shared' ? 'shared by every tab of this app' : 'in this tab';
  const where = adapter.software ? `on a software adapter (${adapter.label}): slow` : `on ${adapter.label}`;
  readyLine = [`Model ready in ${formatMs(performance.now() - t0)} (${kind}), ${where}.${window.searchApp.restored ? ' Index restored from this browser.' : ''}`, adapter.software ? 'warn' : ''];
  status(...readyLine);
  if (storageProblem) status(storageProblem, 'error');

  $('add-paste').addEventListener('click', async () => {
    const body = $<HTMLTextAreaElement>('paste').value;
    await addSource(`Pasted text, ${new Date().toLocaleString()}`, body);
    $<HTMLTextAreaElement>('paste').value = '';
  });
  for (const id of ['files', 'folder']) {
    $<HTMLInputElement>(id).addEventListener('change', async (e) => {
      const files = [...((e.target as HTMLInputElement).files ?? [])].filter((f) => /\.(txt|md|markdown)$/i.test(f.name) || f.type.startsWith('text/'));
      if (!files.length) return status('None of those files is plain text or Markdown (.txt, .md).', 'warn');
      for (const f of files) await addSource(f.webkitRelativePath || f.name, await f.text());
    });
  }
  $('clear').addEventListener('click', async () => {
    await index.drop();
    info = await index.open();
    try {
      await index.save();
    } catch (e) {
      status(await storageError('The emptied index', e), 'error');
    }
    updateCount(info.size);
    $('results').innerHTML = '';
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  $('query').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  $('rerank').addEventListener('change', search);
  enableControls(true);
  window.searchApp.ready = true;
}

start().catch((e) => status(`Could not start: ${(e as Error).message}`, 'error'));
