// Typed loader for the float64 oracle outputs in test/fixtures/goldens/<fixture>.json, from disk
// (Node). The types and the structural check live in ./golden_types (shared with the browser suite).
import { readFileSync } from 'node:fs';
import { GOLDENS_ROOT, type FixtureName } from './fixtures';
import { validateGolden, type Golden } from './golden_types';

export * from './golden_types';

const cache = new Map<FixtureName, Golden>();

/** Load (once per process) and sanity-check one fixture's golden file. */
export function loadGolden(name: FixtureName): Golden {
  const hit = cache.get(name);
  if (hit) return hit;
  const g = validateGolden(name, JSON.parse(readFileSync(`${GOLDENS_ROOT}/${name}.json`, 'utf8')));
  cache.set(name, g);
  return g;
}

/** Type-narrowing loader: throws when the fixture's golden is of another kind. */
export function loadGoldenOf<K extends Golden['kind']>(name: FixtureName, kind: K): Extract<Golden, { kind: K }> {
  const g = loadGolden(name);
  if (g.kind !== kind) throw new Error(`golden ${name}.json is kind ${g.kind}, not ${kind}`);
  return g as Extract<Golden, { kind: K }>;
}
