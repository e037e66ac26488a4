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

/** The DOMException name AbortSignal users check for. */
export function abortError(reason?: unknown): Error {
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const err = new Error(typeof reason === 'string' ? reason : 'The operation was aborted.');
  err.name = 'AbortError';
  return err;
}
