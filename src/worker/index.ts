// wgpool/worker: run the engine in a Web Worker behind the same API.
export { WorkerEngine, createWorkerEngine } from './client';
export type { WorkerEngineOptions } from './client';
export { startWorkerHost } from './host';
export { createSharedWorkerEngine } from './shared_client';
export type { SharedWorkerEngine, SharedWorkerEngineOptions } from './shared_client';
export { startSharedWorkerHost } from './shared_host';
export { RemoteIndex } from './index_client';
export type { RemoteIndexInfo, IndexChannel } from './index_client';
