// A hub-like HTTP server on loopback (real sockets) over test/fixtures/models, for load tests:
//   GET /api/models/<org>/<name>/revision/<rev>[?blobs=true]  the model API: {id, sha, siblings}
//   GET|HEAD /<org>/<name>/resolve/<rev>/<file>                302 → /cdn/<name>/<file>
//   GET|HEAD /cdn/<name>/<file>                                 the bytes, with Content-Length and ETag
//   GET|HEAD /static/<name>/<file>                              a static host with an SPA fallback:
//                                                               unknown paths → 200 index.html
// Modes (set `mode` between requests): 'normal'; '404' (resolve/ and the API answer the hub's
// {"error":"Entry not found"} with 404); 'slow' (bodies trickle in 1 KiB steps, 20 ms apart);
// 'truncate' (Content-Length of the whole file, half the body, then the socket closes).
// Files answer If-None-Match with 304 when the ETag (sha1 of the bytes) matches; `replace` serves
// other bytes for a file (a branch that moved), and the listing reports their size.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, relative } from 'node:path';
import { FIXTURES_ROOT } from './fixtures';

export type HubMode = 'normal' | '404' | 'slow' | 'truncate';

export interface HubServer {
  base: string;
  mode: HubMode;
  /** "METHOD path" of every request. */
  log: string[];
  /** Body bytes written per CDN/static file path (GET only). */
  served: Map<string, number>;
  /** "path status" of every conditional (If-None-Match) file request: 304 or 200. */
  conditional: string[];
  /** Bytes served instead of a fixture file, keyed "<fixture>/<file>". */
  replace: Map<string, Buffer>;
  close(): Promise<void>;
}

const INDEX_HTML = '<!doctype html>\n<html><head><title>app</title></head><body><div id="app"></div></body></html>\n';

async function listFiles(dir: string, rel = ''): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(join(dir, e.name), r)));
    else out.push({ path: r, size: (await stat(join(dir, e.name))).size });
  }
  return out;
}

export async function startHubServer(): Promise<HubServer> {
  const hub: HubServer = { base: '', mode: 'normal', log: [], served: new Map(), conditional: [], replace: new Map(), close: async () => undefined };
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    hub.log.push(`${req.method} ${path}${url.search}`);
    const notFound = () => void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Entry not found"}');
    let m = /^\/api\/models\/[^/]+\/([^/]+)\/revision\/([^/]+)$/.exec(path);
    if (m) {
      if (hub.mode === '404') return notFound();
      const files = await listFiles(join(FIXTURES_ROOT, m[1])).catch(() => null);
      if (!files) return notFound();
      const blobs = url.searchParams.get('blobs') === 'true';
      const name = m[1];
      const size = (f: { path: string; size: number }) => hub.replace.get(`${name}/${f.path}`)?.byteLength ?? f.size;
      const body = JSON.stringify({ id: name, sha: 'a'.repeat(40), siblings: files.map((f) => (blobs ? { rfilename: f.path, size: size(f) } : { rfilename: f.path })) });
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    m = /^\/[^/]+\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m) {
      if (hub.mode === '404') return notFound();
      return void res.writeHead(302, { location: `/cdn/${m[1]}/${m[3].split('/').map(encodeURIComponent).join('/')}` }).end();
    }
    m = /^\/(cdn|static)\/([^/]+)\/(.*)$/.exec(path);
    if (!m) return notFound();
    const file = join(FIXTURES_ROOT, m[2], m[3]);
    if (relative(FIXTURES_ROOT, file).startsWith('..')) return void res.writeHead(403).end();
    let body: Buffer;
    try {
      body = hub.replace.get(`${m[2]}/${m[3]}`) ?? (await readFile(file));
    } catch {
      if (m[1] === 'static') return void res.writeHead(200, { 'content-type': 'text/html' }).end(req.method === 'HEAD' ? undefined : INDEX_HTML);
      return notFound();
    }
    const type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined) {
      const fresh = ifNoneMatch === etag;
      hub.conditional.push(`${path} ${fresh ? 304 : 200}`);
      if (fresh) return void res.writeHead(304, { etag }).end();
    }
    res.writeHead(200, { 'content-length': body.byteLength, 'content-type': type, etag });
    if (req.method === 'HEAD') return void res.end();
    const key = `/${m[1]}/${m[2]}/${m[3]}`;
    const count = (n: number) => hub.served.set(key, (hub.served.get(key) ?? 0) + n);
    if (hub.mode === 'truncate' && body.byteLength > 1024) {
      const half = body.subarray(0, body.byteLength >> 1);
      count(half.byteLength);
      res.write(half, () => res.destroy());
      return;
    }
    if (hub.mode === 'slow') {
      for (let off = 0; off < body.byteLength && !res.destroyed; off += 1024) {
        const chunk = body.subarray(off, off + 1024);
        count(chunk.byteLength);
        res.write(chunk);
        await new Promise((r) => setTimeout(r, 20));
      }
      return void res.end();
    }
    count(body.byteLength);
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  hub.base = `http://127.0.0.1:${addr.port}`;
  hub.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return hub;
}
