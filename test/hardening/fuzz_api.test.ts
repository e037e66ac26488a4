// Property: every JS API call of the engine — embed, classify, score, rerank, encode (token_embed /
// token_classify), tokenize, detokenize, renderChat — with random arguments (wrong types, sizes,
// Unicode with lone surrogates and NUL, huge / negative / fractional dimensions, top_n, truncation
// values, token ids, chat messages, aborts) ends in a result or a typed error within a time bound,
// and the WebGPU device reports no validation error. Results that come back are well formed: one
// row per input, finite numbers. After the run each engine still answers a plain request with the
// same vector as before the run (a bad request must not poison the batch path).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import type { BackendChoice } from '../../src/backend';
import { BACKENDS } from '../helpers/backends';
import { fixtureDir } from '../helpers/fixtures';
import { anyValue, field, fuzzParams, idList, inputs, maybe, number, saneInputs, settle, Tally, text } from '../helpers/fuzz';
import { watchGpuErrors, type GpuErrorWatch } from '../helpers/gpu_errors';

const CHAT_FIXTURE = new URL('../fixtures/chat/tiny-qwen3-embed-chat', import.meta.url).pathname;
const tally = new Tally();
afterAll(() => console.log(tally.report('JS API fuzz')));

function calls(field: <T>(valid: fc.Arbitrary<T>) => fc.Arbitrary<unknown>, inputs: fc.Arbitrary<unknown>) {
const common = {
  truncatePromptTokens: field(fc.constantFrom(-1, 1, 2, 5, 512, 513)),
  truncationSide: field(fc.constantFrom('left', 'right')),
  addSpecialTokens: field(fc.boolean()),
  priority: field(fc.integer({ min: -10, max: 10 })),
};
const abort = fc.oneof({ weight: 9, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom('before' as const, 'soon' as const) });

return fc.oneof(
  fc.record({ method: fc.constant('embed' as const), input: inputs, opts: fc.record({ ...common, dimensions: field(fc.constantFrom(16, 32, 64, 128)), encodingFormat: field(fc.constantFrom('float', 'base64', 'binary', 'ubinary')), normalize: field(fc.boolean()), useActivation: field(fc.boolean()), prompt: field(text), promptName: field(fc.constantFrom('query', 'document')), pooling: field(fc.constantFrom('cls', 'mean', 'last', 'max', 'mean_sqrt_len_tokens')) }), abort }),
  fc.record({ method: fc.constant('classify' as const), input: inputs, opts: fc.record({ ...common, useActivation: field(fc.boolean()), dimensions: field(fc.constant(undefined)) }), abort }),
  fc.record({ method: fc.constant('score' as const), a: inputs, b: inputs, opts: fc.record({ ...common, matrix: field(fc.boolean()), useActivation: field(fc.boolean()), maxTokensPerQuery: field(number), maxTokensPerDoc: field(number) }), abort }),
  fc.record({ method: fc.constant('rerank' as const), query: fc.oneof(text, anyValue), documents: fc.oneof(fc.array(text, { maxLength: 6 }), anyValue), opts: fc.record({ ...common, topN: field(number), returnDocuments: field(fc.boolean()) }), abort }),
  fc.record({ method: fc.constant('encode' as const), input: inputs, opts: fc.record({ ...common, task: field(fc.constantFrom('token_embed', 'token_classify', 'embed')), dimensions: field(fc.constantFrom(16, 32, 64, 128)), useActivation: field(fc.boolean()) }), abort }),
  fc.record({ method: fc.constant('tokenize' as const), text: fc.oneof(text, anyValue), opts: fc.record({ addSpecialTokens: field(fc.boolean()), returnTokenStrs: field(fc.boolean()) }), abort: fc.constant('none' as const) }),
  fc.record({ method: fc.constant('detokenize' as const), ids: fc.oneof(idList, anyValue), abort: fc.constant('none' as const) }),
  fc.record({
    method: fc.constant('renderChat' as const),
    messages: fc.oneof(fc.array(fc.record({ role: field(fc.constantFrom('system', 'user', 'assistant', 'tool')), content: fc.oneof(text, fc.array(fc.record({ type: field(fc.constantFrom('text', 'image_url')), text: field(text) }), { maxLength: 3 }), anyValue) }), { maxLength: 4 }), anyValue),
    opts: fc.record({ addGenerationPrompt: field(fc.boolean()), continueFinalMessage: field(fc.boolean()), chatTemplate: field(fc.constantFrom('{{ messages[0].content }}', '{% for m in messages %}{{ m.content }}{% endfor %}', '{{ raise_exception("no") }}', '{{ x.y.z }}', '{% if %}')), chatTemplateKwargs: field(fc.dictionary(fc.string({ maxLength: 4 }), anyValue, { maxKeys: 2 })) }),
    abort: fc.constant('none' as const),
  }),
);
}

/** Two in three calls have only valid-looking fields (they reach the model); the rest anything. */
const call = fc.oneof({ weight: 2, arbitrary: calls(maybe, saneInputs) }, { weight: 1, arbitrary: calls(field, inputs) });
type Call = typeof call extends fc.Arbitrary<infer T> ? T : never;

