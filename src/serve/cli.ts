// `wgpool serve`: load one or more models and serve the vLLM-compatible HTTP API on loopback.
// Plain node cannot run TypeScript or `?raw` WGSL imports, so this file runs from the bundle that
// scripts/build-cli.mjs makes (dist/cli/cli.mjs), started by bin/wgpool.mjs. Importing it has no
// side effects; main() does the work and resolves with the exit code.

import { parseArgs } from 'node:util';
import type { BackendChoice } from '../backend';
import type { DtypeChoice } from '../gpu/weight_dtype';
import { createEngine, type EngineOptions } from '../engine';
import type { AdapterReport } from '../gpu/device';
import { BadRequestError } from '../gpu/errors';
import { progressLines } from '../loading/progress';
import type { EngineApi } from '../router/types';
import { chunkingOptions, poolerEngineOptions, withPoolerConfig } from '../router/pooler_config';
import { VLLM_OPTIONS_USAGE, VLLM_OPTION_SPECS, readVllmOptions, resolveChatTemplate, type VllmOptions } from './cli_options';
import { DEFAULT_MAX_BODY_BYTES } from './handler';
import { serve } from './node';

export const USAGE = `Usage: wgpool serve --model <id|url|dir> [--model …] [options]
       wgpool serve <id|url|dir> [options]

Serves Hugging Face pooling models (embedders, rerankers, classifiers) on WebGPU behind
vLLM's OpenAI-compatible HTTP API: /v1/embeddings, /classify, /score, /rerank, /pooling,
/tokenize, /detokenize, /v1/models, /health, /ping, /version, /metrics.

Options:
  -m, --model <id|url|dir>     a hub id (org/name), a URL prefix or a local folder; repeatable
  --served-model-name <name>   the name clients send as "model"; one per --model, in order
  --host <host>                address to listen on (default 127.0.0.1)
  --port <port>                port (default 8000; 0 picks a free one)
  --max-body-bytes <n>         largest request body accepted (default ${DEFAULT_MAX_BODY_BYTES})
  --base-path <path>           serve every route under this prefix, e.g. /wgpool
${VLLM_OPTIONS_USAGE}
  --backend <webgpu|cpu|auto>  kernels on WebGPU (default), on the CPU (WebAssembly SIMD, no
                               Vulkan needed), or auto: WebGPU on a hardware adapter, else CPU
  --cache-dir <dir>            where downloaded hub / URL models are kept for offline loads
                               (default $WGPOOL_CACHE_DIR, $XDG_CACHE_HOME/wgpool or ~/.cache/wgpool)
  --no-cache                   download every time and keep nothing
  --dtype <auto|f16|f32>       weight storage on the GPU (vLLM's half/float16, float/float32
                               accepted); auto (default): f16 on a hardware adapter with shader-f16
  -q, --quiet                  no per-request log lines
  -h, --help                   this text

Environment: HF_TOKEN (gated or private hub models), HF_ENDPOINT (hub mirror), WGPOOL_CACHE_DIR
(the model cache folder), VLLM_API_KEY,
VK_ICD_FILENAMES (Vulkan driver for Dawn; without a GPU point it at SwiftShader).`;

export interface ServeArgs {
  models: string[];
  servedModelNames: string[];
  host: string;
  port: number;
  maxBodyBytes: number;
  basePath?: string;
  quiet: boolean;
  /** --pooler-config, --hf-overrides, --chat-template, --api-key, CORS (./cli_options.ts). */
  vllm: VllmOptions;
  backend: BackendChoice;
  /** --no-cache (false) or --cache-dir; absent: the default cache folder. */
  cache?: false | { dir: string };
  dtype: DtypeChoice;
}

/** vLLM --dtype spellings wgpool accepts, and what they mean here (bfloat16 is not a GPU storage dtype). */
const DTYPE_NAMES: Record<string, DtypeChoice> = { auto: 'auto', f16: 'f16', half: 'f16', float16: 'f16', f32: 'f32', float: 'f32', float32: 'f32' };

