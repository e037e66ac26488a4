import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES } from './handler';
import { FakeEngine } from './fake_engine';
import { main, parseServeArgs, startupLine, UsageError } from './cli';
import type { EngineOptions } from '../engine';
import type { EngineApi } from '../router/types';
import { fixtureDir } from '../../test/helpers/fixtures';
import { loadGoldenOf } from '../../test/helpers/goldens';
import { maxAbsDiff } from '../../test/helpers/random';

describe('parseServeArgs', () => {
  it('reads models, names and options, with vLLM-like defaults', () => {
    expect(parseServeArgs(['serve', '--model', 'org/a'])).toStrictEqual({
      models: ['org/a'],
      servedModelNames: [],
      host: '127.0.0.1',
      port: 8000,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      basePath: undefined,
      quiet: false,
      vllm: { apiKeys: [] },
      backend: 'webgpu',
      dtype: 'auto',
    });
    expect(
      parseServeArgs(['serve', './models/x', '-m', 'org/b', '--served-model-name', 'x', '--served-model-name', 'b', '--host', '0.0.0.0', '--port', '0', '--max-body-bytes', '1024', '--base-path', '/wgpool', '-q', '--backend', 'cpu', '--dtype', 'float32']),
    ).toStrictEqual({ models: ['./models/x', 'org/b'], servedModelNames: ['x', 'b'], host: '0.0.0.0', port: 0, maxBodyBytes: 1024, basePath: '/wgpool', quiet: true, vllm: { apiKeys: [] }, backend: 'cpu', dtype: 'f32' });
    expect(parseServeArgs(['serve', '-m', 'a', '--dtype', 'half'])?.dtype).toBe('f16');
    expect(parseServeArgs(['--help'])).toBeNull();
    expect(parseServeArgs(['serve', '-h'])).toBeNull();
  });

  it.each([
    [[], /Missing the command/],
    [['run', '-m', 'x'], /Unknown command 'run'/],
    [['serve'], /at least one model/],
    [['serve', '-m', 'a', '-m', 'b', '--served-model-name', 'x'], /one --served-model-name per model: 2 model\(s\), 1 name\(s\)/],
    [['serve', '-m', 'a', '-m', 'a'], /'a' is used twice/],
    [['serve', '-m', 'a', '--port', '80000'], /--port must be an integer from 0 to 65535, got '80000'/],
    [['serve', '-m', 'a', '--port', 'http'], /--port must be an integer/],
    [['serve', '-m', 'a', '--max-body-bytes', '0'], /--max-body-bytes must be an integer from 1/],
    [['serve', '-m', 'a', '--base-path', 'wgpool'], /--base-path must start with '\/'/],
    [['serve', '-m', 'a', '--backend', 'wasm'], /--backend must be webgpu, cpu or auto, got 'wasm'/],
    [['serve', '-m', 'a', '--dtype', 'bfloat16'], /--dtype must be one of auto, f16, half, float16, f32, float, float32, got 'bfloat16'/],
    [['serve', '-m', 'a', '--gpu-memory-utilization', '0.9'], /Unknown option '--gpu-memory-utilization'/],
    [['serve', '-m', 'a', '--pooler-config', '{bad'], /--pooler-config is not valid JSON/],
    [['serve', '-m', 'a', '--pooler-config', '{"pooling_type":"STEP"}'], /--pooler-config: STEP pooling/],
    [['serve', '-m', 'a', '--pooler-config', '{"normalize":false}'], /--pooler-config: `normalize` was removed; use `use_activation` instead/],
    [['serve', '-m', 'a', '--pooler-config', '{"pooling":"cls"}'], /--pooler-config: unknown field 'pooling'/],
    [['serve', '-m', 'a', '--hf-overrides', '[1]'], /--hf-overrides must be a JSON object/],
    [['serve', '-m', 'a', '--allowed-headers', 'x-a'], /need --allowed-origins/],
    [['serve', '-m', 'a', '--allowed-origins', '[1]'], /--allowed-origins must be a non-empty list of strings/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseServeArgs(argv)).toThrow(UsageError);
    expect(() => parseServeArgs(argv)).toThrow(message);
  });
});

describe('vLLM-style options', () => {
  it('parses --pooler-config, --hf-overrides, --chat-template, --api-key and CORS lists', () => {
    const a = parseServeArgs([
      'serve', '-m', 'a',
      '--pooler-config', '{"task":"embed","pooling_type":"MEAN","use_activation":false,"dimensions":4,"max_embed_len":1024}',
      '--hf-overrides', '{"is_matryoshka":true}',
      '--chat-template', '{{ messages[0].content }}',
      '--api-key', 'k1', '--api-key', 'k2',
      '--allowed-origins', '["http://a.test","http://b.test"]', '--allowed-methods', 'GET,POST',
    ])!;
    expect(a.vllm).toStrictEqual({
      apiKeys: ['k1', 'k2'],
      poolerConfig: { task: 'embed', pooling: 'mean', useActivation: false, dimensions: 4, chunking: { enabled: false, maxEmbedLen: 1024 } },
      hfOverrides: { is_matryoshka: true },
      chatTemplate: '{{ messages[0].content }}',
      cors: { allowedOrigins: ['http://a.test', 'http://b.test'], allowedMethods: ['GET', 'POST'], allowedHeaders: undefined },
    });
  });
});

