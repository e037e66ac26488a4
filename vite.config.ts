import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connect, Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { defineConfig } from 'vitest/config';

// The demo pages load models the way a user's page loads them from the hub: by URL prefix. In dev
// and preview, /models/<name>/<file> serves demo/models (the WordNet embedder and reranker trained
// by tools/train-demo-models) and the fixtures in test/fixtures/models (tiny random-weight models),
// both in Hugging Face layout, so `npm run demo` works offline on a fresh machine.
const MODELS_DIRS = ['./demo/models', './test/fixtures/models'].map((d) => fileURLToPath(new URL(d, import.meta.url)));
const TYPES: Record<string, string> = { json: 'application/json', safetensors: 'application/octet-stream', txt: 'text/plain' };

function serveModels(): Plugin {
  const handler: Connect.NextHandleFunction = (req, res, next) => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]);
    // The Service Worker script lives under /src/serve/ but serves the whole origin.
    if (url.endsWith('/sw_entry.ts') || url.endsWith('/sw.js')) res.setHeader('Service-Worker-Allowed', '/');
    // ?coi=1 on a page: cross-origin isolation (SharedArrayBuffer, the CPU backend's worker threads),
    // as a deployment would send it; without it the same page shows the one-thread fallback. The
    // page's own requests (its Referer has ?coi=1) get the headers too: a dedicated Worker's script
    // must carry COEP itself or an isolated page may not start it.
    const coi = /[?&]coi=1(&|$)/;
    if (coi.test(req.url ?? '') || coi.test(req.headers.referer ?? '')) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    if (!url.startsWith('/models/')) return next();
    const file = MODELS_DIRS.map((dir) => [dir, resolve(dir, url.slice('/models/'.length))])
      .find(([dir, f]) => f.startsWith(dir + sep) && existsSync(f) && statSync(f).isFile())?.[1];
    if (!file) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Content-Type', TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    createReadStream(file).pipe(res);
  };
  return {
    name: 'wgpool-serve-models',
    configureServer: (server) => void server.middlewares.use(handler),
    configurePreviewServer: (server) => void server.middlewares.use(handler),
  };
}

// The search app (demo/search/) is an installable PWA. Its web app manifest and icons are plain
// files beside its pages (linked with vite-ignore, so their names stay put): copied as they are.
const SEARCH_APP_STATIC = ['manifest.webmanifest', 'icons/icon.svg', 'icons/icon-192.png', 'icons/icon-512.png'];
function searchAppStatic(): Plugin {
  return {
    name: 'wgpool-search-app-static',
    apply: 'build',
    generateBundle() {
      for (const f of SEARCH_APP_STATIC) this.emitFile({ type: 'asset', fileName: `demo/search/${f}`, source: readFileSync(fileURLToPath(new URL(`./demo/search/${f}`, import.meta.url))) });
    },
  };
}

// The search app's pages share their head, navigation and status block: `<!-- partial: ./x.html -->`
// in a page is replaced by that file (relative to the page), indented like the comment, before Vite
// reads the page (so the partial's links are bundled as the page's own). In the navigation, the
// link to the page itself is marked aria-current="page".
const PARTIAL = /^([ \t]*)<!-- partial: (\S+) -->$/gm;
function htmlPartials(): Plugin {
  return {
    name: 'wgpool-html-partials',
    transformIndexHtml: {
      order: 'pre',
      handler(html, { filename }) {
        const page = filename.split(sep).pop() ?? '';
        return html.replace(PARTIAL, (_, indent: string, path: string) =>
          readFileSync(resolve(filename, '..', path), 'utf8')
            .trimEnd()
            .replace(`<a href="./${page}">`, `<a href="./${page}" aria-current="page">`)
            .split('\n')
            .map((line) => indent + line)
            .join('\n'),
        );
      },
    },
    // A partial is no module: reload the pages when one changes.
    handleHotUpdate({ file, server }) {
      if (file.includes(`${sep}partials${sep}`) && file.endsWith('.html')) server.ws.send({ type: 'full-reload' });
    },
  };
}

