// The page side of a shared engine: the same WorkerEngine API, talking to a SharedWorker's port, so
// every tab of an origin uses one loaded model. Where SharedWorker is missing (Chrome for Android,
// some embedded webviews) the same script runs as a dedicated Worker, one engine per page.

import { WorkerEngine, type WorkerEngineOptions } from './client';
import { BadRequestError } from '../gpu/errors';

export interface SharedWorkerEngineOptions {
  /** SharedWorker name: tabs share a worker only when script URL and name match (default 'wgpool'). */
  name?: string;
  /** Build the workers yourself (bundlers that need `new SharedWorker(new URL(...))` literally). */
  sharedWorker?: () => SharedWorker;
  worker?: () => Worker;
}

/** A WorkerEngine that says which kind of worker it got. */
export type SharedWorkerEngine = WorkerEngine & { readonly kind: 'shared' | 'dedicated' };

/**
 * Connect to (or start) the engine in a SharedWorker running `script` (e.g. wgpool's
 * shared_worker.js, or any module calling startSharedWorkerHost()); falls back to a dedicated Worker
 * running the same script where SharedWorker is missing. `script` may be null when both factories
 * are given (bundlers then see the literal worker constructors).
 */
export async function createSharedWorkerEngine(script: string | URL | null, options: WorkerEngineOptions, opts: SharedWorkerEngineOptions = {}): Promise<SharedWorkerEngine> {
  const need = (what: string) => {
    if (script === null) throw new BadRequestError(`createSharedWorkerEngine: pass a script URL or opts.${what}`);
    return script;
  };
  let engine: WorkerEngine;
  let kind: 'shared' | 'dedicated';
  if (typeof SharedWorker !== 'undefined') {
    const shared = opts.sharedWorker ? opts.sharedWorker() : new SharedWorker(need('sharedWorker'), { type: 'module', name: opts.name ?? 'wgpool' });
    shared.port.start();
    engine = await WorkerEngine.create(shared.port, options);
    kind = 'shared';
  } else {
    engine = await WorkerEngine.create(opts.worker ? opts.worker() : new Worker(need('worker'), { type: 'module' }), options);
    kind = 'dedicated';
  }
  return Object.assign(engine, { kind });
}
