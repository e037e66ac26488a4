import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { FakeEngine } from './fake_engine';
import { serve, type RunningServer } from './node';
import type { EngineApi } from '../router/types';

const LIMIT = 2048;

/** A raw node:http request, so headers and chunking are exactly what the test says. */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; chunks?: string[] },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'POST', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const c of opts.chunks ?? []) req.write(c);
    req.end();
  });
}

describe('serve() on node:http', () => {
  const fake = new FakeEngine({ model: 'org/fake' });
  const slow = new FakeEngine({ model: 'org/slow', delayMs: 400 });
  const lines: string[] = [];
  let server: RunningServer;

  beforeAll(async () => {
    server = await serve({
      engines: new Map<string, EngineApi>([
        ['fake', fake],
        ['slow', slow],
      ]),
      port: 0,
      maxBodyBytes: LIMIT,
      log: (l) => lines.push(l),
    });
  });
  afterAll(() => server.close());

  it('listens on loopback and serves routes through fetch', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(server.url + '/health');
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');

    const r = await fetch(server.url + '/v1/embeddings', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'node-1' },
      body: JSON.stringify({ input: ['hello world'] }),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toBe('node-1');
    const text = await r.text();
    expect(r.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    const body = JSON.parse(text);
    expect(body.id).toBe('embd-node-1');
    expect(body.data[0].embedding).toStrictEqual(Array.from(fake.vector(fake.ids('hello world'), 8, true)));

    const models = await (await fetch(server.url + '/v1/models')).json();
    expect(models.data.map((m: { id: string }) => m.id)).toStrictEqual(['fake', 'slow']);

    const bad = await fetch(server.url + '/rerank', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "q", "documents": 3}' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).type).toBe('BadRequestError');

    expect(lines).toContain(lines.find((l) => /^POST \/v1\/embeddings 200 \d+\.\dms$/.test(l)));
  });

  it('accepts a body of exactly maxBodyBytes, chunked or not', async () => {
    const json = JSON.stringify({ input: 'edge' });
    const body = json + ' '.repeat(LIMIT - json.length);
    expect(Buffer.byteLength(body)).toBe(LIMIT);
    const plain = await raw(server.url + '/v1/embeddings', { headers: { 'content-type': 'application/json', 'content-length': String(LIMIT) }, chunks: [body] });
    expect(plain.status).toBe(200);
    const chunked = await raw(server.url + '/v1/embeddings', {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks: [body.slice(0, 1000), body.slice(1000)],
    });
    expect(chunked.status).toBe(200);
  });

  it('answers 413 for an oversized body, with and without Content-Length, and closes that connection', async () => {
    const body = JSON.stringify({ input: 'x'.repeat(LIMIT) });
    const message = `The request body is larger than the limit of ${LIMIT} bytes.`;
    const fields = { message, type: 'PayloadTooLargeError', param: null, code: 413 };
    const error = { object: 'error', ...fields, error: fields };

    const declared = await fetch(server.url + '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toStrictEqual(error);

    const chunks = Array.from({ length: 6 }, (_, i) => body.slice(i * 500, (i + 1) * 500)).filter(Boolean);
    const chunked = await raw(server.url + '/v1/embeddings', { headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks });
    expect(chunked.status).toBe(413);
    expect(chunked.headers.connection).toBe('close');
    expect(JSON.parse(chunked.body)).toStrictEqual(error);

    // A streamed fetch body has no Content-Length either.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const part of chunks) c.enqueue(new TextEncoder().encode(part));
        c.close();
      },
    });
    const init: RequestInit & { duplex: 'half' } = { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' };
    const streamed = await fetch(server.url + '/v1/embeddings', init);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toStrictEqual(error);

    // The server is still fine.
    expect((await fetch(server.url + '/health')).status).toBe(200);
  });

  it('aborts the engine call when the client goes away', async () => {
    const before = slow.calls.length;
    const ac = new AbortController();
    const pending = fetch(server.url + '/v1/embeddings', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'slow', input: 'bye' }),
      signal: ac.signal,
    });
    while (slow.calls.length === before) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await expect(pending).rejects.toThrow();
    const signal = (slow.calls.at(-1)!.opts as { signal: AbortSignal }).signal;
    for (let i = 0; i < 100 && !signal.aborted; i++) await new Promise((r) => setTimeout(r, 5));
    expect(signal.aborted).toBe(true);
  });
});

describe('serve().close()', () => {
  it('stops accepting, finishes in-flight requests, then resolves', async () => {
    const slow = new FakeEngine({ delayMs: 300 });
    const server = await serve({ engines: new Map([['slow', slow]]), port: 0 });
    // A keep-alive connection left idle by an earlier request must not hold close() open.
    expect((await fetch(server.url + '/health')).status).toBe(200);

    const inFlight = fetch(server.url + '/v1/embeddings', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'still running' }),
    });
    while (slow.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    const engineStarted = performance.now();

    let closedAt = 0;
    const closing = server.close().then(() => (closedAt = performance.now()));
    expect(server.close()).toBe(server.close());
    await new Promise((r) => setTimeout(r, 20));
    await expect(fetch(server.url + '/health')).rejects.toThrow();

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect((await res.json()).data[0].embedding).toHaveLength(8);
    await closing;
    // close() waited for the engine's 300 ms, which had barely begun when it was called.
    expect(closedAt - engineStarted).toBeGreaterThanOrEqual(280);
  });

  it('rejects when the port is taken', async () => {
    const a = await serve({ engines: new Map(), port: 0 });
    const port = Number(new URL(a.url).port);
    await expect(serve({ engines: new Map(), port })).rejects.toThrow(/EADDRINUSE/);
    await a.close();
  });
});