describe('main', () => {
  function harness(fail?: (opts: EngineOptions) => Error | undefined) {
    const out: string[] = [];
    const err: string[] = [];
    const made: FakeEngine[] = [];
    const createEngine = async (opts: EngineOptions): Promise<EngineApi> => {
      const e = fail?.(opts);
      if (e) throw e;
      const engine = new FakeEngine({ model: String(opts.model) });
      made.push(engine);
      return engine;
    };
    return { out, err, made, io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), createEngine, signals: false } };
  }

  /** main(argv) with shutdown already asked for: it loads, starts and stops at once; returns the exit code and the options each createEngine call got. */
  async function startAndStop(argv: string[], opts: { env?: Record<string, string>; engine?: (o: EngineOptions) => FakeEngine } = {}) {
    const seen: EngineOptions[] = [];
    const shutdown = new AbortController();
    shutdown.abort();
    const createEngine = async (o: EngineOptions) => (seen.push(o), opts.engine?.(o) ?? new FakeEngine());
    const code = await main(argv, { out: () => undefined, err: () => undefined, signals: false, shutdown: shutdown.signal, env: opts.env, createEngine });
    return { code, seen };
  }

  it('serves until shutdown, prints one startup line, then disposes every engine and returns 0', async () => {
    const h = harness();
    const shutdown = new AbortController();
    const done = main(['serve', '-m', 'org/a', '-m', 'dir/b', '--served-model-name', 'a', '--served-model-name', 'b', '--port', '0', '--base-path', '/wgpool'], {
      ...h.io,
      shutdown: shutdown.signal,
    });
    let ended = false;
    void done.finally(() => (ended = true));
    while (h.out.length === 0 && !ended) await new Promise((r) => setTimeout(r, 5));
    expect(h.err).toStrictEqual([]);
    expect(h.out).toHaveLength(1);
    const line = h.out[0];
    expect(line).toMatch(/^wgpool serving http:\/\/127\.0\.0\.1:\d+\/wgpool \| models: a from org\/a \(FakeModel, 32 tokens, embed\/classify\/score\/token_embed\/token_classify\), b from dir\/b \(FakeModel/);
    expect(line).toMatch(/\| GPU: fake none \(deterministic test engine\), software renderer$/);

    const url = /(http:\/\/\S+)/.exec(line)![1];
    const models = await (await fetch(`${url}/v1/models`)).json();
    expect(models.data.map((m: { id: string }) => m.id)).toStrictEqual(['a', 'b']);
    const r = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"b","input":"hi"}' });
    expect(r.status).toBe(200);
    expect(h.err.some((l) => /^POST \/wgpool\/v1\/embeddings 200 /.test(l))).toBe(true);

    shutdown.abort();
    expect(await done).toBe(0);
    expect(h.made.map((e) => e.disposed)).toStrictEqual([true, true]);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('passes HF_TOKEN / HF_ENDPOINT to createEngine', async () => {
    const { code, seen } = await startAndStop(['serve', 'org/a', '--served-model-name', 'alias', '--port', '0'], { env: { HF_TOKEN: 'hf_secret', HF_ENDPOINT: 'http://mirror.test' } });
    expect(code).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ model: 'org/a', token: 'hf_secret', endpoint: 'http://mirror.test' });
  });

  it('--cache-dir and --no-cache reach createEngine; without them the default cache folder is used', async () => {
    const run = async (...flags: string[]) => {
      const { code, seen } = await startAndStop(['serve', 'org/a', '--port', '0', ...flags]);
      expect(code).toBe(0);
      return seen[0];
    };
    expect((await run('--cache-dir', '/tmp/models')).cache).toStrictEqual({ dir: '/tmp/models' });
    expect((await run('--no-cache')).cache).toBe(false);
    expect('cache' in (await run())).toBe(false);
    expect(() => parseServeArgs(['serve', 'org/a', '--no-cache', '--cache-dir', '/x'])).toThrow(/--no-cache or --cache-dir/);
  });

  it('hands --hf-overrides, --chat-template and the pooler config to the engine, and serves with the API key, CORS and defaults', async () => {
    const seen: EngineOptions[] = [];
    const shutdown = new AbortController();
    const out: string[] = [];
    const done = main(
      [
        'serve', 'org/a', '--port', '0', '-q',
        '--pooler-config', '{"task":"classify","pooling_type":"CLS","use_activation":false}',
        '--hf-overrides', '{"num_labels":3}',
        '--chat-template', '{{ messages[0].content }}!',
        '--allowed-origins', 'http://page.test',
      ],
      {
        out: (l) => void out.push(l),
        err: () => undefined,
        signals: false,
        shutdown: shutdown.signal,
        env: { VLLM_API_KEY: 'k' },
        createEngine: async (opts) => {
          seen.push(opts);
          return new FakeEngine({ model: 'org/a' });
        },
      },
    );
    while (out.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(seen[0]).toMatchObject({ hfOverrides: { num_labels: 3 }, chatTemplate: '{{ messages[0].content }}!', pooling: 'cls' });
    expect(seen[0].lateInteraction).toBeUndefined();
    const url = /(http:\/\/\S+)/.exec(out[0])![1];
    const call = (body: unknown, key?: string) =>
      fetch(`${url}/pooling`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://page.test', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body) });
    expect((await call({ input: 'x' })).status).toBe(401);
    const r = await call({ input: 'x' }, 'k');
    expect(r.headers.get('access-control-allow-origin')).toBe('http://page.test');
    const body = await r.json();
    // The default task is the config's (classify), and use_activation false gives raw logits.
    const raw = await new FakeEngine().classify('x', { useActivation: false });
    expect(body.data[0].data).toStrictEqual(raw.data[0].probs);
    shutdown.abort();
    expect(await done).toBe(0);
  });

  it('serves a pooler config task token_embed with late-interaction scoring, as vLLM decides the score type', async () => {
    const { code, seen } = await startAndStop(['serve', 'org/a', '--port', '0', '--pooler-config', '{"task":"token_embed"}'], {
      engine: (opts) => new FakeEngine({ scoreType: opts.lateInteraction ? 'late-interaction' : 'bi-encoder' }),
    });
    expect(code).toBe(0);
    expect(seen[0].lateInteraction).toBe(true);
  });

  it('refuses a pooler config the model cannot serve, and disposes the engine', async () => {
    const h = harness();
    const code = await main(['serve', '-m', 'org/a', '--port', '0', '--pooler-config', '{"dimensions":4}'], h.io);
    expect(code).toBe(1);
    expect(h.err[0]).toMatch(/does not support matryoshka representation/);
    expect(h.made[0].disposed).toBe(true);
  });

  it('hands enable_chunked_processing and max_embed_len to the engine as its chunked long-input options', async () => {
    const { code, seen } = await startAndStop(['serve', 'org/a', '--port', '0', '--pooler-config', '{"enable_chunked_processing":true,"max_embed_len":4096}']);
    expect(code).toBe(0);
    expect(seen[0]).toMatchObject({ enableChunkedProcessing: true, maxEmbedLen: 4096 });
  });

  it('returns 1 and disposes the models already loaded when one fails to load', async () => {
    const h = harness((o) => (o.model === 'bad/model' ? new Error('Model "bad/model" has no config.json') : undefined));
    const code = await main(['serve', '-m', 'good/model', '-m', 'bad/model', '--port', '0'], h.io);
    expect(code).toBe(1);
    expect(h.out).toStrictEqual([]);
    expect(h.err).toStrictEqual(['wgpool: Model "bad/model" has no config.json']);
    expect(h.made).toHaveLength(1);
    expect(h.made[0].disposed).toBe(true);
  });

  it('returns 2 with the usage for bad arguments, and 0 with the usage for --help', async () => {
    const h = harness();
    expect(await main(['serve', '--port', 'x', '-m', 'a'], h.io)).toBe(2);
    expect(h.err[0]).toMatch(/^wgpool: --port must be an integer[\s\S]*Usage: wgpool serve/);
    expect(await main(['--help'], h.io)).toBe(0);
    expect(h.out[0]).toMatch(/^Usage: wgpool serve/);
    expect(h.made).toHaveLength(0);
  });

  it('names a renamed model with its source in the startup line', () => {
    const e = new FakeEngine({ model: 'org/source' });
    expect(startupLine('http://x', new Map([['alias', e]]))).toMatch(/models: alias from org\/source \(/);
  });
});

describe('wgpool serve --backend cpu', () => {
  it('serves a real model on the WebAssembly kernels (no Vulkan, no Dawn) within the golden tolerance', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const shutdown = new AbortController();
    const done = main(['serve', fixtureDir('tiny-bert-embed'), '--served-model-name', 'm', '--port', '0', '--backend', 'cpu', '-q'], {
      out: (l) => void out.push(l),
      err: (l) => void err.push(l),
      shutdown: shutdown.signal,
      signals: false,
    });
    let ended = false;
    void done.finally(() => (ended = true));
    while (out.length === 0 && !ended) await new Promise((r) => setTimeout(r, 5));
    expect(err).toStrictEqual([]);
    expect(out[0]).toMatch(/\| GPU: CPU backend \(WebAssembly (relaxed-simd|simd128), \d+ threads?\)$/);
    const url = /(http:\/\/\S+)/.exec(out[0])![1];
    const golden = loadGoldenOf('tiny-bert-embed', 'embed');
    const r = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: golden.cases[0].text }) });
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(maxAbsDiff(body.data[0].embedding, golden.cases[0].embedding)).toBeLessThan(1e-5);
    shutdown.abort();
    expect(await done).toBe(0);
  });
});
