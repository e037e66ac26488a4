// The worker side: owns one Engine and answers WorkerEngine's messages. Tokenization, packing and
// GPU submission all happen here, so a page embedding a large corpus keeps its main thread free.

import { createEngine, type Engine } from '../engine';
import { BadRequestError, EngineDisposedError, GpuLostError, InternalError, WgpoolError, abortError } from '../gpu/errors';
import { indexCall } from './index_host';
import type { LoadProgress } from '../loading/progress';
import { transferables, type FromWorker, type ToWorker } from './protocol';

interface Port {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
}

/** How a host gets and gives back its engine (a SharedWorker shares one among its ports). */
export interface HostHooks {
  load(options: Record<string, unknown>): Promise<Engine>;
  release(engine: Engine): Promise<void>;
}

/** Serve an engine over `port` (the worker's global scope by default). */
export function startWorkerHost(port: Port = self as unknown as Port, hooks?: HostHooks): void {
  let engine: Engine | undefined;
  const aborts = new Map<number, AbortController>();

  const reply = (msg: FromWorker) => port.postMessage(msg, 'ok' in msg && msg.ok ? transferables(msg.result) : []);
  const fail = (id: number, e: unknown) => {
    // Anything that is neither a typed error nor an abort is a wgpool bug: it crosses as an InternalError.
    const err = e instanceof WgpoolError || (e instanceof Error && e.name === 'AbortError') ? e : new InternalError(e instanceof Error ? e.message : String(e));
    reply({
      id,
      ok: false,
      error: {
        name: err.name,
        message: err.message,
        ...(err instanceof WgpoolError ? { status: err.status, type: err.type } : {}),
        ...(err instanceof GpuLostError ? { reason: err.reason, recoverable: err.recoverable } : {}),
      },
    });
  };

  port.addEventListener('message', async (event: MessageEvent) => {
    const msg = event.data as ToWorker;
    try {
      switch (msg.op) {
        case 'load': {
          if (engine) throw new BadRequestError('This worker already holds an engine.');
          // The load's progress events travel as they come, tagged with the load's id.
          const onProgress = (progress: LoadProgress) => port.postMessage({ id: msg.id, progress } satisfies FromWorker);
          // The page's signal arrives as an abort message for this load's id.
          const ctl = new AbortController();
          aborts.set(msg.id, ctl);
          try {
            const options = { ...(msg.options as object), onProgress, signal: ctl.signal } as never;
            engine = await (hooks ? hooks.load(options) : createEngine(options));
          } finally {
            aborts.delete(msg.id);
          }
          reply({ id: msg.id, ok: true, result: { info: engine.info } });
          break;
        }
        case 'index': {
          if (!engine) throw new EngineDisposedError('No engine loaded in this worker (not loaded yet, or disposed).');
          const ctl = new AbortController();
          aborts.set(msg.id, ctl);
          try {
            reply({ id: msg.id, ok: true, result: await indexCall(engine, msg.name, msg.action, msg.args, ctl.signal) });
          } finally {
            aborts.delete(msg.id);
          }
          break;
        }
        case 'abort':
          aborts.get(msg.target)?.abort(abortError());
          break;
        case 'dispose':
          if (engine) await (hooks ? hooks.release(engine) : engine.dispose());
          engine = undefined;
          reply({ id: msg.id, ok: true, result: null });
          break;
        case 'call': {
          if (!engine) throw new EngineDisposedError('No engine loaded in this worker (not loaded yet, or disposed).');
          const ctl = new AbortController();
          aborts.set(msg.id, ctl);
          try {
            const args = [...msg.args];
            // The options object (last argument of every task) gets this call's signal.
            if (['embed', 'classify', 'score', 'rerank', 'encode'].includes(msg.method)) {
              const last = args.length - 1;
              const withSignal = { ...((args[last] as object | undefined) ?? {}), signal: ctl.signal };
              args[last] = withSignal;
            }
            const fn = (engine as unknown as Record<string, (...a: unknown[]) => unknown>)[msg.method];
            const result = await fn.apply(engine, args);
            reply({ id: msg.id, ok: true, result });
          } finally {
            aborts.delete(msg.id);
          }
          break;
        }
      }
    } catch (e) {
      fail(msg.id, e);
    }
  });
}
