// The HTTP API served by a Service Worker: the page fetches /wgpool/v1/embeddings like a server and
// gets the JS API's vectors; model files land in Cache Storage, from which an engine loads with the
// network cut off.
import { createEngine } from '../../../../src/index';
import { cachedFetch } from '../../../../src/serve/service_worker';
import { decodeNumbers } from '../../../../src/serve/encoding';
import golden from '../../../fixtures/goldens/tiny-bert-embed.json';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

const texts = golden.cases.map((c) => c.text);

async function viaServiceWorker(): Promise<{ status: number; vectors: number[][]; body: unknown }> {
  const res = await fetch('/wgpool/v1/embeddings', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'embedder', input: texts }),
  });
  const body = (await res.json()) as { data?: { embedding: number[] }[] };
  return { status: res.status, vectors: body.data?.map((d) => d.embedding) ?? [], body };
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`/wgpool${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** vLLM round two through the Service Worker: token ids, bytes, float16, the chat error, /version, /metrics. */
async function parity() {
  const ids: number[][] = [];
  for (const t of texts) ids.push(((await (await post('/tokenize', { model: 'embedder', prompt: t })).json()) as { tokens: number[] }).tokens);
  const byIds = (await (await post('/v1/embeddings', { model: 'embedder', input: ids })).json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
  const bytesRes = await post('/v1/embeddings', { model: 'embedder', input: texts, encoding_format: 'bytes' });
  const meta = JSON.parse(bytesRes.headers.get('metadata') ?? 'null') as { data: { start: number; end: number }[] } | null;
  const body = new Uint8Array(await bytesRes.arrayBuffer());
  const fromBytes = meta ? meta.data.map((it) => Array.from(decodeNumbers(body.subarray(it.start, it.end), 'float32', 'native'))) : [];
  const f16 = (await (await post('/v1/embeddings', { model: 'embedder', input: texts, encoding_format: 'base64', embed_dtype: 'float16' })).json()) as { data: { embedding: string }[] };
  const f16Vectors = f16.data.map((d) => Array.from(decodeNumbers(Uint8Array.from(atob(d.embedding), (c) => c.charCodeAt(0)), 'float16', 'native')));
  const chat = await post('/v1/embeddings', { model: 'embedder', messages: [{ role: 'user', content: 'hi' }] });
  const version = (await (await fetch('/wgpool/version')).json()) as { version: string };
  const metrics = await (await fetch('/wgpool/metrics')).text();
  return {
    idsErr: Math.max(...byIds.data.map((d, i) => maxAbsDiff(d.embedding, golden.cases[i].embedding))),
    idsTokens: byIds.usage.prompt_tokens,
    goldenTokens: golden.cases.reduce((s, c) => s + c.input_ids.length, 0),
    bytesType: bytesRes.headers.get('content-type'),
    bytesErr: Math.max(...fromBytes.map((v, i) => maxAbsDiff(v, golden.cases[i].embedding))),
    // float16 keeps 11 significant bits: the error beyond half an ulp (2^-11 relative) must be the
    // float answer's own distance from the golden, under 1e-5; a truncating or wrong-width encoding fails.
    f16Excess: Math.max(...f16Vectors.map((v, i) => Math.max(...v.map((x, j) => Math.abs(x - golden.cases[i].embedding[j]) - 2 ** -11 * Math.abs(golden.cases[i].embedding[j]))))),
    chatStatus: chat.status,
    chatMessage: ((await chat.json()) as { message: string }).message,
    version: version.version,
    embeddingsCounted: /http_requests_total\{handler="\/v1\/embeddings",method="POST",status="200"\} [1-9]/.test(metrics),
  };
}

export default async function run(args?: { phase: 'online' | 'offline' | 'parity' }) {
  if (args?.phase === 'parity') return parity();
  if (args?.phase === 'offline') {
    const sw = await viaServiceWorker();
    // A fresh engine whose every file must come from Cache Storage: the network throws.
    const offline = await createEngine({
      model: new URL('/models/tiny-bert-embed', location.href).href,
      fetch: cachedFetch('wgpool-models-v1', () => Promise.reject(new TypeError('network is off'))),
    });
    const js = await offline.embed(texts);
    await offline.dispose();
    return {
      swStatus: sw.status,
      swErr: Math.max(...sw.vectors.map((v, i) => maxAbsDiff(v, golden.cases[i].embedding))),
      cacheLoadErr: Math.max(...js.embeddings.map((v, i) => maxAbsDiff(v, golden.cases[i].embedding))),
    };
  }
  // Parameters URL-encoded: vite resolves the script's imports relative to its id, query included.
  const query = new URLSearchParams({ model: 'embedder=/models/tiny-bert-embed', base: '/wgpool' });
  const reg = await navigator.serviceWorker.register(`/src/serve/sw_entry.ts?${query}`, { type: 'module', scope: '/' });
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
  }
  const sw = await viaServiceWorker();
  const engine = await createEngine({ model: new URL('/models/tiny-bert-embed', location.href).href });
  const js = await engine.embed(texts);
  await engine.dispose();
  const cached = await (await caches.open('wgpool-models-v1')).keys();
  return {
    scope: reg.scope,
    swStatus: sw.status,
    swVsJs: Math.max(...sw.vectors.map((v, i) => maxAbsDiff(v, js.embeddings[i]))),
    swErr: Math.max(...sw.vectors.map((v, i) => maxAbsDiff(v, golden.cases[i].embedding))),
    cachedFiles: cached.map((r) => new URL(r.url).pathname).sort(),
  };
}
