// The `wgpool serve` options that mirror `vllm serve`'s: --pooler-config, --hf-overrides,
// --chat-template, --api-key, --allowed-origins / --allowed-methods / --allowed-headers. Kept apart
// from cli.ts so the CLI's own options (models, port, logging) stay readable. Each applies to
// every --model the command serves.

import { existsSync, readFileSync } from 'node:fs';
import { BadRequestError } from '../gpu/errors';
import { checkHfOverrides } from '../models/hf_overrides';
import { parsePoolerConfig, type PoolerConfig } from '../router/pooler_config';
import type { CorsOptions } from './cors';

export const VLLM_OPTION_SPECS = {
  'pooler-config': { type: 'string' },
  'hf-overrides': { type: 'string' },
  'chat-template': { type: 'string' },
  'api-key': { type: 'string', multiple: true },
  'allowed-origins': { type: 'string' },
  'allowed-methods': { type: 'string' },
  'allowed-headers': { type: 'string' },
} as const;

export const VLLM_OPTIONS_USAGE = `  --pooler-config <json>       vLLM PoolerConfig, e.g. '{"pooling_type":"MEAN","use_activation":false}'
                               (task, pooling_type, seq/tok_pooling_type, use_activation, dimensions,
                               enable_chunked_processing, max_embed_len)
  --hf-overrides <json>        merged into config.json before loading, e.g. '{"is_matryoshka":true}'
  --chat-template <file|text>  Jinja chat template for \`messages\` input instead of the tokenizer's
  --api-key <key>              require "Authorization: Bearer <key>" (repeatable; env VLLM_API_KEY)
  --allowed-origins <list>     CORS origins, a JSON list or comma-separated ('["*"]' for any);
                               default: none (same origin only)
  --allowed-methods <list>     CORS methods (default any)
  --allowed-headers <list>     CORS request headers (default any)`;

export interface VllmOptions {
  poolerConfig?: PoolerConfig;
  hfOverrides?: Record<string, unknown>;
  /** As given: a file path or the template itself (resolveChatTemplate reads it). */
  chatTemplate?: string;
  apiKeys: string[];
  cors?: CorsOptions;
}

type Values = { [K in keyof typeof VLLM_OPTION_SPECS]?: (typeof VLLM_OPTION_SPECS)[K] extends { multiple: true } ? string[] : string };

/** A list option: a JSON list of strings, or comma-separated. */
function listOption(name: string, v: string | undefined, fail: (m: string) => Error): string[] | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  let list: unknown;
  if (t.startsWith('[')) {
    try {
      list = JSON.parse(t);
    } catch (e) {
      throw fail(`--${name} is not a valid JSON list: ${(e as Error).message}`);
    }
  } else list = t.split(',').map((x) => x.trim()).filter(Boolean);
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string' || !x)) throw fail(`--${name} must be a non-empty list of strings, got '${v}'.`);
  return list as string[];
}

function jsonObject(name: string, v: string, fail: (m: string) => Error): unknown {
  try {
    return JSON.parse(v);
  } catch (e) {
    throw fail(`--${name} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Read the vLLM-style options; `fail` makes the CLI's usage error. */
export function readVllmOptions(values: Values, fail: (m: string) => Error): VllmOptions {
  const out: VllmOptions = { apiKeys: values['api-key'] ?? [] };
  if (out.apiKeys.some((k) => !k)) throw fail('--api-key must not be empty.');
  try {
    if (values['pooler-config'] !== undefined) out.poolerConfig = parsePoolerConfig(jsonObject('pooler-config', values['pooler-config'], fail));
    if (values['hf-overrides'] !== undefined) out.hfOverrides = checkHfOverrides(jsonObject('hf-overrides', values['hf-overrides'], fail));
  } catch (e) {
    throw fail((e as Error).message.replace(/^pooler_config: /, '--pooler-config: ').replace(/^hf_overrides /, '--hf-overrides '));
  }
  if (values['chat-template'] !== undefined) out.chatTemplate = values['chat-template'];
  const origins = listOption('allowed-origins', values['allowed-origins'], fail);
  const methods = listOption('allowed-methods', values['allowed-methods'], fail);
  const headers = listOption('allowed-headers', values['allowed-headers'], fail);
  if (origins) out.cors = { allowedOrigins: origins, allowedMethods: methods, allowedHeaders: headers };
  else if (methods || headers) throw fail('--allowed-methods and --allowed-headers need --allowed-origins.');
  return out;
}

/**
 * The chat template text of --chat-template: the file it names, or the argument itself when it is
 * a template (vLLM takes both). A path-like argument whose file is missing is an error.
 */
export function resolveChatTemplate(arg: string): string {
  if (existsSync(arg)) return readFileSync(arg, 'utf8');
  if (/\{[{%]/.test(arg)) return arg;
  throw new BadRequestError(`--chat-template: '${arg}' is neither a file nor a Jinja template.`);
}
