// The vLLM / OpenAI-compatible HTTP surface as one function, Request → Response. It uses only the
// web-standard Fetch API (Request, Response, Headers, ReadableStream, TextDecoder, crypto), so the
// same module answers inside a Service Worker (pages fetch `/wgpool/v1/embeddings`) and in Node ≥ 20
// behind node:http (./node.ts). Routes, field names and response shapes follow vLLM's server
// (vllm/entrypoints/pooling/*, serve/tokenize, openai/models) so a client written for vLLM works
// against wgpool unchanged. The routes live in ./routes_pooling.ts and ./routes_score.ts, the
// request fields they share in ./inputs.ts; this file routes, answers errors, and runs what vLLM's
// middleware does: CORS (./cors.ts), the API key, request ids and timing headers, and /metrics.
// vLLM fields that wgpool cannot honour and that would change the result are refused with a 400
// naming them (README: compatibility table); fields that cannot change it (`user`, `cache_salt`,
// unknown names) are ignored, as vLLM ignores unknown fields.
//
// Choices where vLLM gives no single answer:
// - An aborted request (client gone, engine disposed) answers 503 ServiceUnavailableError.
// - Rerank returns `document: {"text": …, "multi_modal": null}` as vLLM does; `return_documents:
//   false` (the Cohere / Jina field) omits `document` from each result.
// - /pooling without `task` runs the model's default task (--pooler-config task), else the first
//   of its tasks that /pooling serves.
// - Errors carry vLLM's flat body {"object":"error","message","type","param","code"} (DESIGN.md §4)
//   and the same fields under "error", which newer vLLM and the `openai` client use (errorBody).
// - With an API key, every route but /health, /ping, /load, /version and /metrics needs
//   `Authorization: Bearer <key>`; others answer 401 {"error": "Unauthorized"} (vLLM's
//   AuthenticationMiddleware and its public endpoints). OPTIONS is never guarded (preflights).

import { BadRequestError, WgpoolError } from '../gpu/errors';
import type { EngineApi } from '../router/types';
import { Cors, type CorsOptions } from './cors';
import { Metrics, PROMETHEUS_CONTENT_TYPE } from './metrics';
import { HttpError, isAbort, json, now, randomId, type Call } from './request';
import { classify, detokenize, embeddings, pooling, tokenize } from './routes_pooling';
import { rerank, score } from './routes_score';
import { WGPOOL_VERSION } from './version';

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface HandlerOptions {
  /** Served model name → engine. A function is called per request, so models can come and go. */
  engines: Map<string, EngineApi> | (() => Map<string, EngineApi>);
  /** Prefix every route with this path, e.g. '/wgpool' → '/wgpool/v1/embeddings'. */
  basePath?: string;
  /** Largest accepted request body; larger ones answer 413. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Sees every unexpected error (answered as a 500 whose body carries no details). */
  onError?: (error: unknown, request: Request) => void;
  /** Bearer tokens, any of which opens the guarded routes (vLLM --api-key). None: no auth. */
  apiKeys?: string[];
  /** Cross-origin access (vLLM --allowed-origins / -methods / -headers). None: same origin only. */
  cors?: CorsOptions;
  /** Where /metrics counts; pass one to share it between handlers. Default: a new one. */
  metrics?: Metrics;
}

export type Handler = (request: Request) => Promise<Response>;

// -------------------------------------------------------------------------------------------------
// Routing

type Route = { methods: readonly string[]; run: (call: Call) => Promise<Response> };

const POST = ['POST'] as const;
const GET = ['GET', 'HEAD'] as const;

function routes(metrics: Metrics): Record<string, Route> {
  return {
    '/v1/embeddings': { methods: POST, run: embeddings },
    '/classify': { methods: POST, run: classify },
    '/score': { methods: POST, run: score },
    '/v1/score': { methods: POST, run: score },
    '/rerank': { methods: POST, run: rerank },
    '/v1/rerank': { methods: POST, run: rerank },
    '/v2/rerank': { methods: POST, run: rerank },
    '/pooling': { methods: POST, run: pooling },
    '/tokenize': { methods: POST, run: tokenize },
    '/detokenize': { methods: POST, run: detokenize },
    '/v1/models': { methods: GET, run: async (call) => json(call, modelList(call.engines)) },
    '/health': { methods: GET, run: health },
    '/ping': { methods: ['GET', 'HEAD', 'POST'], run: health },
    '/version': { methods: GET, run: async (call) => json(call, { version: WGPOOL_VERSION }) },
    '/metrics': {
      methods: GET,
      run: async (call) =>
        new Response(call.request.method === 'HEAD' ? null : metrics.render(call.engines), { status: 200, headers: { 'content-type': PROMETHEUS_CONTENT_TYPE } }),
    },
  };
}

