// A ready-made worker script: `new Worker(new URL('wgpool/worker.js', import.meta.url), { type: 'module' })`.
import { startWorkerHost } from './host';

startWorkerHost();
