// The task playground: load a model by URL prefix or hub id, run every task on your inputs with its
// timing, a quick search over a small list (embed + cosine, or rerank with a cross-encoder), the
// adapter report, and the HTTP API from a Service Worker. The search app is demo/search/.
import type { BackendChoice } from '../src/backend';
import { Gpu, createEngine, type Engine } from '../src/index';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let engine: Engine | undefined;

// ?backend=cpu|webgpu|auto (and ?model=…) preselect the controls, so a link opens a given setup.
const params = new URLSearchParams(location.search);
for (const [key, id] of [['backend', 'backend'], ['model', 'model']] as const) {
  const v = params.get(key);
  if (v !== null) $<HTMLInputElement | HTMLSelectElement>(id).value = v;
}

function show(el: HTMLElement, text: string, error = false) {
  el.textContent = text;
  el.classList.toggle('error', error);
}

async function reportAdapter() {
  try {
    const gpu = await Gpu.create();
    const a = gpu.adapter;
    show($('adapter'), `WebGPU adapter: ${a.vendor || '?'} ${a.architecture || ''} ${a.description || ''}${a.isSoftware ? ' (software / CPU emulation)' : ''}`);
    gpu.destroy();
  } catch (e) {
    show($('adapter'), (e as Error).message, true);
  }
}

async function load() {
  const spec = $<HTMLInputElement>('model').value.trim();
  const model = spec.startsWith('/') ? new URL(spec, location.href).href : spec;
  show($('info'), `Loading ${model}…`);
  try {
    await engine?.dispose();
    const t0 = performance.now();
    engine = await createEngine({ model, backend: $<HTMLSelectElement>('backend').value as BackendChoice });
    const i = engine.info;
    const b = i.backend;
    show(
      $('info'),
      `${i.model}\n${i.architecture} (${i.modelType}), hidden ${i.hiddenSize}, max ${i.maxLength} tokens\n` +
        `backend ${b.name}${b.name === 'cpu' ? ` (${b.simd}, ${b.threads} thread${b.threads === 1 ? '' : 's'})` : ''}${b.requested === 'auto' ? ` (auto: ${b.reason})` : ''}\n` +
        `tasks: ${i.tasks.join(', ')}; pooling ${i.pooling} (${i.poolingOrigin})${i.normalize ? ' + normalize' : ''}\n` +
        `loaded in ${(performance.now() - t0).toFixed(0)} ms`,
    );
  } catch (e) {
    engine = undefined;
    show($('info'), (e as Error).message, true);
  }
}

const lines = (id: string) => $<HTMLTextAreaElement>(id).value.split('\n').map((s) => s.trim()).filter(Boolean);

async function search() {
  if (!engine) await load();
  if (!engine) return;
  const docs = lines('corpus');
  const query = $<HTMLInputElement>('query').value;
  const list = $('results');
  list.innerHTML = '';
  try {
    const t0 = performance.now();
    const ranked = (await engine.rerank(query, docs)).results;
    const ms = performance.now() - t0;
    for (const r of ranked) {
      const li = document.createElement('li');
      li.innerHTML = `<span class="score">${r.relevanceScore.toFixed(4)}</span>`;
      li.append(docs[r.index]);
      list.append(li);
    }
    const note = document.createElement('p');
    note.className = 'muted';
    note.textContent = `${docs.length} documents scored in ${ms.toFixed(0)} ms (${engine.info.tasks.includes('classify') ? 'cross-encoder' : 'bi-encoder cosine'}).`;
    list.append(note);
  } catch (e) {
    show(list, (e as Error).message, true);
  }
}

async function run() {
  if (!engine) await load();
  if (!engine) return;
  const task = $<HTMLSelectElement>('task').value;
  const input = lines('input');
  const out = $('output');
  try {
    let result: unknown;
    const t0 = performance.now();
    if (task === 'embed') result = await engine.embed(input);
    else if (task === 'classify') result = await engine.classify(input);
    else if (task === 'score') result = await engine.score(input[0], input.slice(1));
    else if (task === 'rerank') result = await engine.rerank(input[0], input.slice(1), { returnDocuments: true });
    else result = await engine.encode(input, { task: task as 'token_embed' | 'token_classify' });
    const ms = performance.now() - t0;
    const tokens = (result as { usage?: { promptTokens?: number } }).usage?.promptTokens;
    const timing = `${task}: ${input.length} input${input.length === 1 ? '' : 's'}${tokens ? `, ${tokens} tokens` : ''} in ${ms.toFixed(1)} ms on ${engine.info.backend.name}\n`;
    const json = JSON.stringify(result, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array, (x) => +x.toFixed(5)) : v), 2);
    // One line per vector instead of one line per number.
    show(out, timing + json.replace(/\[\s+([-\d.e+,\s]+?)\s+\]/g, (_, inner: string) => `[${inner.replace(/\s+/g, ' ')}]`));
  } catch (e) {
    show(out, (e as Error).message, true);
  }
}

async function serviceWorker() {
  const out = $('sw-output');
  try {
    const spec = $<HTMLInputElement>('model').value.trim();
    const query = new URLSearchParams({ model: `model=${spec}`, base: '/wgpool', backend: $<HTMLSelectElement>('backend').value });
    // Built demo: /sw.js; dev server: the TypeScript entry (served with Service-Worker-Allowed: /).
    const script = import.meta.env.DEV ? '/src/serve/sw_entry.ts' : '/sw.js';
    await navigator.serviceWorker.register(`${script}?${query}`, { type: 'module', scope: '/' });
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
    }
    const res = await fetch('/wgpool/v1/embeddings', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'model', input: lines('input').slice(0, 2) }),
    });
    const body = await res.json();
    show(out, `${res.status} ${res.statusText}\n${JSON.stringify(body, null, 1).replace(/\[\s+([-\d.e+,\s]+?)\s+\]/g, (_, x: string) => `[${x.replace(/\s+/g, ' ')}]`)}`);
  } catch (e) {
    show(out, (e as Error).message, true);
  }
}

$('load').addEventListener('click', load);
$('sw').addEventListener('click', serviceWorker);
$('search').addEventListener('click', search);
$('run').addEventListener('click', run);
void reportAdapter();
