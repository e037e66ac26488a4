// Chunked processing of long inputs (vLLM enable_chunked_processing + max_embed_len) against the
// float64 goldens of tools/make_chunked_goldens.py: a BERT embedder with 32 positions (mean pooling,
// matryoshka) and Qwen3 served with max_position_embeddings 32 (last-token pooling), each with inputs
// of 1 to 8 chunks. Checked: the combined vectors for every pooling mode inside the chunks, with and
// without use_activation, matryoshka; the chunks themselves; usage; batch invariance with long and
// short inputs mixed; output formats; and the length rules with vLLM's messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { describeBackends } from '../helpers/backends';
import { CHUNKED_GOLDENS, chunkedFixtureDir, loadChunkedGolden, poolMode, type ChunkMode } from '../helpers/chunked_goldens';
import { TOL } from '../helpers/golden_checks';
import { maxAbsDiff } from '../helpers/random';

// The bars of every golden suite, Node and Chromium (test/helpers/golden_checks.ts).
const TOL_POOLED = TOL.pooled;
const TOL_NORMALIZED = TOL.normalized;
const TOL_BATCH = TOL.batch;
const MODES: ChunkMode[] = ['cls', 'mean', 'max', 'lasttoken'];

const maxErrors: Record<string, Record<string, number>> = {};

const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));

for (const name of CHUNKED_GOLDENS) {
  describeBackends(`${name}: chunked long inputs`, (backend) => {
    const golden = loadChunkedGolden(name);
    const texts = golden.cases.map((c) => c.text);
    const allTokens = golden.cases.reduce((s, c) => s + c.num_tokens, 0);
    const model = chunkedFixtureDir(name);
    const base = { model, backend, hfOverrides: golden.hf_overrides };
    let engine: Engine;
    const errors: Record<string, number> = (maxErrors[`${name} [${backend}]`] = {});
    const record = (what: string, err: number) => (errors[what] = Math.max(errors[what] ?? 0, err));

    beforeAll(async () => {
      engine = await createEngine({ ...base, enableChunkedProcessing: true });
    });
    afterAll(async () => {
      await engine?.dispose();
      console.log(`max errors chunked ${name} [${backend}]: ${JSON.stringify(errors)}`);
    });

    it('serves max_model_len 32 and tokenizes every input whole as the golden', () => {
      expect(engine.info.maxLength).toBe(golden.max_model_len);
      for (const c of golden.cases) expect(engine.tokenize(c.text).tokens, c.name).toEqual(c.input_ids);
      expect(golden.cases.map((c) => c.chunks.length)).toEqual([1, 1, 2, 2, 3, 8]);
    });

    it('default embed: the token-weighted mean of the normalized chunk vectors (vLLM), usage counts every token', async () => {
      const res = await engine.embed(texts);
      golden.cases.forEach((c, i) => {
        const err = maxAbsDiff(res.embeddings[i], c.combined[golden.pooling].normalized);
        record(`combined.${golden.pooling}`, err);
        expect(err, c.name).toBeLessThan(TOL_NORMALIZED);
      });
      expect(res.usage.promptTokens).toBe(allTokens);
      // vLLM leaves the mean as it is: below unit norm once the chunks disagree.
      expect(norm(res.embeddings[5])).toBeLessThan(0.999);
      expect(norm(res.embeddings[0])).toBeCloseTo(1, 5);
    });

    // Every mode on BERT; on Qwen3 its own last-token pooling and mean (the rest would only repeat them).
    for (const mode of name === 'tiny-qwen3-embed' ? (['lasttoken', 'mean'] as const) : MODES) {
      it(`pooling ${mode} inside each chunk, combined with and without use_activation`, async () => {
        const on = await engine.embed(texts, { pooling: poolMode(mode) });
        const off = await engine.embed(texts, { pooling: poolMode(mode), useActivation: false });
        golden.cases.forEach((c, i) => {
          const e1 = maxAbsDiff(on.embeddings[i], c.combined[mode].normalized);
          const e2 = maxAbsDiff(off.embeddings[i], c.combined[mode].raw);
          record(`combined.${mode}`, e1);
          record(`combined.${mode}.raw`, e2);
          expect(e1, c.name).toBeLessThan(TOL_NORMALIZED);
          expect(e2, c.name).toBeLessThan(TOL_POOLED);
        });
      });
    }

    for (const d of golden.matryoshka.filter((x) => x < 64)) {
      it(`matryoshka dimensions=${d}: each chunk truncated and normalized, then combined`, async () => {
        const res = await engine.embed(texts, { dimensions: d });
        golden.cases.forEach((c, i) => {
          expect(res.embeddings[i].length).toBe(d);
          const err = maxAbsDiff(res.embeddings[i], c.combined[golden.pooling].matryoshka[String(d)]);
          record(`matryoshka.${d}`, err);
          expect(err, c.name).toBeLessThan(TOL_NORMALIZED);
        });
      });
    }

    it('each chunk is an ordinary sequence: its ids sent as token ids give the golden chunk vector', async () => {
      const chunks = golden.cases.flatMap((c) => c.chunks);
      const res = await engine.embed(chunks.map((k) => ({ ids: k.input_ids })), { useActivation: false });
      chunks.forEach((k, i) => {
        const err = maxAbsDiff(res.embeddings[i], k.pooled[golden.pooling]);
        record('chunk.pooled', err);
        expect(err).toBeLessThan(TOL_POOLED);
      });
    });

    it('batch invariance: long and short inputs mixed equal each alone', async () => {
      const order = [5, 0, 3, 1, 4, 2];
      const mixed = await engine.embed(order.map((i) => texts[i]));
      for (let j = 0; j < order.length; j++) {
        const alone = await engine.embed(texts[order[j]]);
        const err = maxAbsDiff(mixed.embeddings[j], alone.embeddings[0]);
        record('batch', err);
        expect(err, golden.cases[order[j]].name).toBeLessThan(TOL_BATCH);
      }
      // Concurrent callers: chunks of one request share batches with another's short inputs.
      const [a, b] = await Promise.all([engine.embed([texts[4], texts[0]]), engine.embed(texts[5])]);
      expect(maxAbsDiff(a.embeddings[0], golden.cases[4].combined[golden.pooling].normalized)).toBeLessThan(TOL_NORMALIZED);
      expect(maxAbsDiff(b.embeddings[0], golden.cases[5].combined[golden.pooling].normalized)).toBeLessThan(TOL_NORMALIZED);
      expect(a.usage.promptTokens).toBe(golden.cases[4].num_tokens + golden.cases[0].num_tokens);
    });

    it('token-id inputs longer than the model are chunked too; formats come from the combined vector', async () => {
      const long = golden.cases[4];
      const floats = await engine.embed([long.text, golden.cases[0].text]);
      const ids = await engine.embed({ ids: long.input_ids });
      expect(maxAbsDiff(ids.embeddings[0], floats.embeddings[0])).toBeLessThan(TOL_BATCH);
      expect(ids.usage.promptTokens).toBe(long.num_tokens);
      const b64 = await engine.embed([long.text, golden.cases[0].text], { encodingFormat: 'base64' });
      const decoded = new Float32Array(Uint8Array.from(atob(b64.embeddings[0]), (ch) => ch.charCodeAt(0)).buffer);
      expect(Array.from(decoded)).toEqual(Array.from(floats.embeddings[0]));
      const ub = await engine.embed([long.text, golden.cases[0].text], { encodingFormat: 'ubinary' });
      const want = new Uint8Array(Math.ceil(floats.embeddings[0].length / 8));
      floats.embeddings[0].forEach((x, j) => (want[j >> 3] |= x > 0 ? 0x80 >> (j & 7) : 0));
      expect(Array.from(ub.embeddings[0])).toEqual(Array.from(want));
      const bin = await engine.embed([long.text], { encodingFormat: 'binary' });
      expect(Array.from(bin.embeddings[0])).toEqual(Array.from(want, (x) => x - 128));
    });

    it('only embed is chunked: other tasks keep the model limit', async () => {
      await expect(engine.encode(golden.cases[2].text, { task: 'token_embed' })).rejects.toThrow(
        `This model's maximum context length is 32 tokens. However, you requested ${golden.cases[2].num_tokens} tokens in the input.`,
      );
    });
  });
}

