// The HTTP handler inside a Service Worker: pages `fetch('/wgpool/v1/embeddings', …)` exactly as
// they would call a vLLM server, with no server at all — offline too. The engines live in the
// worker (WebGPU is exposed to Service Workers), and every model file they fetch goes through Cache
// Storage, so once a model has loaded online it loads again offline.

import { createEngine, type EngineOptions } from '../engine';
import { chunkingOptions, parsePoolerConfig, poolerEngineOptions, withPoolerConfig } from '../router/pooler_config';
import type { EngineApi } from '../router/types';
import { createHandler, type Handler } from './handler';

export interface ServiceWorkerOptions {
  /**
   * Served model name → engine options (model URL prefix or hub id, …; `chatTemplate` and
   * `hfOverrides` as --chat-template / --hf-overrides), plus vLLM's `poolerConfig` (JSON or object).
   */
  models: Record<string, Omit<EngineOptions, 'fetch'> & { poolerConfig?: unknown }>;
  /** Route prefix inside the worker's scope, e.g. '/wgpool'. */
  basePath: string;
  /** Cache Storage name for model files (bump it to drop old models). */
  cacheName?: string;
}

interface SwScope {
  location: Location;
  addEventListener(type: 'install' | 'activate', l: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', l: (e: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
}

/**
 * fetch() through Cache Storage: cached answers first, network otherwise (and cached). 404s are
 * cached too: model loading probes optional files (modules.json, …) with HEAD, and offline those
 * probes must still say "absent" rather than fail. HEAD is answered from the cached GET.
 */
export function cachedFetch(cacheName: string, network: typeof fetch = (i, o) => fetch(i, o)): typeof fetch {
  return async (input, init) => {
    const req = new Request(input, init);
    const method = req.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return network(req);
    const cache = await caches.open(cacheName);
    const key = new Request(req.url, { method: 'GET', headers: req.headers });
    let res = await cache.match(key);
    if (!res) {
      const net = await network(key);
      if (net.ok || net.status === 404 || net.status === 410) await cache.put(key, net.clone());
      res = net;
    }
    return method === 'HEAD' ? new Response(null, { status: res.status, statusText: res.statusText, headers: res.headers }) : res;
  };
}

/** Install the handler in this Service Worker. Engines load on the first request under basePath. */
export function serveFromServiceWorker(opts: ServiceWorkerOptions, scope: SwScope = self as unknown as SwScope): void {
  const base = opts.basePath.replace(/\/+$/, '');
  const cacheName = opts.cacheName ?? 'wgpool-models-v1';
  let ready: Promise<Handler> | undefined;

  const load = async (): Promise<Handler> => {
    const engines = new Map<string, EngineApi>();
    for (const [name, { poolerConfig, ...o }] of Object.entries(opts.models)) {
      const model = typeof o.model === 'string' && o.model.startsWith('/') ? new URL(o.model, scope.location.origin).href : o.model;
      const pooler = poolerConfig === undefined ? undefined : parsePoolerConfig(poolerConfig);
      const engine = await createEngine({ ...o, ...(pooler ? { ...poolerEngineOptions(pooler), ...chunkingOptions(pooler) } : {}), model, servedModelName: name, fetch: cachedFetch(cacheName) });
      engines.set(name, pooler ? withPoolerConfig(engine, pooler) : engine);
    }
    return createHandler({ engines, basePath: base });
  };

  scope.addEventListener('install', (e) => e.waitUntil(scope.skipWaiting()));
  scope.addEventListener('activate', (e) => e.waitUntil(scope.clients.claim()));
  scope.addEventListener('fetch', (e) => {
    const url = new URL(e.request.url);
    if (url.origin !== scope.location.origin || !(url.pathname === base || url.pathname.startsWith(`${base}/`))) return;
    ready ??= load();
    // A failed load is retried on the next request rather than cached forever.
    ready.catch(() => (ready = undefined));
    e.respondWith(ready.then((h) => h(e.request)));
  });
}
