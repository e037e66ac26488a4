// The HTTP handler (./handler.ts) on node:http, for `wgpool serve` and tests: IncomingMessage is
// turned into a web Request whose body streams from the socket (the handler counts the bytes and
// stops at maxBodyBytes, so an oversized body is never buffered), the web Response is written back,
// and close() is graceful — stop accepting, let in-flight requests finish, then resolve.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { abortError } from '../gpu/errors';
import type { EngineApi } from '../router/types';
import type { CorsOptions } from './cors';
import { createHandler, errorBody } from './handler';

export interface ServeOptions {
  /** Served model name → engine. */
  engines: Map<string, EngineApi>;
  /** Default 127.0.0.1: loopback only. */
  host?: string;
  /** Default 8000 (vLLM's); 0 picks a free port. */
  port?: number;
  maxBodyBytes?: number;
  /** Serve every route under this prefix, e.g. '/wgpool'. */
  basePath?: string;
  /** One line per request, and the details of unexpected errors. */
  log?: (line: string) => void;
  /** Bearer tokens that open every route but the public ones (vLLM --api-key). */
  apiKeys?: string[];
  /** Cross-origin access (vLLM --allowed-origins / -methods / -headers). */
  cors?: CorsOptions;
  /** How long close() lets in-flight requests run before it cuts their connections. Default 30 s. */
  closeTimeoutMs?: number;
}

export interface RunningServer {
  /** Origin the server listens on, e.g. http://127.0.0.1:8000 (routes hang under basePath). */
  url: string;
  /** Stop accepting, finish in-flight requests, then resolve. Idempotent. */
  close(): Promise<void>;
}

/** Connection-level headers that describe this hop, not the request. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log;
  const handler = createHandler({
    engines: opts.engines,
    basePath: opts.basePath,
    maxBodyBytes: opts.maxBodyBytes,
    apiKeys: opts.apiKeys,
    cors: opts.cors,
    onError: (err, request) => log?.(`error in ${request.method} ${new URL(request.url).pathname}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  });

  let origin = '';
  let closing = false;

  async function answer(req: IncomingMessage, signal: AbortSignal): Promise<Response> {
    let request: Request;
    try {
      request = toRequest(req, origin, signal);
    } catch {
      return errorJson(400, 'BadRequestError', `Malformed request target: ${JSON.stringify(req.url)}`);
    }
    return handler(request);
  }

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const ac = new AbortController();
    // 'close' before the response finished means the client went away: cancel its queued work.
    res.on('close', () => {
      if (!res.writableFinished) ac.abort(abortError('The client closed the connection.'));
    });
    const response = closing ? errorJson(503, 'ServiceUnavailableError', 'The server is shutting down.') : await answer(req, ac.signal);
    // Close the connection after a 413 (the rest of the body is not read) and while shutting down.
    await write(req, res, response, closing || response.status === 413);
    log?.(`${req.method} ${req.url} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`);
  }

  const server = createServer((req, res) => {
    respond(req, res).catch((err) => {
      log?.(`error writing the response to ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  origin = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;

  let closed: Promise<void> | null = null;
  return {
    url: origin,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        closing = true;
        // server.close stops listening and calls back once every connection has ended; idle
        // keep-alive sockets are closed now, busy ones after their response (sent with
        // Connection: close while closing).
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), opts.closeTimeoutMs ?? 30_000);
        timer.unref();
      });
      return closed;
    },
  };
}

/** A web Request for an IncomingMessage; the body streams with backpressure. */
function toRequest(req: IncomingMessage, origin: string, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP.has(name)) headers.append(name, req.rawHeaders[i + 1]);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  // `duplex: 'half'` is required by Node's fetch for a streamed body; lib.dom does not know it yet.
  const init: RequestInit & { duplex: 'half' } = { method, headers, signal, body: hasBody ? bodyStream(req) : null, duplex: 'half' };
  return new Request(origin + (req.url ?? '/'), init);
}

function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          if (done) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.on('end', () => {
          if (!done) controller.close();
          done = true;
        });
        req.on('error', (err) => {
          if (!done) controller.error(err);
          done = true;
        });
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        // The handler stopped reading (body too large): discard the rest rather than destroying
        // the socket, which would take the 413 answer down with it.
        done = true;
        req.removeAllListeners('data');
        req.resume();
      },
    },
    { highWaterMark: 4 },
  );
}

async function write(req: IncomingMessage, res: ServerResponse, response: Response, closeConnection: boolean): Promise<void> {
  const body = req.method === 'HEAD' || response.body === null ? null : Buffer.from(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (body) headers['content-length'] = String(body.byteLength);
  if (closeConnection) headers.connection = 'close';
  if (res.destroyed) return;
  res.writeHead(response.status, headers);
  res.end(body ?? undefined);
}

function errorJson(status: number, type: string, message: string): Response {
  return new Response(JSON.stringify(errorBody(status, type, message)), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
