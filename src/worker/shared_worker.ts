// A ready-made worker script for createSharedWorkerEngine: run as a SharedWorker it shares one
// engine among all connecting tabs; run as a dedicated Worker (the fallback) it serves one page.
import { startWorkerHost } from './host';
import { startSharedWorkerHost } from './shared_host';

if ('onconnect' in self) startSharedWorkerHost();
else startWorkerHost();