describe('chunked processing: options and length rules', () => {
  const golden = loadChunkedGolden('tiny-bert-embed-short');
  const [short, , two, , three, many] = golden.cases;
  const engines: Engine[] = [];
  const load = async (o: object) => {
    const e = await createEngine({ model: chunkedFixtureDir('tiny-bert-embed-short'), backend: 'cpu', ...o });
    engines.push(e);
    return e;
  };
  afterAll(async () => {
    for (const e of engines) await e.dispose();
  });

  it('off (the default): an over-long input is a 400 unless truncation is asked for', async () => {
    const e = await load({});
    await expect(e.embed(two.text)).rejects.toThrow(
      `This model's maximum context length is 32 tokens. However, you requested ${two.num_tokens} tokens in the input. Please reduce the length of the input, or set truncate_prompt_tokens.`,
    );
    const cut = await e.embed(two.text, { truncatePromptTokens: -1 });
    expect(cut.usage.promptTokens).toBe(32);
    expect((await e.embed(short.text)).embeddings[0].length).toBe(64);
  });

  it('max_embed_len caps inputs (vLLM message); without chunking a longer-than-model input asks to enable it', async () => {
    const capped = await load({ enableChunkedProcessing: true, maxEmbedLen: 100 });
    await expect(capped.embed([three.text, many.text])).rejects.toThrow(
      `This model's maximum embedding input length is 100 tokens. However, you requested ${many.num_tokens} tokens in the input for embedding generation. Please reduce the length of the input.`,
    );
    const ok = await capped.embed(three.text);
    expect(maxAbsDiff(ok.embeddings[0], three.combined.mean.normalized)).toBeLessThan(TOL_NORMALIZED);
    const noChunks = await load({ maxEmbedLen: 100 });
    await expect(noChunks.embed(two.text)).rejects.toThrow(
      `This model's maximum position embeddings length is 32 tokens. However, you requested ${two.num_tokens} tokens in the input for embedding generation. Please reduce the length of the input or enable chunked processing.`,
    );
    // truncate_prompt_tokens applies before the length rules, as in vLLM's renderer.
    expect((await noChunks.embed(two.text, { truncatePromptTokens: 20 })).usage.promptTokens).toBe(20);
  });

  it('renormalizeChunks (wgpool extension) scales the combined vector to unit norm', async () => {
    const e = await load({ enableChunkedProcessing: true, renormalizeChunks: true });
    const res = await e.embed(many.text);
    const v = many.combined.mean.normalized;
    const n = norm(v);
    expect(maxAbsDiff(res.embeddings[0], v.map((x) => x / n))).toBeLessThan(TOL_NORMALIZED);
    expect(norm(res.embeddings[0])).toBeCloseTo(1, 5);
    // use_activation off: the raw weighted mean, as without the option.
    const raw = await e.embed(many.text, { useActivation: false });
    expect(maxAbsDiff(raw.embeddings[0], many.combined.mean.raw)).toBeLessThan(TOL_POOLED);
  });

  it('bad option values fail the load', async () => {
    await expect(load({ enableChunkedProcessing: true, maxEmbedLen: 0 })).rejects.toThrow('maxEmbedLen must be a positive integer, got 0.');
  });
});
