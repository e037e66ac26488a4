// Shrunk failing cases the fuzz suites found, kept as plain tests (each names the bug it pinned).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, ModelLoadError } from '../../src/index';
import { BadRequestError, showValue } from '../../src/gpu/errors';
import { memorySource } from '../../src/loading/source';
import { fixtureDir } from '../helpers/fixtures';
import { createHandler } from '../../src/serve/handler';
import { FakeEngine } from '../../src/serve/fake_engine';

/** tiny-bert-embed in memory with tokenizer.json edited. */
function withTokenizer(edit: (tok: Record<string, any>) => void) {
  const dir = fixtureDir('tiny-bert-embed');
  const files: Record<string, Uint8Array | string> = {};
  for (const f of ['config.json', 'model.safetensors', 'tokenizer_config.json', 'modules.json', '1_Pooling/config.json']) files[f] = new Uint8Array(readFileSync(join(dir, f)));
  const tok = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  edit(tok);
  files['tokenizer.json'] = JSON.stringify(tok);
  return memorySource('tiny-bert-embed (edited)', files);
}

describe('fuzz regressions', () => {
  // fuzz_model_files: post_processor.single replaced by a number or a string made the library throw
  // "type is not iterable" / "Cannot use 'in' operator" on the first request — an untyped TypeError
  // from embed(). The tokenizer now encodes a probe at load.
  for (const value of [1e9, '\u{7AD27}x', null]) {
    it(`a post_processor.single of ${showValue(value)} is a ModelLoadError at load, not a TypeError per request`, async () => {
      const load = createEngine({ model: withTokenizer((t) => void (t.post_processor.single = value)), backend: 'cpu' });
      await expect(load).rejects.toThrow(ModelLoadError);
      await expect(load).rejects.toThrow(/tokenizer\.json .* cannot be used/);
    });
  }

  // fuzz_api: encode('x', {task: {__proto__: null}}) threw "Cannot convert object to primitive value"
  // while building its own error message.
  it('an options object without a prototype gets a BadRequestError naming it', async () => {
    const engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), backend: 'cpu' });
    try {
      const task = Object.assign(Object.create(null), { PB: -2.5 });
      await expect(engine.encode('x', { task })).rejects.toThrow(BadRequestError);
      await expect(engine.encode('x', { task })).rejects.toThrow(/Unknown task \{"PB":-2.5\}/);
      // …and a prototype-less `priority` did the same inside the scheduler's validation (rerank).
      await expect(engine.rerank('', [''], { priority: Object.create(null) })).rejects.toThrow(/Priority must be a finite number, got \{\}/);
      await expect(engine.rerank('q', ['d'], { topN: Object.create(null) })).rejects.toThrow(BadRequestError);
    } finally {
      await engine.dispose();
    }
  });

  // fuzz_http: a body `request_id` with a character outside visible ASCII (here U+202E) went into
  // the x-request-id header, and node:http threw while writing the computed answer.
  it('a request_id outside ASCII answers 200 with a header-safe x-request-id', async () => {
    const handler = createHandler({ engines: new Map([['m', new FakeEngine()]]) });
    const res = await handler(new Request('http://x/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'a', request_id: 'ab\u202Ec\uD800' }) }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('ab%u202ec%ud800');
    expect((await res.json()).id).toContain('ab\u202Ec');
  });

  it('showValue never throws', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const v of [Object.create(null), cyclic, 10n, [1n], Symbol('s'), () => 1, 'x'.repeat(500)]) expect(typeof showValue(v)).toBe('string');
  });
});
