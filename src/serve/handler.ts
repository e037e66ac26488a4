// The vLLM / OpenAI-compatible HTTP surface as one function, Request → Response. It uses only the
// web-standard Fetch API (Request, Response, Headers, ReadableStream, TextDecoder, crypto), so the
// same module answers inside a Service Worker (pages fetch `/wgpool/v1/embeddings`) and in Node ≥ 20
// behind node:http (./node.ts). Routes, field names and response shapes follow vLLM's server
// (vllm/entrypoints/pooling/*, serve/tokenize, openai/models) so a client written for vLLM works
// against wgpool unchanged. vLLM fields that wgpool cannot honour and that would change the result
// are rejected with a 400 (token-id input, chat `messages`, `add_special_tokens: false`, a non-float32
// `embed_dtype`, score `instruction` / per-side token limits); fields that cannot change it
// (`user`, `cache_salt`, unknown names) are ignored, as vLLM ignores unknown fields.
//
// Choices where vLLM gives no single answer:
// - Token-id input (`input: [101, 2023]`) is rejected with a 400: the engine takes text, and
//   detokenize → re-tokenize is not an identity (special tokens, normalization), so silently
//   converting would change the result.
// - An aborted request (client gone, engine disposed) answers 503 ServiceUnavailableError.
// - Rerank returns `document: {"text": …, "multi_modal": null}` as vLLM does; `return_documents:
//   false` (the Cohere / Jina field) omits `document` from each result.
// - /pooling without `task` runs the first of the model's tasks that /pooling serves.
// - Errors carry vLLM's flat body {"object":"error","message","type","param","code"} (DESIGN.md §4)
//   and the same fields under "error", which newer vLLM and the `openai` client use (errorBody).

import { WgpoolError } from '../gpu/errors';
import { checkTaskParams } from '../router/params';
import type { CommonOptions, EncodingFormat, EngineApi, RequestMetadata, Task, Usage } from '../router/types';

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
}

export type Handler = (request: Request) => Promise<Response>;

