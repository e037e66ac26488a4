// Property: a model whose files were mutated — config.json, tokenizer.json, tokenizer_config.json,
// the sentence-transformers files (modules.json, 1_Pooling/config.json, 2_Dense, prompts), one file
// removed or truncated — either loads through the real load path (createEngine on an in-memory
// source, the same code that reads a hub repo or picked files) and then answers a request, or is
// refused with a typed error, within a time bound. What a load allocates stays within a bound set
// by the files (weights once, plus activations), and dispose() leaves no live buffer.
// The loads run on the CPU backend: the load path up to the kernels is the backend-independent one,
// and a WebGPU load costs ~30 s of pipeline compiles on SwiftShader per case.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { memorySource } from '../../src/loading/source';
import { FIXTURES_ROOT } from '../helpers/fixtures';
import { anyValue, fuzzParams, settle, Tally, text } from '../helpers/fuzz';

const tally = new Tally();
afterAll(() => console.log(tally.report('model files fuzz (createEngine, backend cpu)')));

function readModel(name: string): Record<string, Uint8Array> {
  const root = join(FIXTURES_ROOT, name);
  const out: Record<string, Uint8Array> = {};
  const walk = (dir: string, rel: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      const r = rel ? `${rel}/${f}` : f;
      if (statSync(p).isDirectory()) walk(p, r);
      else out[r] = new Uint8Array(readFileSync(p));
    }
  };
  walk(root, '');
  return out;
}

const MODELS = {
  'tiny-bert-embed': readModel('tiny-bert-embed'),
  'tiny-bert-dense-embed': readModel('tiny-bert-dense-embed'),
  'tiny-bert-seqcls': readModel('tiny-bert-seqcls'),
  'tiny-qwen3-embed': readModel('tiny-qwen3-embed'),
};
type ModelName = keyof typeof MODELS;

/** One edit of a JSON document: descend by `steps` (child index mod count), then act there. */
const jsonEdit = fc.record({
  steps: fc.array(fc.nat(), { maxLength: 4 }),
  action: fc.constantFrom('replace', 'delete', 'replace', 'wrap'),
  value: fc.oneof(anyValue, fc.constantFrom(1e9, 2 ** 31, 0, -1, 1.5, 'bert', 'qwen3', 'BertModel', 'mean', 'lasttoken'), text),
});
type JsonEdit = typeof jsonEdit extends fc.Arbitrary<infer T> ? T : never;

function editJson(doc: unknown, e: JsonEdit): unknown {
  const root = { doc };
  let parent: Record<string, unknown> | unknown[] = root;
  let key: string | number = 'doc';
  for (const step of e.steps) {
    const node = (parent as Record<string, unknown>)[key as string];
    if (typeof node !== 'object' || node === null) break;
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    parent = node as Record<string, unknown>;
    key = keys[step % keys.length];
  }
  if (e.action === 'delete' && parent !== root) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string, unknown>)[key as string];
  } else if (e.action === 'wrap') {
    (parent as Record<string, unknown>)[key as string] = [(parent as Record<string, unknown>)[key as string]];
  } else {
    (parent as Record<string, unknown>)[key as string] = e.value;
  }
  return root.doc;
}

const fileMutation = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('json' as const), file: fc.nat(), edits: fc.array(jsonEdit, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), file: fc.nat(), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), file: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), file: fc.nat(), flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }) }) },
);
type FileMutation = typeof fileMutation extends fc.Arbitrary<infer T> ? T : never;

function mutateModel(name: ModelName, m: FileMutation): { files: Record<string, Uint8Array>; target: string } {
  const files = { ...MODELS[name] };
  const jsonFiles = Object.keys(files).filter((f) => f.endsWith('.json'));
  const all = Object.keys(files);
  const pick = (list: string[], i: number) => list[i % list.length];
  if (m.kind === 'json') {
    const f = pick(jsonFiles, m.file);
    let doc = JSON.parse(new TextDecoder().decode(files[f]));
    for (const e of m.edits) doc = editJson(doc, e);
    files[f] = new TextEncoder().encode(JSON.stringify(doc) ?? '');
    return { files, target: f };
  }
  const f = pick(all, m.file);
  if (m.kind === 'remove') delete files[f];
  else if (m.kind === 'truncate') files[f] = files[f].subarray(0, m.at % (files[f].length + 1));
  else {
    const copy = files[f].slice();
    for (const [at, v] of m.flips) if (copy.length) copy[at % copy.length] = v;
    files[f] = copy;
  }
  return { files, target: f };
}

const sizeOf = (files: Record<string, Uint8Array>) => Object.values(files).reduce((a, b) => a + b.byteLength, 0);

describe('mutated model files load or fail typed', () => {
  for (const name of Object.keys(MODELS) as ModelName[]) {
    it(name, async () => {
      await fc.assert(
        fc.asyncProperty(fileMutation, async (m) => {
          const { files, target } = mutateModel(name, m);
          const label = `${name} ${m.kind} ${target.replace(/^\d+_/, 'N_')}`;
          const load = await settle(() => createEngine({ model: memorySource(name, files), backend: 'cpu' }), 30_000);
          if (load.kind === 'error') {
            tally.add(label, load.label);
            return;
          }
          const engine = load.value as Engine;
          try {
            // Weights once (+ the CPU kernels' packed copies) and activations: nothing sized by a
            // declared number the files do not back.
            expect(engine.stats().gpuBuffers.liveBytes).toBeLessThan(3 * sizeOf(files) + 64 * 2 ** 20);
            const task = engine.info.tasks[0];
            const run = task === 'embed' ? () => engine.embed(['hello world', 'a b c']) : task === 'classify' ? () => engine.classify('hello world') : () => engine.encode('hello world', { task: task as 'token_classify' });
            const out = await settle(run, 30_000);
            tally.add(label, out.kind === 'ok' ? 'loaded, answered' : `loaded, ${out.label}`);
          } finally {
            const gpu = engine.gpu;
            await engine.dispose();
            expect(gpu.bufferCount().liveBuffers).toBe(0);
          }
        }),
        fuzzParams(150, 60_000),
      );
    }, 240_000);
  }
});
