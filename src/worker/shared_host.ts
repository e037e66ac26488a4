// The SharedWorker side: every tab that connects gets its own port and host, and all of them share
// one Engine per distinct set of load options, so two tabs of an app hold one loaded model and one
// GPU device. An engine is disposed when the last port that loaded it disposes; a tab closed
// without dispose keeps its share until the SharedWorker itself ends (when its last tab closes).

import { createEngine, type Engine } from '../engine';
import { abortError } from '../gpu/errors';
import { startWorkerHost } from './host';

interface Shared {
  engine: Promise<Engine>;
  users: number;
  /** Aborts the shared load once every tab waiting for it has given up (its own signal). */
  abort: AbortController;
}

/** `p`, or an AbortError as soon as `signal` aborts (p itself goes on). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

interface ConnectScope {
  addEventListener(type: 'connect', listener: (e: MessageEvent) => void): void;
}

/** Key of a load: the options as JSON (File handles reduce to their names and sizes). */
function loadKey(options: Record<string, unknown>): string {
  return JSON.stringify(options, (_, v) => (typeof File !== 'undefined' && v instanceof File ? `${v.name}:${v.size}:${v.lastModified}` : v));
}

export function startSharedWorkerHost(scope: ConnectScope = self as unknown as ConnectScope): void {
  const engines = new Map<string, Shared>();
  const keys = new Map<Engine, string>();
  const hooks = {
    async load(options: Record<string, unknown>): Promise<Engine> {
      // A tab's signal stops that tab's wait; the shared load is aborted only when no tab waits.
      const { signal, ...rest } = options as { signal?: AbortSignal };
      const key = loadKey(rest);
      let s = engines.get(key);
      if (!s) {
        const abort = new AbortController();
        const engine = createEngine({ ...rest, signal: abort.signal } as never);
        s = { engine, users: 0, abort };
        engines.set(key, s);
        // A failed load is not cached: the next tab tries again.
        engine.then((e) => keys.set(e, key)).catch(() => engines.delete(key));
      }
      s.users++;
      try {
        return await untilAborted(s.engine, signal);
      } catch (e) {
        if (--s.users === 0 && engines.get(key) === s) {
          engines.delete(key);
          s.abort.abort(abortError());
          s.engine.then((en) => en.dispose(), () => undefined);
        }
        throw e;
      }
    },
    async release(engine: Engine): Promise<void> {
      const key = keys.get(engine);
      const s = key === undefined ? undefined : engines.get(key);
      if (!s || --s.users > 0) return;
      engines.delete(key!);
      keys.delete(engine);
      await engine.dispose();
    },
  };
  scope.addEventListener('connect', (e: MessageEvent) => {
    const port = e.ports[0];
    startWorkerHost(port, hooks);
    port.start();
  });
}
