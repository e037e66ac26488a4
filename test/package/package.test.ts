// The package as installed: `npm pack` the project, install the tarball into fresh projects under
// the system temp folder, and use it the way users do.
// - Node project: `npx wgpool serve --model DIR` answers /v1/embeddings (webgpu installed next to it,
//   from this checkout's node_modules, as a user would `npm install webgpu`).
// - Vite app: the model under public/ (Vite's default SPA fallback answers index.html for files it
//   does not have), `vite build`, `vite preview`, embed in Chromium; no `webgpu` in node_modules.
// Installing the tarball's dependencies needs the npm registry (or a warm npm cache), so this suite
// runs only with WGPOOL_PACK_TEST=1:  WGPOOL_PACK_TEST=1 npx vitest run test/package/package.test.ts
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir } from '../helpers/fixtures';

const ROOT = new URL('../..', import.meta.url).pathname;
const run = process.env.WGPOOL_PACK_TEST === '1';
const tmp = mkdtempSync(join(tmpdir(), 'wgpool-pack-'));
let tarball = '';

const sh = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });

/** Start a long-running command and resolve once `ready` matches its output. */
function start(cmd: string, args: string[], cwd: string, ready: RegExp, env: Record<string, string> = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const seen = new Promise<RegExpExecArray>((resolve, reject) => {
    const on = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m);
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code}:\n${out}`)));
  });
  return { child, seen, output: () => out };
}

describe.runIf(run)('the packed package', () => {
  beforeAll(() => {
    sh('npm', ['run', 'build'], ROOT);
    const name = sh('npm', ['pack', '--pack-destination', tmp], ROOT).trim().split('\n').pop()!;
    tarball = join(tmp, name);
  }, 600_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('ships the CLI bundle and declares webgpu an optional peer', () => {
    const listing = sh('tar', ['-tzf', tarball], tmp);
    expect(listing).toContain('package/dist/cli/cli.mjs');
    expect(listing).toContain('package/bin/wgpool.mjs');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.dependencies.webgpu).toBeUndefined();
    expect(pkg.peerDependenciesMeta.webgpu.optional).toBe(true);
  });

  it('Node project: npx wgpool serve --model DIR answers /v1/embeddings', async () => {
    const app = join(tmp, 'node-app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'node-app', version: '1.0.0', type: 'module' }));
    sh('npm', ['install', '--no-audit', '--no-fund', tarball], app);
    sh('npm', ['install', '--no-audit', '--no-fund', '--install-links=false', join(ROOT, 'node_modules/webgpu')], app);
    const srv = start('npx', ['wgpool', 'serve', '--model', fixtureDir('tiny-bert-embed'), '--port', '0'], app, /wgpool serving (http:\/\/[\d.:]+)/, {
      VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json',
    });
    try {
      const [, url] = await srv.seen;
      const res = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'hello' }) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { embedding: number[] }[] };
      expect(body.data[0].embedding.length).toBeGreaterThan(0);
      expect(srv.output()).toMatch(/wgpool: loading .*: ready 100%/);
    } finally {
      srv.child.kill('SIGTERM');
    }
  }, 300_000);

  it('Vite app: model under public/, SPA fallback, built and embedded in Chromium; no webgpu installed', async () => {
    const app = join(tmp, 'vite-app');
    mkdirSync(join(app, 'public/models'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'vite-app', version: '1.0.0', type: 'module' }));
    sh('npm', ['install', '--no-audit', '--no-fund', tarball], app);
    expect(existsSync(join(app, 'node_modules/webgpu'))).toBe(false);
    cpSync(fixtureDir('tiny-bert-embed'), join(app, 'public/models/x'), { recursive: true });
    writeFileSync(join(app, 'index.html'), '<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>');
    writeFileSync(
      join(app, 'main.js'),
      `import { createEngine } from 'wgpool';
const events = [];
createEngine({ model: '/models/x', onProgress: (e) => events.push(e.phase) })
  .then((e) => e.embed('hello'))
  .then((r) => { window.result = { dims: r.embeddings[0].length, last: events[events.length - 1] }; })
  .catch((err) => { window.result = { error: String(err && err.message) }; });
`,
    );
    const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
    sh('node', [vite, 'build', '--logLevel', 'warn'], app);
    const bundle = readdirSync(join(app, 'dist/assets')).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(app, 'dist/assets', f), 'utf8')).join('\n');
    expect(bundle).not.toMatch(/dawn\.node/);
    const preview = start('node', [vite, 'preview', '--port', '0', '--strictPort', 'false', '--host', '127.0.0.1'], app, /(http:\/\/127\.0\.0\.1:\d+)/);
    const { chromium } = await import('@playwright/test');
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
    try {
      const [, url] = await preview.seen;
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, null, { timeout: 240_000 });
      const result = await page.evaluate(() => (window as unknown as { result: unknown }).result);
      expect(result).toEqual({ dims: 64, last: 'ready' });
    } finally {
      await browser.close();
      preview.child.kill('SIGTERM');
    }
  }, 400_000);
});
