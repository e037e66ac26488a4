// The page side: the engine API, answered by an Engine living in a Web Worker. Same methods and
// results as Engine; AbortSignals are forwarded; typed arrays come back transferred, not copied.

import type { EngineOptions } from '../engine';
import type { ProgressCallback } from '../loading/progress';
import { BadRequestError, EngineDisposedError, abortError, errorFromWire } from '../gpu/errors';
import type {
  ClassifyOptions,
  ClassifyResult,
  EmbedOptions,
  EmbedResult,
  EmbeddingFor,
  EncodingFormat,
  EngineApi,
  EngineInfo,
  RerankOptions,
  RerankResult,
  ScoreOptions,
  ScoreResult,
  TokenizeResult,
  TokenOptions,
  TokenResult,
} from '../router/types';
import { RemoteIndex } from './index_client';
import type { IndexAction } from './index_host';
import type { EngineMethod, FromWorker, LoadResult, ToWorker } from './protocol';

/**
 * Engine options that can cross to a worker (no device, no fetch, no File handles beyond cloning).
 * `signal` stays here and aborts the load in the worker, in whatever phase it is.
 */
export type WorkerEngineOptions = Omit<EngineOptions, 'device' | 'signal' | 'fetch'> & { signal?: AbortSignal };

/** A message to the worker before its id is assigned. */
type Outgoing = ToWorker extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

export class WorkerEngine implements EngineApi {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly progress = new Map<number, ProgressCallback>();
  info!: EngineInfo;

  /** A dedicated Worker, or a SharedWorker's (started) port. */
  private constructor(private readonly worker: Worker | MessagePort) {
    worker.addEventListener('message', (e: Event) => {
      const msg = (e as MessageEvent).data as FromWorker;
      if ('progress' in msg) {
        this.progress.get(msg.id)?.(msg.progress);
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      this.progress.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else {
        p.reject(errorFromWire(msg.error));
      }
    });
  }

  /** Load a model inside `worker` (a module worker running `startWorkerHost()`). */
  static async create(worker: Worker | MessagePort, options: WorkerEngineOptions): Promise<WorkerEngine> {
    const client = new WorkerEngine(worker);
    // Functions cannot cross to the worker: onProgress stays here and the worker's events come back.
    const { onProgress, signal, ...rest } = options;
    const { info } = (await client.request({ op: 'load', options: rest as Record<string, unknown> }, signal, onProgress)) as LoadResult;
    client.info = info;
    return client;
  }

  private request(msg: Outgoing, signal?: AbortSignal, onProgress?: ProgressCallback): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(abortError(signal.reason));
    const id = this.nextId++;
    if (onProgress) this.progress.set(id, onProgress);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const onAbort = () => {
        this.worker.postMessage({ id: this.nextId++, op: 'abort', target: id } satisfies ToWorker);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.worker.postMessage({ ...msg, id } as ToWorker);
    });
  }

  private call<T>(method: EngineMethod, args: unknown[], signal?: AbortSignal): Promise<T> {
    return this.request({ op: 'call', method, args }, signal) as Promise<T>;
  }

  embed<F extends EncodingFormat = 'float'>(input: string | string[], opts: EmbedOptions & { encodingFormat?: F } = {}): Promise<EmbedResult<EmbeddingFor<F>>> {
    const { signal, ...rest } = opts;
    return this.call('embed', [input, rest], signal);
  }

  classify(input: string | string[], opts: ClassifyOptions = {}): Promise<ClassifyResult> {
    const { signal, ...rest } = opts;
    return this.call('classify', [input, rest], signal);
  }

  score(a: string | string[], b: string | string[], opts: ScoreOptions = {}): Promise<ScoreResult> {
    const { signal, ...rest } = opts;
    return this.call('score', [a, b, rest], signal);
  }

  rerank(query: string, documents: string[], opts: RerankOptions = {}): Promise<RerankResult> {
    const { signal, ...rest } = opts;
    return this.call('rerank', [query, documents, rest], signal);
  }

  encode(input: string | string[], opts: TokenOptions): Promise<TokenResult> {
    const { signal, ...rest } = opts;
    return this.call('encode', [input, rest], signal);
  }

  /** Asynchronous here (the tokenizer lives in the worker). */
  tokenizeAsync(text: string, opts: { addSpecialTokens?: boolean; returnTokenStrs?: boolean } = {}): Promise<TokenizeResult> {
    return this.call('tokenize', [text, opts]);
  }

  tokenize(): TokenizeResult {
    throw new BadRequestError('WorkerEngine.tokenize is asynchronous: use tokenizeAsync().');
  }

  detokenize(): string {
    throw new BadRequestError('WorkerEngine.detokenize is asynchronous: use detokenizeAsync().');
  }

  detokenizeAsync(ids: number[]): Promise<string> {
    return this.call('detokenize', [ids]);
  }

  /** The worker's vector index called `name` (open or load it first); it lives beside the engine. */
  index(name: string): RemoteIndex {
    return new RemoteIndex(this, name);
  }

  indexCall(name: string, action: IndexAction, args: unknown[], signal?: AbortSignal): Promise<unknown> {
    return this.request({ op: 'index', name, action, args }, signal);
  }

  stats(): Promise<unknown> {
    return this.call('stats', []);
  }

  /** The worker engine's live GPU buffers and bytes (Engine.liveBuffers()). */
  liveBuffers(): Promise<{ buffers: number; bytes: number }> {
    return this.call('liveBuffers', []);
  }

  async dispose(): Promise<void> {
    await this.request({ op: 'dispose' });
    if ('terminate' in this.worker) this.worker.terminate();
    else this.worker.close();
    for (const p of this.pending.values()) p.reject(new EngineDisposedError('The worker engine was disposed.'));
    this.pending.clear();
  }
}

/** Start an engine in a module worker and talk to it with the engine API. */
export function createWorkerEngine(worker: Worker, options: WorkerEngineOptions): Promise<WorkerEngine> {
  return WorkerEngine.create(worker, options);
}
