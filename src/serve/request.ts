// What every route shares: the request's context (Call), typed errors that are already HTTP
// answers, JSON bodies read with a byte limit, field readers with vLLM-style messages (JSON null
// counts as absent, as pydantic's Optional fields treat it), and picking the engine a request names.

import type { EngineApi, RequestMetadata, Task, Usage } from '../router/types';

/** An error that is already an HTTP answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string) => new HttpError(400, 'BadRequestError', message);

/** One request on its way through the handler. */
export interface Call {
  request: Request;
  requestId: string;
  engines: Map<string, EngineApi>;
  maxBodyBytes: number;
  /** Timing of the engine call, copied into response headers and metrics. */
  metadata?: RequestMetadata;
  /** Prompt tokens the request used, for metrics. */
  usage?: Usage;
  /** The served model name the request ran on. */
  model?: string;
}

export function json(call: Call, body: unknown, status = 200): Response {
  return new Response(call.request.method === 'HEAD' ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

export function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

export function randomId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

export const now = () => Math.floor(Date.now() / 1000);

/** vLLM's UsageInfo. */
export function usageInfo(u: Usage) {
  return { prompt_tokens: u.promptTokens, total_tokens: u.totalTokens, completion_tokens: 0, prompt_tokens_details: null };
}


export type Body = Record<string, unknown>;

/** Read the body as JSON, counting bytes as they arrive so an oversized body is never buffered. */
export async function readJson(request: Request, maxBytes: number): Promise<Body> {
  const contentType = request.headers.get('content-type');
  if (contentType !== null && contentType.split(';')[0].trim().toLowerCase() !== 'application/json') {
    throw badRequest("Unsupported Media Type: Only 'application/json' is allowed");
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (isAbort(err) || request.signal.aborted) throw err;
        throw badRequest(`Could not read the request body: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (chunk.done) break;
      size += chunk.value.byteLength;
      if (size > maxBytes) {
        reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      chunks.push(chunk.value);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badRequest('The request body is not valid UTF-8.');
  }
  if (!text.trim()) throw badRequest('The request body is empty; send a JSON object.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest(`The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest(`The request body must be a JSON object, got ${describe(parsed)}.`);
  }
  return parsed as Body;
}

export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'PayloadTooLargeError', `The request body is larger than the limit of ${maxBytes} bytes.`);
}

/** A JSON value named for an error message: `a string ("x")`, `a number (3)`, `an array`, … */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)})`;
    case 'number':
      return `a number (${v})`;
    case 'boolean':
      return `a boolean (${v})`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

/** JSON null counts as absent, as pydantic's Optional fields treat it. */
export function field(body: Body, name: string): unknown {
  const v = body[name];
  return v === null ? undefined : v;
}

export function optString(body: Body, name: string): string | undefined {
  const v = field(body, name);
  if (v !== undefined && typeof v !== 'string') throw badRequest(`\`${name}\` must be a string, got ${describe(v)}.`);
  return v;
}

export function reqString(body: Body, name: string): string {
  const v = optString(body, name);
  if (v === undefined) throw badRequest(`\`${name}\` is required.`);
  return v;
}

export function optBool(body: Body, name: string): boolean | undefined {
  const v = field(body, name);
  if (v !== undefined && typeof v !== 'boolean') throw badRequest(`\`${name}\` must be a boolean, got ${describe(v)}.`);
  return v;
}

export function optInt(body: Body, name: string, min?: number): number | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badRequest(`\`${name}\` must be an integer, got ${describe(v)}.`);
  if (min !== undefined && v < min) throw badRequest(`\`${name}\` must be at least ${min}, got ${v}.`);
  return v;
}

export function optEnum<T extends string>(body: Body, name: string, values: readonly T[]): T | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !values.includes(v as T)) {
    throw badRequest(`\`${name}\` must be one of ${values.map((x) => `'${x}'`).join(', ')}, got ${describe(v)}.`);
  }
  return v as T;
}


/** The engine the `model` field names; absent or empty means the first one. */
export function pickEngine(call: Call, body: Body): { name: string; engine: EngineApi } {
  const model = optString(body, 'model');
  if (call.engines.size === 0) throw new HttpError(503, 'ServiceUnavailableError', 'No model is loaded yet.');
  if (!model) {
    const [name, engine] = call.engines.entries().next().value as [string, EngineApi];
    return { name, engine };
  }
  const engine = call.engines.get(model);
  if (!engine) throw new HttpError(404, 'NotFoundError', `The model \`${model}\` does not exist.`, 'model');
  return { name: model, engine };
}

export function requireTask(engine: EngineApi, task: Task, api: string): void {
  if (!engine.info.tasks.includes(task)) throw badRequest(`The model does not support ${api} API`);
}

export async function parse(call: Call): Promise<{ body: Body; name: string; engine: EngineApi }> {
  const body = await readJson(call.request, call.maxBodyBytes);
  // vLLM's `request_id` field names the request in its answer (id: "embd-<request_id>").
  const id = optString(body, 'request_id');
  if (id) call.requestId = id;
  const picked = pickEngine(call, body);
  call.model = picked.name;
  return { body, ...picked };
}

/** An optional JSON object field. */
export function optObject(body: Body, name: string): Record<string, unknown> | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`\`${name}\` must be a JSON object, got ${describe(v)}.`);
  return v as Record<string, unknown>;
}
