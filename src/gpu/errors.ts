// Typed errors. `status` follows HTTP so the serve layer maps them 1:1 onto vLLM's error body
// ({"object":"error","message":…,"type":…,"param":null,"code":status}).

export type ErrorType =
  | 'BadRequestError'
  | 'NotFoundError'
  | 'TooManyRequestsError'
  | 'InternalServerError'
  | 'ServiceUnavailableError';

export class WgpoolError extends Error {
  constructor(
    message: string,
    readonly status: number = 500,
    readonly type: ErrorType = 'InternalServerError',
  ) {
    super(message);
    this.name = 'WgpoolError';
  }
}

/** A request the caller can fix (vLLM: 400 BadRequestError). */
export class BadRequestError extends WgpoolError {
  constructor(message: string) {
    super(message, 400, 'BadRequestError');
    this.name = 'BadRequestError';
  }
}

/** Unknown model, route or resource (404). */
export class NotFoundError extends WgpoolError {
  constructor(message: string) {
    super(message, 404, 'NotFoundError');
    this.name = 'NotFoundError';
  }
}

/** Backpressure: the queue is full (429). */
export class OverloadedError extends WgpoolError {
  constructor(message: string) {
    super(message, 429, 'TooManyRequestsError');
    this.name = 'OverloadedError';
  }
}

/** Model files that cannot be used: corrupt safetensors, bad config, unknown architecture. */
export class ModelLoadError extends WgpoolError {
  constructor(message: string) {
    super(message, 400, 'BadRequestError');
    this.name = 'ModelLoadError';
  }
}

/** No WebGPU, no adapter, limits too small, a shader that does not compile. */
export class GpuError extends WgpoolError {
  constructor(message: string) {
    super(message, 500, 'InternalServerError');
    this.name = 'GpuError';
  }
}

/**
 * The GPU device was lost (driver reset, device.destroy() by someone else, out of memory) while this
 * request was pending (503: retry). `recoverable`: whether the engine reloads itself on a new device
 * for the next request; false when it ran on a caller's device, which it cannot replace.
 */
export class GpuLostError extends WgpoolError {
  constructor(
    message: string,
    /** GPUDeviceLostInfo.reason ('destroyed' or 'unknown'), or 'reload-failed'. */
    readonly reason: string,
    readonly recoverable: boolean,
  ) {
    super(message, 503, 'ServiceUnavailableError');
    this.name = 'GpuLostError';
  }
}

/**
 * The engine (or worker engine) was disposed: requests queued or made after dispose() get this.
 * 503 like a server shutting down, so an HTTP client retries elsewhere; not the caller's mistake.
 */
export class EngineDisposedError extends WgpoolError {
  constructor(message = 'This engine was disposed.') {
    super(message, 503, 'ServiceUnavailableError');
    this.name = 'EngineDisposedError';
  }
}

/** A broken internal invariant (a kernel bound with the wrong buffers or shape): a wgpool bug, 500. */
export class InternalError extends WgpoolError {
  constructor(message: string) {
    super(message, 500, 'InternalServerError');
    this.name = 'InternalError';
  }
}

/**
 * Every error class the library throws, for callers that switch on them. An aborted request is
 * the one exception: it rejects with the AbortSignal's reason or an Error named 'AbortError', as
 * fetch() does.
 */
export const ERROR_CLASSES = [WgpoolError, BadRequestError, NotFoundError, OverloadedError, ModelLoadError, GpuError, GpuLostError, EngineDisposedError, InternalError] as const;

/**
 * An error that crossed a worker boundary as {name, message, status, type}, rebuilt as its class
 * (matched by name) so `instanceof` works on the page as in the worker. AbortError stays an abort.
 */
export function errorFromWire(e: { name: string; message: string; status?: number; type?: string; reason?: string; recoverable?: boolean }): Error {
  if (e.name === 'AbortError') return abortError(e.message);
  if (e.name === 'GpuLostError') return new GpuLostError(e.message, e.reason ?? 'unknown', e.recoverable ?? false);
  // Matched by the instances' names, which survive minification (class names may not).
  const cls = ERROR_CLASSES.find((c) => c !== WgpoolError && new (c as new (m: string) => WgpoolError)('').name === e.name);
  if (cls) {
    const err = new (cls as new (m: string) => WgpoolError)(e.message);
    if (e.status === undefined || err.status === e.status) return err;
  }
  const err = new WgpoolError(e.message, e.status ?? 500, (e.type as ErrorType | undefined) ?? 'InternalServerError');
  err.name = e.name;
  return err;
}

/**
 * A caller's value as it goes into an error message. Never throws: `${v}` and String(v) throw a
 * TypeError for objects without a prototype ({__proto__: null}, from untrusted JSON-like input),
 * and JSON.stringify throws for BigInt and cycles.
 */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null || typeof v === 'bigint') return String(v);
  try {
    const s = JSON.stringify(v);
    if (s !== undefined) return s.length > 80 ? `${s.slice(0, 80)}…` : s;
  } catch {
    // fall through: a cycle or a BigInt inside
  }
  return Array.isArray(v) ? 'a list' : typeof v;
}

/** The DOMException name AbortSignal users check for. */
export function abortError(reason?: unknown): Error {
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const err = new Error(typeof reason === 'string' ? reason : 'The operation was aborted.');
  err.name = 'AbortError';
  return err;
}
