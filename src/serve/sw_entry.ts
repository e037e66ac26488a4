// A ready-made Service Worker script configured by its URL:
//   navigator.serviceWorker.register('/sw.js?model=embedder=/models/my-embedder&base=/wgpool', { type: 'module', scope: '/' })
// Each `model` parameter is `name=modelUrlOrHubId` (or just the URL, named by itself); `backend`
// (webgpu, cpu or auto) applies to every model — a Service Worker has no nested Workers, so the CPU
// backend runs there on one thread.
import type { BackendChoice } from '../backend';
import { serveFromServiceWorker } from './service_worker';

const params = new URL(self.location.href).searchParams;
const backend = (params.get('backend') ?? undefined) as BackendChoice | undefined;
const models: Record<string, { model: string; backend?: BackendChoice }> = {};
for (const spec of params.getAll('model')) {
  const eq = spec.indexOf('=');
  const [name, model] = eq > 0 && !spec.slice(0, eq).includes('/') ? [spec.slice(0, eq), spec.slice(eq + 1)] : [spec, spec];
  models[name] = backend ? { model, backend } : { model };
}
serveFromServiceWorker({ models, basePath: params.get('base') ?? '/wgpool' });