/** Strip undefined fields, so "left out" really is left out. */
const clean = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function invoke(engine: Engine, c: Call): () => unknown {
  const e = engine as unknown as Record<string, (...a: unknown[]) => unknown>;
  let signal: AbortSignal | undefined;
  if (c.abort === 'before') signal = AbortSignal.abort();
  else if (c.abort === 'soon') signal = AbortSignal.timeout(1);
  const opts = 'opts' in c ? { ...clean(c.opts as Record<string, unknown>), ...(signal ? { signal } : {}) } : undefined;
  switch (c.method) {
    case 'embed': case 'classify': case 'encode':
      return () => e[c.method](c.input, opts);
    case 'score':
      return () => e.score(c.a, c.b, opts);
    case 'rerank':
      return () => e.rerank(c.query, c.documents, opts);
    case 'tokenize':
      return () => e.tokenize(c.text, opts);
    case 'detokenize':
      return () => e.detokenize(c.ids);
    case 'renderChat':
      return () => e.renderChat(c.messages, opts);
  }
}

/** The checks on a call that succeeded. */
function checkResult(c: Call, value: unknown): void {
  const finite = (xs: ArrayLike<number>) => Array.from(xs).every(Number.isFinite);
  const r = value as Record<string, unknown>;
  if (c.method === 'embed') {
    for (const v of r.embeddings as unknown[]) if (v instanceof Float32Array) expect(finite(v)).toBe(true);
  } else if (c.method === 'classify') {
    for (const d of r.data as { probs: number[] }[]) expect(finite(d.probs)).toBe(true);
  } else if (c.method === 'score') {
    expect(finite(r.scores as number[])).toBe(true);
  } else if (c.method === 'rerank') {
    const scores = (r.results as { relevanceScore: number }[]).map((x) => x.relevanceScore);
    expect(finite(scores)).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toStrictEqual(scores);
  } else if (c.method === 'encode') {
    for (const rows of r.data as Float32Array[][]) for (const row of rows) expect(finite(row)).toBe(true);
  } else if (c.method === 'tokenize') {
    expect((r.tokens as number[]).length).toBe(r.count);
  } else if (c.method === 'detokenize' || c.method === 'renderChat') {
    expect(typeof value).toBe('string');
  }
}

/** The fixtures per backend: every task on the CPU; on SwiftShader one embedder (a load costs ~30 s there). */
const MODELS: Record<BackendChoice, string[]> = {
  cpu: ['tiny-bert-embed', 'tiny-bert-seqcls', 'tiny-bert-crossenc', 'tiny-bert-tokcls', 'chat'],
  webgpu: ['tiny-bert-embed'],
  auto: [],
};

for (const backend of BACKENDS) {
  describe(`JS API fuzz [${backend}]`, () => {
    const engines = new Map<string, Engine>();
    const before = new Map<string, Float32Array | number[]>();
    let watch: GpuErrorWatch | undefined;

    beforeAll(async () => {
      for (const name of MODELS[backend]) {
        const model = name === 'chat' ? CHAT_FIXTURE : fixtureDir(name as 'tiny-bert-embed');
        const engine = await createEngine({ model, backend, scheduler: { maxQueuedTokens: 4096 } });
        engines.set(name, engine);
        before.set(name, await probe(engine));
      }
      if (backend === 'webgpu') watch = watchGpuErrors(engines.get('tiny-bert-embed')!.gpu.device);
    }, 240_000);

    afterAll(async () => {
      for (const e of engines.values()) await e.dispose();
    });

    for (const name of MODELS[backend]) {
      it(`${name}: results or typed errors, no GPU validation error, the engine still answers right`, async () => {
        const engine = engines.get(name)!;
        await fc.assert(
          fc.asyncProperty(call, async (c) => {
            const out = await settle(invoke(engine, c), 30_000, { abortable: c.abort !== 'none' });
            tally.add(`${backend} ${name} ${c.method}`, out.kind === 'ok' ? 'ok' : out.label);
            if (out.kind === 'ok') checkResult(c, out.value);
            watch?.check();
          }),
          fuzzParams(backend === 'webgpu' ? 120 : 250, backend === 'webgpu' ? 90_000 : 60_000),
        );
        await watch?.flush();
        watch?.check();
        expect(await probe(engine)).toStrictEqual(before.get(name));
        expect(engine.stats().queuedRequests).toBe(0);
      }, 300_000);
    }
  });
}

/** A plain request whose answer must not change across the fuzz run. */
async function probe(engine: Engine): Promise<Float32Array | number[]> {
  const t = engine.info.tasks;
  if (t.includes('embed')) return (await engine.embed('the probe sentence')).embeddings[0];
  if (t.includes('classify')) return (await engine.classify('the probe sentence')).data[0].probs;
  return Array.from((await engine.encode('the probe sentence', { task: 'token_classify' })).data[0][0]);
}
