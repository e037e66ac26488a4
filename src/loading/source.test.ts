import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkPath, fileListSource, memorySource, resolveSource, type ModelSource } from './source';
import { ModelLoadError, NotFoundError } from '../gpu/errors';
import { FIXTURES_ROOT, fixtureDir } from '../../test/helpers/fixtures';

/**
 * A loopback file server over test/fixtures/models with two layouts:
 *   /plain/<fixture>/<file>                       (a URL prefix)
 *   /<org>/<fixture>/resolve/<revision>/<file>    (the hub layout; only revision "main" and "v1" exist)
 * plus /boom/... answering 500 and /auth/... answering 401.
 */
function startServer(): Promise<{ server: Server; base: string; log: string[] }> {
  const log: string[] = [];
  const server = createServer(async (req, res) => {
    const url = decodeURI(req.url ?? '/');
    log.push(`${req.method} ${url}`);
    if (url.startsWith('/boom/')) return void res.writeHead(500, 'Internal Server Error').end('boom');
    if (url.startsWith('/auth/')) return void res.writeHead(401, 'Unauthorized').end();
    if (url.startsWith('/token/')) {
      const ok = req.headers.authorization === 'Bearer hf_secret';
      return void res.writeHead(ok ? 200 : 401).end(ok ? '{"ok":true}' : '');
    }
    let m = /^\/plain\/([^/]+)\/(.+)$/.exec(url);
    let rel = m ? `${m[1]}/${m[2]}` : null;
    m = /^\/[^/]+\/([^/]+)\/resolve\/(main|v1)\/(.+)$/.exec(url);
    if (m) rel = `${m[1]}/${m[3]}`;
    if (!rel) return void res.writeHead(404).end();
    const file = join(FIXTURES_ROOT, rel);
    if (relative(FIXTURES_ROOT, file).startsWith('..')) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-length': body.byteLength });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, 'Not Found').end('Entry not found');
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (!addr || typeof addr === 'string') throw new Error('no port');
      resolve({ server, base: `http://127.0.0.1:${addr.port}`, log });
    }),
  );
}

async function expectRejects(p: Promise<unknown>, cls: Function, ...parts: (string | RegExp)[]): Promise<Error> {
  const err = await p.then(
    () => null,
    (e: Error) => e,
  );
  expect(err, `expected ${cls.name}`).toBeInstanceOf(cls);
  for (const part of parts) expect(err!.message).toMatch(part);
  return err!;
}

/** The checks every source must pass against the tiny-bert-embed fixture. */
async function checkBertEmbedSource(src: ModelSource): Promise<void> {
  const onDisk = await readFile(join(fixtureDir('tiny-bert-embed'), 'model.safetensors'));
  expect(await src.exists('config.json')).toBe(true);
  expect(await src.exists('1_Pooling/config.json')).toBe(true);
  expect(await src.exists('pytorch_model.bin')).toBe(false);
  expect(await src.exists('2_Normalize/config.json')).toBe(false);
  const bytes = await src.bytes('model.safetensors');
  expect(bytes).toBeInstanceOf(Uint8Array);
  expect(bytes.byteLength).toBe(onDisk.byteLength);
  expect(Buffer.from(bytes).equals(onDisk)).toBe(true);
  const cfg = await src.json<{ hidden_size: number; architectures: string[] }>('config.json');
  expect(cfg.hidden_size).toBe(64);
  expect(cfg.architectures).toEqual(['BertModel']);
  expect((await src.json<{ pooling_mode_mean_tokens: boolean }>('1_Pooling/config.json')).pooling_mode_mean_tokens).toBe(true);
  expect(await src.text('sentence_bert_config.json')).toContain('max_seq_length');
  const err = await expectRejects(src.bytes('pytorch_model.bin'), NotFoundError, 'pytorch_model.bin', src.id);
  expect((err as NotFoundError).status).toBe(404);
}