// Every file of the app's two model folders, for the app's Service Worker to precache: /models/ is
// served by serveModels() (not part of the build), and the worker answers 404 offline for a path in
// a precached folder that is not listed here, so the listing must be whole.
const SEARCH_APP_MODELS = ['wordnet-bert-embed', 'wordnet-bert-rerank'];
function modelPrecacheEntries(): { url: string; revision: string }[] {
  const out: { url: string; revision: string }[] = [];
  const walk = (dir: string, root: string, name: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = resolve(dir, e.name);
      if (e.isDirectory()) walk(f, root, name);
      else out.push({ url: `/models/${name}/${relative(root, f).split(sep).join('/')}`, revision: createHash('sha1').update(readFileSync(f)).digest('hex') });
    }
  };
  for (const name of SEARCH_APP_MODELS) walk(resolve(MODELS_DIRS[0], name), resolve(MODELS_DIRS[0], name), name);
  return out;
}

const OUT_DIR = 'dist/demo';

// Dawn (npm `webgpu`) reads VK_ICD_FILENAMES with getenv() when it loads, so it must be in the real
// environment of the test processes, not set later through process.env inside a worker. Without a
// GPU, Debian's chromium package ships the SwiftShader Vulkan driver.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

// Node 20's V8 validates relaxed SIMD only behind a flag (on by default from V8 11.4 / Chrome 114);
// with it the CPU backend's relaxed-SIMD build is tested in Node too, beside the plain-SIMD build.
const RELAXED_SIMD_FLAG = /^v20\./.test(process.version) ? ['--experimental-wasm-relaxed-simd'] : [];

// One config for the demo pages (vite dev/build) and the Node test suite (vitest).
// WGSL is imported with `?raw`, which vite and vitest both resolve, so shaders/ is the only source.
export default defineConfig({
  root: '.',
  plugins: [
    serveModels(),
    searchAppStatic(),
    htmlPartials(),
    // The search app's Service Worker: demo/search/sw.ts → dist/demo/demo/search/sw.js, scope
    // /demo/search/ (apart from the wgpool API worker, /sw.js, scope /). Registered by the app
    // itself (demo/search/app.ts), so nothing is injected into the other pages.
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'demo/search',
      filename: 'sw.ts',
      outDir: `${OUT_DIR}/demo/search`,
      injectRegister: false,
      manifest: false,
      devOptions: { enabled: false },
      injectManifest: {
        rollupFormat: 'iife',
        globDirectory: OUT_DIR,
        // The app's pages, worker, icons and dictionary, and the shared chunks; not the playground's
        // or the benchmark's (Transformers.js and its 27 MB WASM), which the app never loads.
        globPatterns: ['demo/search/**/*.{html,js,css,webmanifest,png,svg}', 'assets/**/*.{js,css,wgpidx}'],
        globIgnores: ['demo/search/sw.js', 'assets/bench-*', 'assets/transformers*', 'assets/index-*'],
        maximumFileSizeToCacheInBytes: 32 * 2 ** 20,
        additionalManifestEntries: modelPrecacheEntries(),
        // Paths relative to dist/demo become absolute (the worker lives in a subfolder).
        manifestTransforms: [async (entries) => ({ manifest: entries.map((e) => ({ ...e, url: e.url.startsWith('/') ? e.url : `/${e.url}` })), warnings: [] })],
      },
    }),
  ],
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  // Cross-origin isolation lets the benchmark page's WASM baseline use threads (SharedArrayBuffer).
  preview: {
    host: '127.0.0.1',
    port: 4173,
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  // The search app's engine worker is emitted inside the app's folder, so that the app's Service
  // Worker (scope /demo/search/) controls it and serves its model fetches offline.
  worker: {
    format: 'es',
    rolldownOptions: {
      output: { entryFileNames: (chunk) => (chunk.name.startsWith('engine_worker') ? 'demo/search/[name]-[hash].js' : 'assets/[name]-[hash].js') },
    },
  },
  build: {
    outDir: OUT_DIR,
    rollupOptions: {
      // sw.js: the Service Worker that serves the HTTP API (src/serve/sw_entry.ts), at the root so
      // its default scope is the whole demo.
      input: { index: 'index.html', bench: 'demo/bench/index.html', search: 'demo/search/index.html', dictionary: 'demo/search/dictionary.html', sw: 'src/serve/sw_entry.ts' },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    environment: 'node',
    // URL and hub loads cache their files by default: tests keep them out of ~/.cache, one folder per run.
    env: { WGPOOL_CACHE_DIR: process.env.WGPOOL_CACHE_DIR ?? join(tmpdir(), `wgpool-test-cache-${process.pid}`) },
    pool: 'forks',
    execArgv: RELAXED_SIMD_FLAG,
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