/** An error that is already an HTTP answer. */
class HttpError extends Error {
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

const badRequest = (message: string) => new HttpError(400, 'BadRequestError', message);

// -------------------------------------------------------------------------------------------------
// Routing

interface Call {
  request: Request;
  requestId: string;
  engines: Map<string, EngineApi>;
  maxBodyBytes: number;
  /** Timing of the engine call, copied into response headers. */
  metadata?: RequestMetadata;
}

type Route = { methods: readonly string[]; run: (call: Call) => Promise<Response> };

const POST = ['POST'] as const;
const GET = ['GET', 'HEAD'] as const;

const ROUTES: Record<string, Route> = {
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
};

/** Build the handler. Every path is matched after removing `basePath`. */
export function createHandler(opts: HandlerOptions): Handler {
  const basePath = normalizeBasePath(opts.basePath);
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new Error(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);

  return async function handle(request: Request): Promise<Response> {
    const started = performance.now();
    const requestId = request.headers.get('x-request-id') || randomId();
    const call: Call = { request, requestId, engines: new Map(), maxBodyBytes };
    let response: Response;
    try {
      const route = matchRoute(new URL(request.url).pathname, basePath);
      if (!route.methods.includes(request.method)) {
        throw new HttpError(405, 'MethodNotAllowedError', `Method ${request.method} is not allowed here; use ${route.methods.join(' or ')}.`, null, {
          allow: route.methods.join(', '),
        });
      }
      call.engines = typeof opts.engines === 'function' ? opts.engines() : opts.engines;
      response = await route.run(call);
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
    return finish(response, call, performance.now() - started);
  };
}

function normalizeBasePath(p: string | undefined): string {
  if (!p || p === '/') return '';
  if (!p.startsWith('/')) throw new Error(`basePath must start with '/', got '${p}'`);
  return p.replace(/\/+$/, '');
}

function matchRoute(pathname: string, basePath: string): Route {
  let path = pathname;
  if (basePath) {
    if (path !== basePath && !path.startsWith(basePath + '/')) throw notFoundRoute(pathname);
    path = path.slice(basePath.length);
  }
  if (path.length > 1) path = path.replace(/\/$/, '');
  const route = Object.prototype.hasOwnProperty.call(ROUTES, path) ? ROUTES[path] : undefined;
  if (!route) throw notFoundRoute(pathname);
  return route;
}

function notFoundRoute(pathname: string): HttpError {
  return new HttpError(404, 'NotFoundError', `Route ${pathname} does not exist.`);
}

// -------------------------------------------------------------------------------------------------
// Responses

function json(call: Call, body: unknown, status = 200): Response {
  return new Response(call.request.method === 'HEAD' ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

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

/** Add the request id and timing headers (Server-Timing plus plain x-wgpool-* numbers). */
function finish(response: Response, call: Call, totalMs: number): Response {
  const h = response.headers;
  h.set('x-request-id', call.requestId);
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

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

function randomId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

const now = () => Math.floor(Date.now() / 1000);

/** vLLM's UsageInfo. */
function usageInfo(u: Usage) {
  return { prompt_tokens: u.promptTokens, total_tokens: u.totalTokens, completion_tokens: 0, prompt_tokens_details: null };
}

// -------------------------------------------------------------------------------------------------
// Request bodies and fields

type Body = Record<string, unknown>;

/** Read the body as JSON, counting bytes as they arrive so an oversized body is never buffered. */
async function readJson(request: Request, maxBytes: number): Promise<Body> {
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

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'PayloadTooLargeError', `The request body is larger than the limit of ${maxBytes} bytes.`);
}

/** A JSON value named for an error message: `a string ("x")`, `a number (3)`, `an array`, … */
function describe(v: unknown): string {
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
function field(body: Body, name: string): unknown {
  const v = body[name];
  return v === null ? undefined : v;
}

function optString(body: Body, name: string): string | undefined {
  const v = field(body, name);
  if (v !== undefined && typeof v !== 'string') throw badRequest(`\`${name}\` must be a string, got ${describe(v)}.`);
  return v;
}

function reqString(body: Body, name: string): string {
  const v = optString(body, name);
  if (v === undefined) throw badRequest(`\`${name}\` is required.`);
  return v;
}

function optBool(body: Body, name: string): boolean | undefined {
  const v = field(body, name);
  if (v !== undefined && typeof v !== 'boolean') throw badRequest(`\`${name}\` must be a boolean, got ${describe(v)}.`);
  return v;
}

function optInt(body: Body, name: string, min?: number): number | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badRequest(`\`${name}\` must be an integer, got ${describe(v)}.`);
  if (min !== undefined && v < min) throw badRequest(`\`${name}\` must be at least ${min}, got ${v}.`);
  return v;
}

function optEnum<T extends string>(body: Body, name: string, values: readonly T[]): T | undefined {
  const v = field(body, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !values.includes(v as T)) {
    throw badRequest(`\`${name}\` must be one of ${values.map((x) => `'${x}'`).join(', ')}, got ${describe(v)}.`);
  }
  return v as T;
}

/** `input`: a string or a non-empty list of strings. Token ids are refused (see the file header). */
function readTexts(body: Body, name: string): string[] {
  const v = field(body, name);
  if (v === undefined) throw badRequest(`\`${name}\` is required.`);
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw badRequest(`\`${name}\` must be a string or a list of strings, got ${describe(v)}.`);
  if (v.length === 0) throw badRequest(`\`${name}\` must not be an empty list.`);
  if (v.every((x) => typeof x === 'number') || v.every((x) => Array.isArray(x) && x.every((y) => typeof y === 'number'))) {
    throw badRequest(`\`${name}\` as token ids is not supported by wgpool; send the text as a string or a list of strings.`);
  }
  v.forEach((x, i) => {
    if (typeof x !== 'string') throw badRequest(`\`${name}\` must be a string or a list of strings; item ${i} is ${describe(x)}.`);
  });
  return v as string[];
}

/** Fields every pooling route shares; `user` is type-checked and otherwise ignored, as in vLLM. */
function commonOptions(call: Call, body: Body): CommonOptions {
  optString(body, 'user');
  if (field(body, 'messages') !== undefined) throw badRequest('Chat-style `messages` input is not supported by wgpool; send text.');
  if (optBool(body, 'add_special_tokens') === false) throw badRequest('`add_special_tokens: false` is not supported by wgpool for pooling requests.');
  return {
    truncatePromptTokens: optInt(body, 'truncate_prompt_tokens', -1),
    truncationSide: optEnum(body, 'truncation_side', ['left', 'right'] as const),
    priority: optInt(body, 'priority'),
    signal: call.request.signal,
  };
}

/** The engine the `model` field names; absent or empty means the first one. */
function pickEngine(call: Call, body: Body): { name: string; engine: EngineApi } {
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

function requireTask(engine: EngineApi, task: Task, api: string): void {
  if (!engine.info.tasks.includes(task)) throw badRequest(`The model does not support ${api} API`);
}

async function parse(call: Call): Promise<{ body: Body; name: string; engine: EngineApi }> {
  const body = await readJson(call.request, call.maxBodyBytes);
  return { body, ...pickEngine(call, body) };
}

// -------------------------------------------------------------------------------------------------
// Embedding encodings

/** float32 bytes in the asked byte order ('native' is little-endian on every platform WebGPU runs on). */
function base64Floats(values: ArrayLike<number>, endianness: 'native' | 'little' | 'big'): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  const little = endianness !== 'big';
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], little);
  return base64(bytes);
}

function base64(bytes: Uint8Array): string {
  let s = '';
  // String.fromCharCode takes its arguments on the stack: go in slices well under engines' limits.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Sign bits packed 8 per byte, MSB first, last byte zero-padded (numpy packbits, as
 * sentence-transformers quantize_embeddings does); binary is ubinary − 128. Used when an engine
 * hands back floats for a binary request instead of packing on the GPU.
 */
function packBits(values: Float32Array, signed: boolean): number[] {
  const out: number[] = new Array(Math.ceil(values.length / 8)).fill(0);
  for (let i = 0; i < values.length; i++) if (values[i] > 0) out[i >> 3] |= 0x80 >> (i & 7);
  return signed ? out.map((b) => b - 128) : out;
}

function embeddingOnWire(e: Float32Array | string | Uint8Array | Int8Array, format: EncodingFormat, endianness: 'native' | 'little' | 'big'): number[] | string {
  if (typeof e === 'string') return e;
  if (e instanceof Float32Array) {
    if (format === 'float') return Array.from(e);
    if (format === 'base64') return base64Floats(e, endianness);
    return packBits(e, format === 'binary');
  }
  return Array.from(e);
}

// -------------------------------------------------------------------------------------------------
// Routes

/** POST /v1/embeddings — OpenAI EmbeddingRequest plus vLLM's extra fields. */
async function embeddings(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  requireTask(engine, 'embed', 'Embeddings');
  const common = commonOptions(call, body);
  const texts = readTexts(body, 'input');
  const format = optEnum(body, 'encoding_format', ['float', 'base64', 'binary', 'ubinary'] as const) ?? 'float';
  const endianness = optEnum(body, 'endianness', ['native', 'little', 'big'] as const) ?? 'native';
  optEnum(body, 'embed_dtype', ['float32'] as const);
  const result = await engine.embed(texts, {
    ...common,
    dimensions: optInt(body, 'dimensions'),
    useActivation: optBool(body, 'use_activation'),
    normalize: optBool(body, 'normalize'),
    promptName: optString(body, 'prompt_name'),
    // base64 is a transport encoding of the floats: done here, where the byte order is chosen.
    encodingFormat: format === 'binary' || format === 'ubinary' ? format : 'float',
  });
  call.metadata = result.metadata;
  return json(call, {
    id: `embd-${call.requestId}`,
    object: 'list',
    created: now(),
    model: name,
    data: result.embeddings.map((e, index) => ({ index, object: 'embedding', embedding: embeddingOnWire(e, format, endianness) })),
    usage: usageInfo(result.usage),
  });
}

/** POST /classify */
async function classify(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  requireTask(engine, 'classify', 'Classification');
  const common = commonOptions(call, body);
  const texts = readTexts(body, 'input');
  const result = await engine.classify(texts, { ...common, useActivation: optBool(body, 'use_activation') });
  call.metadata = result.metadata;
  return json(call, {
    id: `classify-${call.requestId}`,
    object: 'list',
    created: now(),
    model: name,
    data: result.data.map((d) => ({ index: d.index, label: d.label, probs: d.probs, num_classes: d.numClasses })),
    usage: usageInfo(result.usage),
  });
}

/** The field pairs vLLM's ScoreRequest accepts, newest names first. */
const SCORE_PAIRS = [
  ['queries', 'documents'],
  ['queries', 'items'],
  ['data_1', 'data_2'],
  ['text_1', 'text_2'],
] as const;

/** One side of a score request: a string or a non-empty list of strings. */
function scoreSide(body: Body, name: string): string[] {
  const v = field(body, name);
  if (v === undefined) throw badRequest(`\`${name}\` is required.`);
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw badRequest(`\`${name}\` must be a string or a list of strings, got ${describe(v)}.`);
  v.forEach((x, i) => {
    if (typeof x !== 'string') throw badRequest(`\`${name}\` must be a string or a list of strings; item ${i} is ${describe(x)}.`);
  });
  return v as string[];
}

/** Score / rerank fields of vLLM's ScoringRequest that wgpool does not implement. */
function rejectScoringExtras(body: Body): void {
  for (const name of ['max_tokens_per_query', 'max_tokens_per_doc'] as const) {
    if ((optInt(body, name, 0) ?? 0) > 0) throw badRequest(`\`${name}\` is not supported by wgpool; use \`truncate_prompt_tokens\`.`);
  }
  if (optString(body, 'instruction') !== undefined || field(body, 'chat_template_kwargs') !== undefined) {
    throw badRequest('Score instructions and chat templates (`instruction`, `chat_template_kwargs`) are not supported by wgpool.');
  }
}

/** vLLM's pairing rule and wording (validate_score_input). */
function checkPairing(a: string[], b: string[]): void {
  if (a.length === 0 || b.length === 0) throw badRequest('At least one text element must be given');
  if (a.length > 1 && a.length !== b.length) throw badRequest('Input lengths must be either 1:1, 1:N or N:N');
}

/** POST /score, /v1/score */
async function score(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  requireTask(engine, 'score', 'Score');
  const common = commonOptions(call, body);
  rejectScoringExtras(body);
  const pair = SCORE_PAIRS.find(([k1, k2]) => field(body, k1) !== undefined && field(body, k2) !== undefined) ??
    SCORE_PAIRS.find(([k1, k2]) => field(body, k1) !== undefined || field(body, k2) !== undefined);
  if (!pair) throw badRequest('Send `queries` and `documents` (or `text_1` and `text_2`) to score.');
  const a = scoreSide(body, pair[0]);
  const b = scoreSide(body, pair[1]);
  checkPairing(a, b);
  const result = await engine.score(a, b, { ...common, useActivation: optBool(body, 'use_activation') });
  call.metadata = result.metadata;
  return json(call, {
    id: `score-${call.requestId}`,
    object: 'list',
    created: now(),
    model: name,
    data: result.scores.map((s, index) => ({ index, object: 'score', score: s })),
    usage: usageInfo(result.usage),
  });
}

/** Rerank documents: strings, or objects with a `text` string (Cohere / Jina style). */
function rerankDocuments(body: Body): string[] {
  const v = field(body, 'documents');
  if (v === undefined) throw badRequest('`documents` is required.');
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw badRequest(`\`documents\` must be a list of strings or of objects with a \`text\` string, got ${describe(v)}.`);
  if (list.length === 0) throw badRequest('`documents` must not be an empty list.');
  return list.map((d, i) => {
    if (typeof d === 'string') return d;
    if (typeof d === 'object' && d !== null && !Array.isArray(d) && typeof (d as Body).text === 'string') return (d as Body).text as string;
    throw badRequest(`\`documents\` item ${i} must be a string or an object with a \`text\` string, got ${describe(d)}.`);
  });
}

/** POST /rerank, /v1/rerank, /v2/rerank */
async function rerank(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  requireTask(engine, 'score', 'Rerank');
  const common = commonOptions(call, body);
  rejectScoringExtras(body);
  const query = reqString(body, 'query');
  const documents = rerankDocuments(body);
  const topN = optInt(body, 'top_n', 0) || documents.length;
  const returnDocuments = optBool(body, 'return_documents') ?? true;
  const result = await engine.rerank(query, documents, {
    ...common,
    useActivation: optBool(body, 'use_activation'),
    topN: Math.min(topN, documents.length),
    returnDocuments,
  });
  call.metadata = result.metadata;
  const results = [...result.results].sort((x, y) => y.relevanceScore - x.relevanceScore).slice(0, topN);
  return json(call, {
    id: `rerank-${call.requestId}`,
    model: name,
    usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
    results: results.map((r) =>
      returnDocuments
        ? { index: r.index, document: { text: documents[r.index], multi_modal: null }, relevance_score: r.relevanceScore }
        : { index: r.index, relevance_score: r.relevanceScore },
    ),
  });
}

const POOLING_TASKS = ['embed', 'classify', 'token_embed', 'token_classify'] as const;
type PoolingTask = (typeof POOLING_TASKS)[number];

function poolingTask(body: Body, engine: EngineApi): PoolingTask {
  const v = field(body, 'task');
  if (v === undefined) {
    const t = engine.info.tasks.find((x): x is PoolingTask => (POOLING_TASKS as readonly string[]).includes(x));
    if (!t) throw badRequest('The model does not support Pooling API');
    return t;
  }
  if (v === 'encode') throw badRequest("Task 'encode' was removed; use 'token_embed' or 'token_classify'.");
  if (v === 'score') throw badRequest("Task 'score' is served by /score and /rerank, not /pooling.");
  if (typeof v !== 'string' || !(POOLING_TASKS as readonly string[]).includes(v)) {
    throw badRequest(`\`task\` must be one of ${POOLING_TASKS.map((x) => `'${x}'`).join(', ')}, got ${describe(v)}.`);
  }
  if (!engine.info.tasks.includes(v as Task)) {
    throw badRequest(`Task '${v}' is not supported by model "${engine.info.model}"; it serves ${engine.info.tasks.map((x) => `'${x}'`).join(', ')}.`);
  }
  return v as PoolingTask;
}

/** POST /pooling — the raw pooler output of any pooling task. */
async function pooling(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  const task = poolingTask(body, engine);
  const common = commonOptions(call, body);
  const texts = readTexts(body, 'input');
  const format = optEnum(body, 'encoding_format', ['float', 'base64'] as const) ?? 'float';
  const endianness = optEnum(body, 'endianness', ['native', 'little', 'big'] as const) ?? 'native';
  optEnum(body, 'embed_dtype', ['float32'] as const);
  const dimensions = optInt(body, 'dimensions');
  const useActivation = optBool(body, 'use_activation');
  checkTaskParams(task, { dimensions, use_activation: useActivation });
  let outputs: (Float32Array | number[] | Float32Array[])[];
  let usage: Usage;
  if (task === 'embed') {
    const r = await engine.embed(texts, { ...common, dimensions, useActivation, encodingFormat: 'float' });
    outputs = r.embeddings.map((e) => {
      if (!(e instanceof Float32Array)) throw new Error('The engine returned a non-float embedding for encodingFormat "float".');
      return e;
    });
    usage = r.usage;
    call.metadata = r.metadata;
  } else if (task === 'classify') {
    const r = await engine.classify(texts, { ...common, useActivation });
    outputs = r.data.map((d) => d.probs);
    usage = r.usage;
    call.metadata = r.metadata;
  } else {
    const r = await engine.encode(texts, { ...common, task, dimensions, useActivation });
    outputs = r.data;
    usage = r.usage;
    call.metadata = r.metadata;
  }
  const wire = (o: Float32Array | number[] | Float32Array[]): number[] | number[][] | string => {
    const rows = Array.isArray(o) && o.length > 0 && o[0] instanceof Float32Array ? (o as Float32Array[]) : null;
    if (format === 'base64') {
      if (!rows) return base64Floats(o as ArrayLike<number>, endianness);
      // Per-token rows go out as one flat [tokens × width] float32 buffer.
      const flat = new Float32Array(rows.reduce((s, r) => s + r.length, 0));
      let at = 0;
      for (const r of rows) {
        flat.set(r, at);
        at += r.length;
      }
      return base64Floats(flat, endianness);
    }
    return rows ? rows.map((r) => Array.from(r)) : Array.from(o as ArrayLike<number>);
  };
  return json(call, {
    id: `pool-${call.requestId}`,
    object: 'list',
    created: now(),
    model: name,
    data: outputs.map((o, index) => ({ index, object: 'pooling', data: wire(o) })),
    usage: usageInfo(usage),
  });
}

/** POST /tokenize */
async function tokenize(call: Call): Promise<Response> {
  const { body, engine } = await parse(call);
  if (field(body, 'messages') !== undefined) throw badRequest('Chat-style `messages` input is not supported by wgpool; send `prompt`.');
  const prompt = reqString(body, 'prompt');
  const returnTokenStrs = optBool(body, 'return_token_strs') ?? false;
  const r = engine.tokenize(prompt, { addSpecialTokens: optBool(body, 'add_special_tokens') ?? true, returnTokenStrs });
  return json(call, { count: r.count, max_model_len: r.maxModelLen, tokens: r.tokens, token_strs: returnTokenStrs ? (r.tokenStrs ?? null) : null });
}

/** POST /detokenize */
async function detokenize(call: Call): Promise<Response> {
  const { body, engine } = await parse(call);
  const tokens = field(body, 'tokens');
  if (tokens === undefined) throw badRequest('`tokens` is required.');
  if (!Array.isArray(tokens)) throw badRequest(`\`tokens\` must be a list of token ids, got ${describe(tokens)}.`);
  tokens.forEach((t, i) => {
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw badRequest(`\`tokens\` item ${i} must be a non-negative integer, got ${describe(t)}.`);
  });
  return json(call, { prompt: engine.detokenize(tokens as number[]) });
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
