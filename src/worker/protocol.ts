// Messages between a page (WorkerEngine) and the engine in a Web Worker (startWorkerHost).
// Float32Array results travel as transferables, so nothing is copied on the way back.

import type { LoadProgress } from '../loading/progress';
import type { EngineInfo } from '../router/types';
import type { IndexAction } from './index_host';

export type EngineMethod = 'embed' | 'classify' | 'score' | 'rerank' | 'encode' | 'tokenize' | 'detokenize' | 'stats' | 'liveBuffers';

export type ToWorker =
  | { id: number; op: 'load'; options: Record<string, unknown> }
  | { id: number; op: 'call'; method: EngineMethod; args: unknown[] }
  | { id: number; op: 'index'; name: string; action: IndexAction; args: unknown[] }
  | { id: number; op: 'abort'; target: number }
  | { id: number; op: 'dispose' };

export type FromWorker =
  | { id: number; progress: LoadProgress }
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string; status?: number; type?: string; reason?: string; recoverable?: boolean } };

export interface LoadResult {
  info: EngineInfo;
}

/** ArrayBuffers inside a result, to transfer instead of copy. */
export function transferables(value: unknown, out: Set<ArrayBuffer> = new Set()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) out.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return [...out];
}