/** An argument error: main() prints it with the usage and exits 2. */
export class UsageError extends BadRequestError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parse `serve …` arguments (the command word included). Returns null for --help. */
export function parseServeArgs(argv: string[]): ServeArgs | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        model: { type: 'string', short: 'm', multiple: true },
        'served-model-name': { type: 'string', multiple: true },
        host: { type: 'string' },
        port: { type: 'string' },
        'max-body-bytes': { type: 'string' },
        'base-path': { type: 'string' },
        backend: { type: 'string' },
        dtype: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        'cache-dir': { type: 'string' },
        'no-cache': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...VLLM_OPTION_SPECS,
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  const [command, ...rest] = positionals;
  if (command !== 'serve') throw new UsageError(command === undefined ? 'Missing the command (serve).' : `Unknown command '${command}'.`);
  const models = [...rest, ...(values.model ?? [])];
  if (models.length === 0) throw new UsageError('Give at least one model: --model <hub id | URL | folder>.');
  const servedModelNames = values['served-model-name'] ?? [];
  if (servedModelNames.length > 0 && servedModelNames.length !== models.length) {
    throw new UsageError(`Give one --served-model-name per model: ${models.length} model(s), ${servedModelNames.length} name(s).`);
  }
  const names = servedModelNames.length ? servedModelNames : models;
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`The model name '${dup}' is used twice; give distinct --served-model-name values.`);
  const basePath = values['base-path'];
  if (basePath !== undefined && !basePath.startsWith('/')) throw new UsageError(`--base-path must start with '/', got '${basePath}'.`);
  const backend = values.backend ?? 'webgpu';
  if (backend !== 'webgpu' && backend !== 'cpu' && backend !== 'auto') throw new UsageError(`--backend must be webgpu, cpu or auto, got '${backend}'.`);
  if (values['no-cache'] && values['cache-dir'] !== undefined) throw new UsageError('Give --no-cache or --cache-dir, not both.');
  if (values['cache-dir'] === '') throw new UsageError('--cache-dir must not be empty.');
  const cache = values['no-cache'] ? false : values['cache-dir'] !== undefined ? { dir: values['cache-dir'] } : undefined;
  const dtypeName = values.dtype ?? 'auto';
  const dtype = Object.hasOwn(DTYPE_NAMES, dtypeName) ? DTYPE_NAMES[dtypeName] : undefined;
  if (!dtype) throw new UsageError(`--dtype must be one of ${Object.keys(DTYPE_NAMES).join(', ')}, got '${dtypeName}'.`);
  return {
    models,
    servedModelNames,
    host: values.host ?? '127.0.0.1',
    port: intOption('--port', values.port, 8000, 0, 65535),
    maxBodyBytes: intOption('--max-body-bytes', values['max-body-bytes'], DEFAULT_MAX_BODY_BYTES, 1, Number.MAX_SAFE_INTEGER),
    basePath,
    quiet: values.quiet ?? false,
    vllm: readVllmOptions(values, (m) => new UsageError(m)),
    backend,
    ...(cache !== undefined ? { cache } : {}),
    dtype,
  };
}

