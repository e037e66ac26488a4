// Tab soak (issue 16) through the ready-made Service Worker (src/serve/sw_entry.ts): the page
// fetches vLLM's routes — /v1/embeddings, /pooling (token_embed), /score, /rerank, /classify,
// /tokenize — on two models (a bi-encoder and a cross-encoder), with the mix of soak_mix.ts: random
// lengths, 10% of fetches aborted with an AbortController, bursts over the worker's backpressure
// limit (the `scheduler` parameter sets maxQueuedTokens low, so 429s come and are counted). Every
// 200 must equal the same request answered alone first. The queue is drained when /metrics says
// nothing is waiting or running; /metrics also gives each engine's live GPU buffers.
//
// Phases (the Playwright test measures the page's and the worker's heaps between them):
//   setup — register the worker, answer the table alone (references), one warm-up mix;
//   soak  — the measured mix with frames counted, then the drain and the metrics after.
import { countFrames } from './frames';
import { heap, mix, references, sentences, type Call } from './soak_mix';

const MAX_QUEUED_TOKENS = 3000;

type Metrics = Map<string, number>;

/** Prometheus text → series (name plus labels) → value. */
function parseMetrics(text: string): Metrics {
  const out: Metrics = new Map();
  for (const line of text.split('\n')) {
    const m = /^([^#\s][^\s]*) (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

async function metrics(): Promise<Metrics> {
  return parseMetrics(await (await fetch('/wgpool/metrics')).text());
}

/** The sum of a metric's series whose labels contain every `label="value"` given. */
function total(m: Metrics, name: string, ...labels: string[]): number {
  let s = 0;
  for (const [k, v] of m) if ((k === name || k.startsWith(`${name}{`)) && labels.every((l) => k.includes(l))) s += v;
  return s;
}

/** POST a route; a 429 rejects as OverloadedError (what the mix counts), any other non-200 as HttpError. */
async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/wgpool${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  const json = (await res.json()) as T & { type?: string; message?: string };
  if (res.ok) return json;
  const e = new Error(`${res.status} ${json.type}: ${json.message}`);
  e.name = res.status === 429 ? 'OverloadedError' : 'HttpError';
  throw e;
}

function buildTable(): Call[] {
  const sentence = sentences(3);
  const table: Call[] = [];
  for (let i = 0; i < 6; i++) {
    const a = [sentence(), sentence()];
    const q = sentence();
    const d = [sentence(), sentence(), sentence()];
    type Rows<T> = { data: T[] };
    table.push((s) => post<Rows<{ embedding: number[] }>>('/v1/embeddings', { model: 'embedder', input: a }, s).then((r) => r.data.map((x) => x.embedding)));
    table.push((s) => post<Rows<{ data: number[][] }>>('/pooling', { model: 'embedder', task: 'token_embed', input: a[0] }, s).then((r) => r.data.map((x) => x.data)));
    table.push((s) => post<Rows<{ score: number }>>('/score', { model: 'embedder', text_1: q, text_2: d }, s).then((r) => r.data.map((x) => x.score)));
    table.push((s) => post<{ results: unknown[] }>('/rerank', { model: 'reranker', query: q, documents: d, top_n: 2, return_documents: false }, s).then((r) => r.results));
    table.push((s) => post<Rows<{ probs: number[] }>>('/classify', { model: 'reranker', input: a }, s).then((r) => r.data.map((x) => x.probs)));
    table.push((s) => post<{ tokens: number[] }>('/tokenize', { model: 'embedder', prompt: q }, s).then((r) => r.tokens));
  }
  return table;
}

let table: Call[] = [];
let reference: unknown[] = [];

async function setup() {
  const query = new URLSearchParams([
    ['model', 'embedder=/models/tiny-bert-embed'],
    ['model', 'reranker=/models/tiny-bert-crossenc'],
    ['base', '/wgpool'],
    ['scheduler', JSON.stringify({ maxQueuedTokens: MAX_QUEUED_TOKENS })],
  ]);
  await navigator.serviceWorker.register(`/src/serve/sw_entry.ts?${query}`, { type: 'module', scope: '/' });
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
  }
  const t0 = performance.now();
  await post('/tokenize', { model: 'embedder', prompt: 'load' });
  await post('/tokenize', { model: 'reranker', prompt: 'load' });
  const loadMs = performance.now() - t0;
  table = buildTable();
  reference = await references(table);
  const referencesMs = performance.now() - t0 - loadMs;
  // Warm-up: the pipelines and pooled buffers of every shape class exist before "before" is read.
  const warmup = await mix(table, reference, 60, 1);
  return { calls: table.length, warmup, loadMs, referencesMs, warmupMs: performance.now() - t0 - loadMs - referencesMs };
}

/** Poll /metrics until no engine has a request waiting or a batch running; ms taken. */
async function drain(limitMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const m = await metrics();
    if (total(m, 'vllm:num_requests_waiting') === 0 && total(m, 'vllm:num_requests_running') === 0) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) return Infinity;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function gpu(m: Metrics) {
  return {
    liveBuffers: total(m, 'wgpool:gpu_buffers_live'),
    liveBytes: total(m, 'wgpool:gpu_bytes_live'),
    pooledFreeBuffers: total(m, 'wgpool:gpu_buffers_pooled_free'),
    pooledFreeBytes: total(m, 'wgpool:gpu_bytes_pooled_free'),
  };
}

async function soak(count: number) {
  const before = await metrics();
  const heapBefore = heap();
  const frames = countFrames();
  const t0 = performance.now();
  const counts = await mix(table, reference, count, 2);
  const ms = performance.now() - t0;
  const { frames: frameCount, maxGap } = frames.stop();
  const drainMs = await drain(30_000);
  const after = await metrics();
  // What the worker itself answered during the soak, by status: 429s it refused, 503s for fetches
  // whose abort reached it (FetchEvent.request.signal) before its answer was ready.
  const served = (status: number) => total(after, 'http_requests_total', 'method="POST"', `status="${status}"`) - total(before, 'http_requests_total', 'method="POST"', `status="${status}"`);
  return {
    count, ms, frames: frameCount, maxGap, counts, drainMs,
    served: { ok: served(200), overloaded: served(429), aborted: served(503) },
    queued: total(after, 'vllm:num_requests_waiting'), inFlight: total(after, 'vllm:num_requests_running'),
    heapBefore, heapAfter: heap(),
    buffersBefore: gpu(before), buffersAfter: gpu(after),
  };
}

export default async function run(args?: { phase: 'setup' } | { phase: 'soak'; count?: number }) {
  if (args?.phase === 'soak') return soak(args.count ?? 200);
  return setup();
}
