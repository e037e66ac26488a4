// The dev server the benchmark page runs under (bench/run.mjs starts it; `--serve` keeps it up for
// interactive use). Vite serves demo/bench/ and the sources as usual; on top of that:
//
// - /bench-models/<name>/<file> serves the benchmark models' folders (the model given with --model,
//   plus every model folder under .bench/models/), laid out like a hub repo, so wgpool loads them by
//   URL and Transformers.js by env.localModelPath = '/bench-models/'. Nothing goes over the network.
// - Cross-origin isolation (COOP same-origin + COEP require-corp) so that onnxruntime-web can use
//   SharedArrayBuffer and run WASM with more than one thread.

import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, resolve, sep } from 'node:path';

export const MODELS_URL = '/bench-models/';

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const TYPES = { json: 'application/json', txt: 'text/plain', onnx: 'application/octet-stream', safetensors: 'application/octet-stream' };

/** name → folder: every model folder (one with a config.json) directly under `root`, plus `extra`. */
export function modelFolders(root, extra = []) {
  const map = new Map();
  if (existsSync(root)) {
    for (const d of readdirSync(root)) {
      const dir = resolve(root, d);
      if (existsSync(resolve(dir, 'config.json'))) map.set(d, dir);
    }
  }
  for (const dir of extra) map.set(basename(dir), resolve(dir));
  return map;
}

/** A vite plugin serving `folders` (name → absolute path) under /bench-models/, read-only. */
export function serveBenchModels(folders) {
  const handler = (req, res, next) => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]);
    if (!url.startsWith(MODELS_URL)) return next();
    const rest = url.slice(MODELS_URL.length);
    if (rest === '' || rest === 'index.json') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify([...folders.keys()]));
      return;
    }
    const slash = rest.indexOf('/');
    const dir = slash > 0 ? folders.get(rest.slice(0, slash)) : undefined;
    const file = dir ? resolve(dir, rest.slice(slash + 1)) : '';
    const method = req.method ?? 'GET';
    if (!dir || !file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile() || !['GET', 'HEAD'].includes(method)) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    const size = statSync(file).size;
    res.setHeader('Content-Type', TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(size));
    res.setHeader('Cache-Control', 'no-store');
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    if (method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  };
  return {
    name: 'wgpool-bench-models',
    configureServer: (server) => void server.middlewares.use(handler),
    configurePreviewServer: (server) => void server.middlewares.use(handler),
  };
}

/** Start the bench's vite dev server on loopback; resolves to { server, url }. */
export async function startBenchServer({ root, folders, port = 5191 }) {
  const { createServer } = await import('vite');
  const server = await createServer({
    configFile: false,
    root,
    logLevel: 'warn',
    plugins: [serveBenchModels(folders)],
    // No file watching and no HMR: a source edit (by anyone working in the tree) must not reload the
    // page in the middle of a run.
    server: { host: '127.0.0.1', port, strictPort: false, headers: ISOLATION_HEADERS, hmr: false, ws: false, watch: null },
    // No dependency scan: a discovery mid-run would make vite reload the page under the benchmark.
    // Every dependency the page imports is plain ESM and loads unbundled.
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`;
  return { server, url };
}
