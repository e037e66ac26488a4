// A ready-made Service Worker script configured by its URL:
//   navigator.serviceWorker.register('/sw.js?model=embedder=/models/my-embedder&base=/wgpool', { type: 'module', scope: '/' })
// Each `model` parameter is `name=modelUrlOrHubId` (or just the URL, named by itself).
import { serveFromServiceWorker } from './service_worker';

const params = new URL(self.location.href).searchParams;
const models: Record<string, { model: string }> = {};
for (const spec of params.getAll('model')) {
  const eq = spec.indexOf('=');
  const [name, model] = eq > 0 && !spec.slice(0, eq).includes('/') ? [spec.slice(0, eq), spec.slice(eq + 1)] : [spec, spec];
  models[name] = { model };
}
serveFromServiceWorker({ models, basePath: params.get('base') ?? '/wgpool' });
