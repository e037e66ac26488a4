// The task router's parameter rules and output formats on an embedding model (vLLM semantics):
// matryoshka rules, task/parameter errors, truncation, prompts, base64 / binary encodings, bi-encoder
// cosine and late-interaction MaxSim scores from the goldens' vectors, aborts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, createEngine, type Engine } from '../../src/index';
import { describeBackends } from '../helpers/backends';
import { fixtureDir } from '../helpers/fixtures';
import { loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';

const golden = loadGoldenOf('tiny-bert-embed', 'embed');
const texts = golden.cases.map((c) => c.text);
const long = golden.cases[7].text; // 63 tokens

describeBackends('tasks on tiny-bert-embed', (backend) => {
  let engine: Engine;
  let late: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), backend });
    late = await createEngine({ model: fixtureDir('tiny-bert-embed'), lateInteraction: true, backend });
  });
  afterAll(async () => {
    await engine?.dispose();
    await late?.dispose();
  });

  function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  }

  function normalized(v: readonly number[]): number[] {
    const n = Math.sqrt(dot(v, v));
    return v.map((x) => x / n);
  }

  describe('parameter rules', () => {
    it('dimensions must be one of matryoshka_dimensions when the model lists them (vLLM wording)', async () => {
      await expect(engine.embed('x', { dimensions: 20 })).rejects.toThrow(
        `Model "${engine.info.model}" only supports [16, 32, 64] matryoshka dimensions, use other output dimensions will lead to poor results.`,
      );
      await expect(engine.embed('x', { dimensions: 16.5 })).rejects.toThrow(/dimensions must be an integer/);
    });

    it('tasks the model does not serve are refused by name', async () => {
      await expect(engine.classify('x')).rejects.toThrow(/Task 'classify' is not supported by model/);
      await expect(engine.encode('x', { task: 'token_classify' })).rejects.toThrow(/Task 'token_classify' is not supported/);
      await expect(engine.encode('x', { task: 'nope' as never })).rejects.toThrow(/Unknown task 'nope'/);
    });

    it('parameters a task does not take are named (vLLM wording)', async () => {
      await expect(engine.score('a', 'b', { dimensions: 16 } as never)).rejects.toThrow(
        "Task 'score' only supports ['use_activation'] parameters, does not support ['dimensions'] parameters",
      );
    });

    it('normalize is the alias of use_activation on embed; disagreeing values are refused', async () => {
      const a = await engine.embed(texts[2], { normalize: false });
      const b = await engine.embed(texts[2], { useActivation: false });
      expect(Array.from(a.embeddings[0])).toEqual(Array.from(b.embeddings[0]));
      expect(maxAbsDiff(a.embeddings[0], golden.cases[2].pooled)).toBeLessThan(1e-4);
      await expect(engine.embed('x', { normalize: true, useActivation: false })).rejects.toBeInstanceOf(BadRequestError);
    });

    it('empty and non-string inputs are 400s', async () => {
      await expect(engine.embed([])).rejects.toThrow(/non-empty/);
      await expect(engine.embed([1 as never])).rejects.toThrow(/must be a string/);
      await expect(engine.embed([])).rejects.toMatchObject({ status: 400 });
    });
  });

  describe('truncation', () => {
    it('inputs over the model limit are an error saying how long and what limit', async () => {
      const huge = Array.from({ length: 600 }, () => 'word').join(' ');
      await expect(engine.embed(huge)).rejects.toThrow(/maximum context length is 512 tokens\. However, you requested 602 tokens/);
    });

    it('truncate_prompt_tokens k keeps k tokens with the special tokens; -1 means the model limit', async () => {
      const right = await engine.encode(long, { task: 'token_embed', truncatePromptTokens: 10 });
      expect(right.usage.promptTokens).toBe(10);
      expect(right.data[0].length).toBe(10);
      const ids = engine.tokenize(long).tokens;
      // Right truncation keeps [CLS] + the first 8 text tokens + [SEP]: the first 9 hidden states match
      // the untruncated run only up to attention context, so compare tokenization instead.
      const kept = engine.tokenizer.encode(long, undefined, { maxTokens: 10, truncationSide: 'right' }).ids;
      expect(kept).toEqual([...ids.slice(0, 9), ids[ids.length - 1]]);
      const leftIds = engine.tokenizer.encode(long, undefined, { maxTokens: 10, truncationSide: 'left' }).ids;
      expect(leftIds).toEqual([ids[0], ...ids.slice(ids.length - 9)]);
      const l = await engine.embed(long, { truncatePromptTokens: 10, truncationSide: 'left' });
      const r = await engine.embed(long, { truncatePromptTokens: 10, truncationSide: 'right' });
      expect(l.usage.promptTokens).toBe(10);
      expect(maxAbsDiff(l.embeddings[0], r.embeddings[0])).toBeGreaterThan(1e-3);
      const all = await engine.embed(long, { truncatePromptTokens: -1 });
      expect(maxAbsDiff(all.embeddings[0], golden.cases[7].embedding)).toBeLessThan(1e-5);
    });

    it('bad truncation values are 400s with vLLM wording', async () => {
      await expect(engine.embed('x', { truncatePromptTokens: 0 })).rejects.toThrow(/truncate_prompt_tokens must be -1 or a positive integer/);
      await expect(engine.embed('x', { truncatePromptTokens: 1000 })).rejects.toThrow(
        'truncate_prompt_tokens value (1000) is greater than max_model_len (512). Please, select a smaller truncation size.',
      );
      await expect(engine.embed('x', { truncatePromptTokens: 5, truncationSide: 'middle' as never })).rejects.toThrow(/truncation_side/);
    });
  });

  describe('prompts', () => {
    it('a literal prompt is prepended before tokenization', async () => {
      const a = await engine.embed(texts[3], { prompt: 'query: ' });
      const b = await engine.embed(`query: ${texts[3]}`);
      expect(maxAbsDiff(a.embeddings[0], b.embeddings[0])).toBe(0);
    });

    it('an unknown prompt_name is refused, and prompt + prompt_name together too', async () => {
      await expect(engine.embed('x', { promptName: 'query' })).rejects.toThrow(/Prompt name 'query' not found/);
      await expect(engine.embed('x', { promptName: 'query', prompt: 'q' })).rejects.toThrow(/either prompt or prompt_name/);
    });
  });

  describe('encodings', () => {
    it('base64 is the little-endian float32 bytes of the float embedding', async () => {
      const f = await engine.embed(texts, {});
      const b = await engine.embed(texts, { encodingFormat: 'base64' });
      b.embeddings.forEach((s, i) => {
        const bytes = Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
        expect(Array.from(new Float32Array(bytes.buffer))).toEqual(Array.from(f.embeddings[i]));
      });
    });

    it('ubinary / binary pack the sign bits on the GPU (numpy.packbits order), binary = ubinary − 128', async () => {
      for (const dims of [64, 16]) {
        const u = await engine.embed(texts, { encodingFormat: 'ubinary', dimensions: dims });
        const s = await engine.embed(texts, { encodingFormat: 'binary', dimensions: dims });
        golden.cases.forEach((c, i) => {
          const ref = dims === 64 ? c.embedding : c.matryoshka[String(dims)];
          const want = new Uint8Array(Math.ceil(dims / 8));
          ref.forEach((v, k) => {
            if (v > 0) want[k >> 3] |= 0x80 >> (k & 7);
          });
          expect(Array.from(u.embeddings[i])).toEqual(Array.from(want));
          expect(Array.from(s.embeddings[i])).toEqual(Array.from(want, (x) => x - 128));
        });
      }
      await expect(engine.embed('x', { encodingFormat: 'int4' as never })).rejects.toThrow(/encoding_format/);
    });
  });

  describe('score on embedding models', () => {
    it('bi-encoder: cosine of the two embeddings (1→N and N→N)', async () => {
      const res = await engine.score(texts[3], [texts[2], texts[6]]);
      [2, 6].forEach((j, k) => {
        const want = dot(golden.cases[3].embedding, golden.cases[j].embedding);
        expect(Math.abs(res.scores[k] - want)).toBeLessThan(1e-5);
      });
      const zipped = await engine.score([texts[1], texts[4]], [texts[5], texts[7]]);
      expect(Math.abs(zipped.scores[1] - dot(golden.cases[4].embedding, golden.cases[7].embedding))).toBeLessThan(1e-5);
    });

    it('late interaction: MaxSim over normalized token embeddings', async () => {
      const q = golden.cases[3].last_hidden_state.map(normalized);
      const d = golden.cases[6].last_hidden_state.map(normalized);
      const want = q.reduce((s, qt) => s + Math.max(...d.map((dt) => dot(qt, dt))), 0);
      const res = await late.score(texts[3], texts[6]);
      expect(Math.abs(res.scores[0] - want)).toBeLessThan(1e-4);
      const rr = await late.rerank(texts[3], [texts[6], texts[3]]);
      expect(rr.results[0].index).toBe(1); // a text matches itself best
    });
  });

  describe('cancellation', () => {
    it('an already-aborted signal rejects with AbortError and runs nothing', async () => {
      const before = engine.stats().batches;
      const ctl = new AbortController();
      ctl.abort();
      await expect(engine.embed('x', { signal: ctl.signal })).rejects.toMatchObject({ name: 'AbortError' });
      expect(engine.stats().batches).toBe(before);
      // …and the engine keeps serving.
      const ok = await engine.embed(texts[1]);
      expect(maxAbsDiff(ok.embeddings[0], golden.cases[1].embedding)).toBeLessThan(1e-5);
    });
  });
});
