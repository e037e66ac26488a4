// A ready-made Service Worker script configured by its URL:
//   navigator.serviceWorker.register('/sw.js?model=embedder=/models/my-embedder&base=/wgpool', { type: 'module', scope: '/' })
// Each `model` parameter is `name=modelUrlOrHubId` (or just the URL, named by itself). An optional
// `pooler_config` parameter (vLLM's PoolerConfig JSON, e.g. {"enable_chunked_processing":true,
// "max_embed_len":100000}) applies to every model, as `wgpool serve --pooler-config` does; so does
// `backend` (webgpu, cpu or auto) — a Service Worker has no nested Workers, so the CPU backend runs
// there on one thread.
import type { BackendChoice } from '../backend';
import { serveFromServiceWorker } from './service_worker';

const params = new URL(self.location.href).searchParams;
const poolerConfig = params.get('pooler_config') ?? undefined;
const backend = (params.get('backend') ?? undefined) as BackendChoice | undefined;
const models: Record<string, { model: string; poolerConfig?: string; backend?: BackendChoice }> = {};
for (const spec of params.getAll('model')) {
  const eq = spec.indexOf('=');
  const [name, model] = eq > 0 && !spec.slice(0, eq).includes('/') ? [spec.slice(0, eq), spec.slice(eq + 1)] : [spec, spec];
  models[name] = { model, ...(poolerConfig !== undefined ? { poolerConfig } : {}), ...(backend ? { backend } : {}) };
}
serveFromServiceWorker({ models, basePath: params.get('base') ?? '/wgpool' });
