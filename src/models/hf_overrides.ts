// vLLM's `--hf-overrides`: a JSON object merged into config.json before anything reads it, so every
// consumer (config parsing, the classifier head, pooling resolution) sees one consistent config.
// Typical keys: `is_matryoshka`, `matryoshka_dimensions`, `classifier_from_token`, `architectures`,
// `num_labels`. Nested objects merge key by key (vLLM updates nested sub-configs the same way);
// arrays and scalars replace.

import { BadRequestError } from '../gpu/errors';
import type { ModelSource } from '../loading/source';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `base` with `overrides` merged in (a new object; neither argument changes). */
export function mergeHfOverrides(base: Json, overrides: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(overrides)) out[k] = isObject(v) && isObject(base[k]) ? mergeHfOverrides(base[k] as Json, v) : v;
  return out;
}

/** Check the shape of an --hf-overrides value: a JSON object. */
export function checkHfOverrides(v: unknown): Json {
  if (!isObject(v)) throw new BadRequestError(`hf_overrides must be a JSON object, got ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}.`);
  return v;
}

/** A source whose config.json carries the overrides; every other file passes through. */
export function withHfOverrides(source: ModelSource, overrides: Json | undefined): ModelSource {
  if (!overrides || Object.keys(checkHfOverrides(overrides)).length === 0) return source;
  const merged = async (signal?: AbortSignal) => {
    const base = await source.json<unknown>('config.json', signal);
    if (!isObject(base)) return base;
    return mergeHfOverrides(base, overrides);
  };
  const isConfig = (path: unknown) => typeof path === 'string' && path.replace(/^\.?\//, '') === 'config.json';
  const replaced: Partial<ModelSource> = {
    bytes: async (path, signal) => (isConfig(path) ? new TextEncoder().encode(JSON.stringify(await merged(signal))) : source.bytes(path, signal)),
    text: async (path, signal) => (isConfig(path) ? JSON.stringify(await merged(signal)) : source.text(path, signal)),
    json: async <T>(path: string, signal?: AbortSignal) => (isConfig(path) ? ((await merged(signal)) as T) : source.json<T>(path, signal)),
  };
  // A Proxy rather than a copy: whatever else a source offers (now or later) passes through untouched.
  return new Proxy(source, {
    get(target, prop) {
      if (prop in replaced) return replaced[prop as keyof ModelSource];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
