// A ready-made Service Worker script configured by its URL:
//   navigator.serviceWorker.register('/sw.js?model=embedder=/models/my-embedder&base=/wgpool', { type: 'module', scope: '/' })
// Each `model` parameter is `name=modelUrlOrHubId` (or just the URL, named by itself). An optional
// `pooler_config` parameter (vLLM's PoolerConfig JSON, e.g. {"enable_chunked_processing":true,
// "max_embed_len":100000}) applies to every model, as `wgpool serve --pooler-config` does; so does
// `backend` (webgpu, cpu or auto) — a Service Worker has no nested Workers, so the CPU backend runs
// there on one thread. `scheduler` (JSON of the engine's scheduler options, e.g.
// {"maxQueuedTokens":6000}) sets the batching and backpressure bounds of every model, as the
// `scheduler` option of createEngine does.
import type { BackendChoice } from '../backend';
import { BadRequestError } from '../gpu/errors';
import type { SchedulerOptions } from '../scheduler/queue';
import { serveFromServiceWorker } from './service_worker';

const params = new URL(self.location.href).searchParams;
const poolerConfig = params.get('pooler_config') ?? undefined;
const backend = (params.get('backend') ?? undefined) as BackendChoice | undefined;
const scheduler = schedulerParam(params.get('scheduler'));
const models: Record<string, { model: string; poolerConfig?: string; backend?: BackendChoice; scheduler?: Partial<SchedulerOptions> }> = {};
for (const spec of params.getAll('model')) {
  const eq = spec.indexOf('=');
  const [name, model] = eq > 0 && !spec.slice(0, eq).includes('/') ? [spec.slice(0, eq), spec.slice(eq + 1)] : [spec, spec];
  models[name] = { model, ...(poolerConfig !== undefined ? { poolerConfig } : {}), ...(backend ? { backend } : {}), ...(scheduler ? { scheduler } : {}) };
}
serveFromServiceWorker({ models, basePath: params.get('base') ?? '/wgpool' });

/** The `scheduler` parameter as an object; the engine checks the option names and values. */
function schedulerParam(text: string | null): Partial<SchedulerOptions> | undefined {
  if (text === null) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new BadRequestError(`The Service Worker's scheduler parameter is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRequestError('The Service Worker\'s scheduler parameter must be a JSON object, e.g. {"maxQueuedTokens":6000}.');
  return v as Partial<SchedulerOptions>;
}