/** Reachable without the API key (vLLM's PUBLIC_ENDPOINTS that wgpool serves). */
const PUBLIC_ROUTES = new Set(['/health', '/ping', '/load', '/version', '/metrics']);

/** Build the handler. Every path is matched after removing `basePath`. */
export function createHandler(opts: HandlerOptions): Handler {
  const basePath = normalizeBasePath(opts.basePath);
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new BadRequestError(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  const apiKeys = opts.apiKeys ?? [];
  if (apiKeys.some((k) => typeof k !== 'string' || k.length === 0)) throw new BadRequestError('apiKeys must be non-empty strings.');
  const cors = opts.cors ? new Cors(opts.cors) : null;
  const metrics = opts.metrics ?? new Metrics();
  const table = routes(metrics);

  return async function handle(request: Request): Promise<Response> {
    const started = performance.now();
    const requestId = request.headers.get('x-request-id') || randomId();
    const call: Call = { request, requestId, engines: new Map(), maxBodyBytes };
    const preflight = cors?.preflight(request);
    if (preflight) return preflight;
    let handlerLabel = 'none';
    let response: Response;
    try {
      const path = routePath(new URL(request.url).pathname, basePath);
      const route = Object.prototype.hasOwnProperty.call(table, path) ? table[path] : undefined;
      if (route) handlerLabel = path;
      if (apiKeys.length && request.method !== 'OPTIONS' && !PUBLIC_ROUTES.has(path) && !(await authorized(request, apiKeys))) {
        response = new Response(JSON.stringify({ error: 'Unauthorized' }), { status: 401, headers: { 'content-type': 'application/json' } });
      } else {
        if (!route) throw notFoundRoute(request);
        if (!route.methods.includes(request.method)) {
          throw new HttpError(405, 'MethodNotAllowedError', `Method ${request.method} is not allowed here; use ${route.methods.join(' or ')}.`, null, {
            allow: route.methods.join(', '),
          });
        }
        call.engines = typeof opts.engines === 'function' ? opts.engines() : opts.engines;
        response = await route.run(call);
      }
    } catch (err) {
      const e = toHttpError(err, requestId);
      if (e.status >= 500 && !(err instanceof HttpError) && !isAbort(err)) {
        try {
          opts.onError?.(err, request);
        } catch {
          // A failing logger must not turn the error answer into an unhandled rejection.
        }
      }
      response = errorResponse(e);
    }
    const totalMs = performance.now() - started;
    finish(response, call, totalMs);
    metrics.record({
      handler: handlerLabel,
      method: request.method,
      status: response.status,
      seconds: totalMs / 1000,
      model: call.usage ? modelLabel(call) : undefined,
      queueSeconds: call.metadata ? call.metadata.queueMs / 1000 : undefined,
      batchSize: call.metadata?.batchSize,
      promptTokens: call.usage?.promptTokens,
    });
    return cors ? cors.decorate(request, response) : response;
  };
}

/** The served name of the model a finished call used (the one pickEngine chose). */
function modelLabel(call: Call): string {
  return call.model ?? 'unknown';
}

/**
 * `Authorization: Bearer <key>` against every key, comparing SHA-256 digests so the time taken does
 * not depend on how much of a key matched (vLLM hashes and uses compare_digest the same way).
 */
async function authorized(request: Request, keys: string[]): Promise<boolean> {
  const header = request.headers.get('authorization');
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') return false;
  const given = await digest(header.slice(space + 1));
  let ok = false;
  for (const k of keys) ok = constantTimeEqual(given, await digest(k)) || ok;
  return ok;
}

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)));
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function normalizeBasePath(p: string | undefined): string {
  if (!p || p === '/') return '';
  if (!p.startsWith('/')) throw new BadRequestError(`basePath must start with '/', got '${p}'`);
  return p.replace(/\/+$/, '');
}

/** The route part of a path: basePath removed, trailing slash dropped; '' when outside basePath. */
function routePath(pathname: string, basePath: string): string {
  let path = pathname;
  if (basePath) {
    if (path !== basePath && !path.startsWith(basePath + '/')) return '';
    path = path.slice(basePath.length);
  }
  if (path.length > 1) path = path.replace(/\/$/, '');
  return path;
}

