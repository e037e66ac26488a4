// The reverse dictionary: a description in, WordNet words out. The index of the 20,000 most
// frequent lemmas was built ahead of time with wgpool (scripts/lemma-index/build_index.ts: each lemma
// embedded alone, as the embedder was trained) and ships as one file; the page fetches it (from the
// Service Worker's cache after the first visit) and hands the bytes to the engine worker, which
// checks that they were built with this embedder before searching them.
import type { RemoteIndex } from '../../src/worker/index';
import { $, enableControls, escapeHtml, formatMs, openApp, rescore, status } from './app';
import indexUrl from './data/wordnet-20k.wgpidx?url';

const INDEX = 'wordnet-20k';
const RERANK_TOP = 20;

interface Senses {
  senses: [string, string][];
}

declare global {
  interface Window {
    dictApp: { ready: boolean; size: number; lastQuery: string; lastWords: string[]; reranked: boolean; offline: string };
  }
}
window.dictApp = { ready: false, size: 0, lastQuery: '', lastWords: [], reranked: false, offline: '' };

const POS: Record<string, string> = { n: 'noun', v: 'verb', a: 'adj.', r: 'adv.' };
let index: RemoteIndex;
let ctl: AbortController | null = null;

/** The index file, with a bar: 13 MB is seconds on a slow link (instant from the cache). */
async function fetchIndex(): Promise<ArrayBuffer> {
  const res = await fetch(indexUrl);
  if (!res.ok) throw new Error(`the dictionary file ${indexUrl} answered ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('Content-Length') ?? 0);
  if (!res.body || !total) return res.arrayBuffer();
  const out = new Uint8Array(total);
  let got = 0;
  const reader = res.body.getReader();
  $('loading').hidden = false;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    out.set(r.value, got);
    got += r.value.length;
    $('load-fill').style.width = `${((100 * got) / total).toFixed(1)}%`;
    $('load-text').textContent = `Loading the dictionary: ${(got / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`;
  }
  $('loading').hidden = true;
  return out.buffer;
}

function render(hits: { id: string; score: number; rerankScore?: number; metadata?: unknown }[]) {
  $('results').innerHTML = hits
    .map((h) => {
      const senses = (h.metadata as Senses | undefined)?.senses ?? [];
      const score = h.rerankScore !== undefined ? `rerank ${h.rerankScore.toFixed(2)} · cosine ${h.score.toFixed(2)}` : `cosine ${h.score.toFixed(2)}`;
      const glosses = senses.map(([pos, g]) => `<div class="gloss"><span class="pos">${POS[pos] ?? pos}</span> ${escapeHtml(g)}</div>`).join('');
      return `<li><div class="word-line"><span class="word">${escapeHtml(h.id)}</span><span class="score">${score}</span></div>${glosses}</li>`;
    })
    .join('');
}

async function search() {
  const q = $<HTMLInputElement>('query').value.trim();
  ctl?.abort();
  if (!q) {
    $('results').innerHTML = '';
    return;
  }
  const mine = new AbortController();
  ctl = mine;
  const rerank = $<HTMLInputElement>('rerank').checked;
  const t0 = performance.now();
  try {
    let hits = await index.search(q, { k: rerank ? RERANK_TOP : 10, signal: mine.signal });
    if (rerank && hits.length) hits = (await rescore(q, hits, (h) => h.id, { signal: mine.signal })).slice(0, 10);
    if (mine.signal.aborted) return;
    window.dictApp.lastQuery = q;
    window.dictApp.lastWords = hits.map((h) => h.id);
    window.dictApp.reranked = rerank;
    render(hits);
    $('count').textContent = `${hits.length} words in ${formatMs(performance.now() - t0)}${rerank ? ` (top ${RERANK_TOP} rescored by the cross-encoder)` : ''}, best first.`;
  } catch (e) {
    if ((e as Error).name === 'AbortError' || mine.signal.aborted) return;
    const msg = (e as Error).message;
    if (/maximum context length/.test(msg)) $('count').textContent = 'That description is longer than the model reads (64 tokens): shorten it.';
    else status(`Search failed: ${msg}`, 'error');
  }
}

async function start() {
  const app = await openApp('searching');
  if (!app) return;
  const { adapter, engine, t0 } = app;
  window.dictApp.offline = app.offline;
  index = engine.index(INDEX);
  let info = await index.open();
  if (info.size === 0) info = await index.import(await fetchIndex());
  window.dictApp.size = info.size;
  if (info.size === 0) {
    status('The dictionary index is empty: the file shipped with the app holds no words. Rebuild it with node scripts/lemma-index/build.mjs.', 'error');
    return;
  }
  const where = adapter.software ? `on a software adapter (${adapter.label}), slow` : `on ${adapter.label}`;
  status(`Ready in ${formatMs(performance.now() - t0)}: ${info.size.toLocaleString('en')} words, searched ${where}.`, adapter.software ? 'warn' : '');
  $('count').textContent = 'Type a description: results appear as you type.';

  let timer: ReturnType<typeof setTimeout> | undefined;
  $('query').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  $('rerank').addEventListener('change', search);
  for (const chip of document.querySelectorAll<HTMLButtonElement>('.chip')) {
    chip.addEventListener('click', () => {
      $<HTMLInputElement>('query').value = chip.dataset.q ?? '';
      void search();
    });
  }
  enableControls(true);
  $('query').focus();
  window.dictApp.ready = true;
}

start().catch((e) => {
  const msg = (e as Error).message;
  status(/built with model|weights differ/.test(msg) ? `The dictionary file does not match this embedder: ${msg}` : `Could not start: ${msg}`, 'error');
});
