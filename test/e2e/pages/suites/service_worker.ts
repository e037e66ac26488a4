// The HTTP API served by a Service Worker: the page fetches /wgpool/v1/embeddings like a server and
// gets the JS API's vectors; model files land in Cache Storage, from which an engine loads with the
// network cut off.
import { createEngine } from '../../../../src/index';
import { cachedFetch } from '../../../../src/serve/service_worker';
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

export default async function run(args?: { phase: 'online' | 'offline' }) {
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