function intOption(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, got '${v}'.`);
  return n;
}

export interface CliIo {
  /** The startup line (default: stdout). */
  out?: (line: string) => void;
  /** Errors and request logs (default: stderr). */
  err?: (line: string) => void;
  /** How engines are made (default: createEngine from src/engine.ts). */
  createEngine?: (opts: EngineOptions) => Promise<EngineApi>;
  /** Shut down when this aborts, as SIGINT / SIGTERM do. */
  shutdown?: AbortSignal;
  /** Listen for SIGINT / SIGTERM (default true). */
  signals?: boolean;
  /** Environment for HF_TOKEN / HF_ENDPOINT (default process.env). */
  env?: Record<string, string | undefined>;
}

/** Run the CLI; resolves with the process exit code once the server has shut down. */
export async function main(argv: string[], io: CliIo = {}): Promise<number> {
  const out = io.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = io.err ?? ((l: string) => process.stderr.write(l + '\n'));
  let args: ServeArgs | null;
  try {
    args = parseServeArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`wgpool: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (!args) {
    out(USAGE);
    return 0;
  }

  // Shutdown is requested before or while loading, or while serving; either way it ends here.
  const stop = new AbortController();
  io.shutdown?.addEventListener('abort', () => stop.abort(), { once: true });
  if (io.shutdown?.aborted) stop.abort();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      err(`wgpool: ${signal} again, exiting now.`);
      process.exit(1);
    }
    err(`wgpool: ${signal}, shutting down…`);
    stop.abort();
  };
  const useSignals = io.signals ?? true;
  if (useSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const env = io.env ?? process.env;
  const make = io.createEngine ?? createEngine;
  const engines = new Map<string, EngineApi>();
  const vllm = args.vllm;
  const apiKeys = vllm.apiKeys.length ? vllm.apiKeys : env.VLLM_API_KEY ? [env.VLLM_API_KEY] : [];
  try {
    const chatTemplate = vllm.chatTemplate === undefined ? undefined : resolveChatTemplate(vllm.chatTemplate);
    const pooler = vllm.poolerConfig;
    for (let i = 0; i < args.models.length; i++) {
      const name = args.servedModelNames[i];
      // The served name only keys the map: info.model keeps the source, which /v1/models reports
      // as `root` (vLLM's ModelCard does the same).
      const loaded = await make({
        model: args.models[i],
        token: env.HF_TOKEN || undefined,
        endpoint: env.HF_ENDPOINT || undefined,
        signal: stop.signal,
        ...(chatTemplate !== undefined ? { chatTemplate } : {}),
        ...(vllm.hfOverrides ? { hfOverrides: vllm.hfOverrides } : {}),
        ...(pooler ? { ...poolerEngineOptions(pooler), ...chunkingOptions(pooler) } : {}),
        backend: args.backend,
        ...(args.cache !== undefined ? { cache: args.cache } : {}),
        dtype: args.dtype,
        onProgress: args.quiet ? undefined : progressLines(args.models[i], err),
      });
      let engine = loaded;
      if (pooler) {
        try {
          engine = withPoolerConfig(loaded, pooler);
        } catch (e) {
          await loaded.dispose();
          throw e;
        }
      }
      engines.set(name ?? engine.info.model, engine);
      if (stop.signal.aborted) break;
    }
    if (stop.signal.aborted) return 0;

    const server = await serve({
      engines,
      host: args.host,
      port: args.port,
      maxBodyBytes: args.maxBodyBytes,
      basePath: args.basePath,
      apiKeys,
      cors: vllm.cors,
      log: args.quiet ? (l) => (l.startsWith('error') ? err(l) : undefined) : err,
    });
    out(startupLine(server.url + (args.basePath ?? ''), engines));
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
    return 0;
  } catch (e) {
    if (stop.signal.aborted && e instanceof Error && e.name === 'AbortError') return 0;
    err(`wgpool: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    if (useSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await Promise.allSettled([...engines.values()].map((e) => e.dispose()));
  }
}

/** The one line printed at startup: where, what, and on which GPU. */
export function startupLine(url: string, engines: Map<string, EngineApi>): string {
  const models = [...engines].map(([name, e]) => {
    const from = e.info.model !== name ? ` from ${e.info.model}` : '';
    return `${name}${from} (${e.info.architecture}, ${e.info.maxLength} tokens, ${e.info.tasks.join('/')})`;
  });
  const adapters = [...new Set([...engines.values()].map((e) => describeAdapter(e.info.adapter)))];
  return `wgpool serving ${url} | models: ${models.join(', ')} | GPU: ${adapters.join('; ')}`;
}

export function describeAdapter(a: AdapterReport): string {
  if (a.vendor === 'wgpool' && a.device === 'cpu') return `CPU backend (${a.description})`;
  const name = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  const detail = a.description || a.device;
  return `${name}${detail ? ` (${detail})` : ''}${a.isSoftware ? ', software renderer' : ''}`;
}