describe('checkPath', () => {
  it('accepts nested relative paths', () => {
    expect(checkPath('1_Pooling/config.json', 'm')).toBe('1_Pooling/config.json');
  });
  for (const bad of ['', '/etc/passwd', '../secret', 'a/../../b', 'a//b', './a', 'a\\b', 'C:/x', 'a/.']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      expect(() => checkPath(bad, 'my-model')).toThrow(ModelLoadError);
      expect(() => checkPath(bad, 'my-model')).toThrow(/my-model/);
    });
  }
});

describe('folder source', () => {
  it('reads an absolute folder', async () => {
    const src = await resolveSource(fixtureDir('tiny-bert-embed'));
    expect(src.id).toBe(fixtureDir('tiny-bert-embed'));
    await checkBertEmbedSource(src);
  });

  it('reads a relative folder and a file:// URL', async () => {
    const rel = `./${relative(process.cwd(), fixtureDir('tiny-bert-embed'))}`;
    await checkBertEmbedSource(await resolveSource(rel));
    await checkBertEmbedSource(await resolveSource(pathToFileURL(fixtureDir('tiny-bert-embed')).href));
  });

  it('prefers an existing folder over a hub id of the same spelling', async () => {
    // From test/fixtures, "models/tiny-bert-embed" is both a valid hub id and an existing folder.
    const cwd = process.cwd();
    process.chdir(join(FIXTURES_ROOT, '..'));
    try {
      const src = await resolveSource('models/tiny-bert-embed', { fetch: () => Promise.reject(new Error('no network')) });
      expect(src.id).toBe('models/tiny-bert-embed');
      expect(await src.exists('config.json')).toBe(true);
      const hub = await resolveSource('models/not-here', { fetch: async () => new Response(null, { status: 404 }) });
      expect(await hub.exists('config.json')).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });

  it('a missing folder is a NotFoundError naming it', async () => {
    await expectRejects(resolveSource('./no/such/model'), NotFoundError, './no/such/model', 'does not exist');
  });

  it('a file instead of a folder is a ModelLoadError', async () => {
    await expectRejects(resolveSource(join(fixtureDir('tiny-bert-embed'), 'config.json')), ModelLoadError, 'is a file, not a folder');
  });

  it('refuses paths that leave the folder', async () => {
    const src = await resolveSource(fixtureDir('tiny-bert-embed'));
    await expectRejects(src.bytes('../tiny-bert-seqcls/config.json'), ModelLoadError, 'invalid file path');
    await expectRejects(src.exists('/etc/passwd'), ModelLoadError, 'invalid file path');
  });

  it('malformed JSON names the file and the model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wgpool-src-'));
    try {
      await writeFile(join(dir, 'config.json'), '{"hidden_size": 64,');
      const src = await resolveSource(dir);
      await expectRejects(src.json('config.json'), ModelLoadError, /^config\.json is not valid JSON: /, dir);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('an aborted read throws AbortError', async () => {
    const src = await resolveSource(fixtureDir('tiny-bert-embed'));
    const ctl = new AbortController();
    ctl.abort();
    const err = await src.bytes('model.safetensors', ctl.signal).catch((e: Error) => e);
    expect((err as Error).name).toBe('AbortError');
  });
});

describe('http sources (loopback server)', () => {
  let server: Server;
  let base: string;
  let log: string[];
  beforeAll(async () => ({ server, base, log } = await startServer()));
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('URL prefix: files fetched as <prefix>/<path>', async () => {
    const src = await resolveSource(`${base}/plain/tiny-bert-embed/`);
    expect(src.id).toBe(`${base}/plain/tiny-bert-embed/`);
    log.length = 0;
    await checkBertEmbedSource(src);
    expect(log).toContain('GET /plain/tiny-bert-embed/model.safetensors');
    expect(log).toContain('HEAD /plain/tiny-bert-embed/1_Pooling/config.json');
  });

  it('hub id: <endpoint>/<id>/resolve/<revision>/<path>, revision default main', async () => {
    const src = await resolveSource('test-org/tiny-bert-embed', { endpoint: base });
    expect(src.id).toBe('test-org/tiny-bert-embed');
    log.length = 0;
    await checkBertEmbedSource(src);
    expect(log).toContain('GET /test-org/tiny-bert-embed/resolve/main/model.safetensors');
    const v1 = await resolveSource('test-org/tiny-qwen3-embed', { endpoint: `${base}/`, revision: 'v1' });
    log.length = 0;
    expect((await v1.json<{ model_type: string }>('config.json')).model_type).toBe('qwen3');
    expect(log).toEqual(['GET /test-org/tiny-qwen3-embed/resolve/v1/config.json']);
  });

  it('exists() answers are cached (a hub without the model API is probed)', async () => {
    const src = await resolveSource('test-org/tiny-bert-embed', { endpoint: base });
    log.length = 0;
    expect(await src.exists('modules.json')).toBe(true);
    expect(await src.exists('modules.json')).toBe(true);
    expect(await src.exists('nope.json')).toBe(false);
    expect(await src.exists('nope.json')).toBe(false);
    expect(log).toEqual([
      'GET /api/models/test-org/tiny-bert-embed/revision/main?blobs=true',
      'HEAD /test-org/tiny-bert-embed/resolve/main/modules.json',
      'HEAD /test-org/tiny-bert-embed/resolve/main/nope.json',
    ]);
  });

  it('a missing file is a NotFoundError naming file, model and URL', async () => {
    const src = await resolveSource('test-org/tiny-bert-embed', { endpoint: base });
    await expectRejects(src.bytes('vocab.txt'), NotFoundError, '"vocab.txt"', 'test-org/tiny-bert-embed', `${base}/test-org/tiny-bert-embed/resolve/main/vocab.txt`, '404');
  });

  it('a missing revision is a NotFoundError too', async () => {
    const src = await resolveSource('test-org/tiny-bert-embed', { endpoint: base, revision: 'nope' });
    expect(await src.exists('config.json')).toBe(false);
    await expectRejects(src.json('config.json'), NotFoundError, 'resolve/nope/config.json');
  });

  it('other HTTP errors name URL and status', async () => {
    const src = await resolveSource(`${base}/boom/m`);
    await expectRejects(src.bytes('config.json'), ModelLoadError, `GET ${base}/boom/m/config.json`, '500');
    await expectRejects(src.exists('config.json'), ModelLoadError, `HEAD ${base}/boom/m/config.json`, '500');
    const auth = await resolveSource(`${base}/auth/m`);
    await expectRejects(auth.bytes('config.json'), ModelLoadError, '401', 'private or gated');
  });

  it('sends the token as a bearer header', async () => {
    expect(await (await resolveSource(`${base}/token/m`, { token: 'hf_secret' })).json('config.json')).toEqual({ ok: true });
    await expectRejects((await resolveSource(`${base}/token/m`)).bytes('config.json'), ModelLoadError, '401');
  });

  it('a refused connection names the URL', async () => {
    const closed = await startServer();
    const dead = closed.base;
    await new Promise<void>((r) => closed.server.close(() => r()));
    const src = await resolveSource(`${dead}/plain/x`);
    await expectRejects(src.bytes('config.json'), ModelLoadError, `GET ${dead}/plain/x/config.json failed`);
  });

  it('uses the injected fetch and passes the abort signal', async () => {
    const seen: string[] = [];
    const fake: typeof fetch = async (input, init) => {
      seen.push(`${init?.method} ${String(input)}`);
      init?.signal?.throwIfAborted();
      return new Response('{"a":1}', { status: 200 });
    };
    const src = await resolveSource('org/name', { fetch: fake, endpoint: 'https://hub.example', revision: 'refs/pr/1' });
    expect(await src.json('sub dir/config.json')).toEqual({ a: 1 });
    expect(seen).toEqual(['GET https://hub.example/org/name/resolve/refs%2Fpr%2F1/sub%20dir/config.json']);
    const ctl = new AbortController();
    ctl.abort();
    const err = await src.bytes('x.json', ctl.signal).catch((e: Error) => e);
    expect((err as Error).name).toBe('AbortError');
  });
});

describe('resolveSource: other inputs', () => {
  it('returns a ModelSource as is', async () => {
    const m = memorySource('mem', { 'config.json': '{}' });
    expect(await resolveSource(m)).toBe(m);
  });

  it('rejects strings that are neither id, URL nor folder', async () => {
    await expectRejects(resolveSource('not a model id!'), ModelLoadError, 'not a hub id');
    await expectRejects(resolveSource('a/b/c'), ModelLoadError, 'not a hub id');
  });

  it('memory source', async () => {
    const src = memorySource('mem', { 'config.json': '{"x":1}', 'a/b.bin': new Uint8Array([1, 2, 3]) });
    expect(await src.json('config.json')).toEqual({ x: 1 });
    expect([...(await src.bytes('a/b.bin'))]).toEqual([1, 2, 3]);
    expect(await src.exists('a/c.bin')).toBe(false);
    await expectRejects(src.bytes('a/c.bin'), NotFoundError, '"a/c.bin"', '"mem"');
  });
});

describe('File list source', () => {
  const file = (rel: string, body: string) => {
    const f = new File([body], rel.split('/').pop()!);
    if (rel.includes('/')) Object.defineProperty(f, 'webkitRelativePath', { value: rel });
    return f;
  };

  it('matches paths inside the picked folder, nested ones included', async () => {
    const src = await resolveSource([
      file('my-model/config.json', '{"root":true}'),
      file('my-model/1_Pooling/config.json', '{"pool":true}'),
      file('my-model/modules.json', '[]'),
    ]);
    expect(src.id).toBe('my-model');
    expect(await src.json('config.json')).toEqual({ root: true });
    expect(await src.json('1_Pooling/config.json')).toEqual({ pool: true });
    expect(await src.exists('2_Normalize/config.json')).toBe(false);
    await expectRejects(src.bytes('tokenizer.json'), NotFoundError, 'tokenizer.json', 'my-model');
  });

  it('finds the model folder below a picked parent folder', async () => {
    const src = fileListSource([
      file('models/README.md', 'hi'),
      file('models/bert/1_Pooling/config.json', '{"pool":true}'),
      file('models/bert/config.json', '{"root":true}'),
    ]);
    expect(src.id).toBe('models/bert');
    expect(await src.json('config.json')).toEqual({ root: true });
    expect(await src.json('1_Pooling/config.json')).toEqual({ pool: true });
  });

  it('a folder holding two models is an error naming both', () => {
    expect(() => fileListSource([file('models/a/config.json', '{}'), file('models/b/config.json', '{}')])).toThrow(/a, b/);
  });

  it('plain files match by name, top level only', async () => {
    const src = await resolveSource([file('config.json', '{"flat":1}'), file('tokenizer.json', '{}')]);
    expect(await src.json('config.json')).toEqual({ flat: 1 });
    expect(await src.exists('1_Pooling/config.json')).toBe(false);
  });

  it('rejects things that are not files', async () => {
    await expectRejects(resolveSource([{ name: 'x' } as unknown as File]), ModelLoadError, 'expected File objects');
    await expectRejects(resolveSource([]), ModelLoadError, 'list of model files is empty');
  });
});

describe('directory handle source (showDirectoryPicker / OPFS)', () => {
  type Entry = { kind: 'file'; name: string; getFile(): Promise<File> } | DirHandle;
  type DirHandle = { kind: 'directory'; name: string; values(): AsyncIterable<Entry> };
  const dir = (name: string, entries: Entry[]): DirHandle => ({
    kind: 'directory',
    name,
    async *values() {
      yield* entries;
    },
  });
  const file = (name: string, body: string): Entry => ({ kind: 'file', name, getFile: async () => new File([body], name) });

  it('lists and reads nested files by path, with sizes', async () => {
    const handle = dir('my-model', [file('config.json', '{"a":1}'), dir('1_Pooling', [file('config.json', '{"pool":true}')])]);
    const src = await resolveSource(handle);
    expect(src.id).toBe('my-model');
    expect(await src.json('1_Pooling/config.json')).toEqual({ pool: true });
    expect(await src.list!()).toEqual(expect.arrayContaining([{ path: 'config.json', size: 7 }, { path: '1_Pooling/config.json', size: 13 }]));
    expect(await src.exists('tokenizer.json')).toBe(false);
  });

  it('an empty folder is an error naming it', async () => {
    await expectRejects(resolveSource(dir('empty', [])), ModelLoadError, 'the folder "empty" is empty');
  });
});