function notFoundRoute(request: Request): HttpError {
  return new HttpError(404, 'NotFoundError', `Route ${new URL(request.url).pathname} does not exist.`);
}

// -------------------------------------------------------------------------------------------------
// Responses

/**
 * The error body: vLLM's flat ErrorResponse (object/message/type/param/code, DESIGN.md §4) plus the
 * same fields nested under `error`, the shape current vLLM and OpenAI send and the one the official
 * `openai` client reads (with only the flat fields it reports "400 status code (no body)").
 */
export function errorBody(status: number, type: string, message: string, param: string | null = null) {
  return { object: 'error', message, type, param, code: status, error: { message, type, param, code: status } };
}

function errorResponse(e: HttpError): Response {
  return new Response(JSON.stringify(errorBody(e.status, e.type, e.message, e.param)), {
    status: e.status,
    headers: { 'content-type': 'application/json', ...e.headers },
  });
}

/**
 * A body's `request_id` may hold any Unicode; a header value may hold only visible ASCII (node:http
 * and the Fetch API throw on anything else — after the answer was computed). Other characters are
 * sent as %uXXXX; the JSON body keeps the id as given.
 */
function headerSafe(id: string): string {
  return id.slice(0, 256).replace(/[^\x20-\x7e]/g, (c) => `%u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Add the request id and timing headers (Server-Timing plus plain x-wgpool-* numbers). */
function finish(response: Response, call: Call, totalMs: number): Response {
  const h = response.headers;
  h.set('x-request-id', headerSafe(call.requestId));
  const timing: string[] = [];
  const m = call.metadata;
  if (m) {
    const parts: [string, number][] = [
      ['queue', m.queueMs],
      ['tokenize', m.tokenizeMs],
      ['inference', m.inferenceMs],
    ];
    for (const [name, ms] of parts) {
      if (!Number.isFinite(ms)) continue;
      h.set(`x-wgpool-${name}-ms`, ms.toFixed(2));
      timing.push(`${name};dur=${ms.toFixed(2)}`);
    }
    if (Number.isFinite(m.batches)) h.set('x-wgpool-batches', String(m.batches));
    if (Number.isFinite(m.batchSize)) h.set('x-wgpool-batch-size', String(m.batchSize));
  }
  h.set('x-wgpool-total-ms', totalMs.toFixed(2));
  timing.push(`total;dur=${totalMs.toFixed(2)}`);
  h.set('server-timing', timing.join(', '));
  return response;
}

function toHttpError(err: unknown, requestId: string): HttpError {
  if (err instanceof HttpError) return err;
  if (isWgpoolLike(err)) return new HttpError(err.status, err.type, err.message);
  if (isAbort(err)) return new HttpError(503, 'ServiceUnavailableError', 'The request was aborted before it finished.');
  return new HttpError(500, 'InternalServerError', `Internal server error (request id ${requestId}).`);
}

/**
 * WgpoolError, or an error that carries the same `status` + `type` pair after crossing a worker
 * boundary (structured clone drops the prototype).
 */
function isWgpoolLike(err: unknown): err is Error & { status: number; type: string } {
  if (err instanceof WgpoolError) return true;
  if (!(err instanceof Error)) return false;
  const { status, type } = err as Error & { status?: unknown; type?: unknown };
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 && typeof type === 'string';
}

/** GET /v1/models — OpenAI's model list with vLLM's ModelCard fields. */
function modelList(engines: Map<string, EngineApi>) {
  const created = now();
  return {
    object: 'list',
    data: [...engines].map(([id, engine]) => ({
      id,
      object: 'model',
      created,
      owned_by: 'wgpool',
      root: engine.info.model,
      parent: null,
      max_model_len: engine.info.maxLength,
      permission: [
        {
          id: `modelperm-${randomId()}`,
          object: 'model_permission',
          created,
          allow_create_engine: false,
          allow_sampling: true,
          allow_logprobs: true,
          allow_search_indices: false,
          allow_view: true,
          allow_fine_tuning: false,
          organization: '*',
          group: null,
          is_blocking: false,
        },
      ],
    })),
  };
}

/** GET /health (and /ping): 200 with an empty body once a model is loaded. */
async function health(call: Call): Promise<Response> {
  if (call.engines.size === 0) throw new HttpError(503, 'ServiceUnavailableError', 'No model is loaded yet.');
  return new Response(null, { status: 200 });
}
