// Long inputs over HTTP, as vLLM exposes them: `wgpool serve --pooler-config
// '{"pooling_type":"MEAN","enable_chunked_processing":true,"max_embed_len":100}'` on loopback with the
// 32-position BERT fixture; /v1/embeddings (plain fetch and the official openai client) and /pooling
// answer the float64 chunked goldens, usage counts every token, and an input past max_embed_len is
// vLLM's 400.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/serve/cli';
import { BACKENDS } from '../helpers/backends';
import { chunkedFixtureDir, loadChunkedGolden } from '../helpers/chunked_goldens';
import { maxAbsDiff } from '../helpers/random';

const golden = loadChunkedGolden('tiny-bert-embed-short');
const accepted = golden.cases.filter((c) => c.num_tokens <= 100);
const tooLong = golden.cases.find((c) => c.num_tokens > 100)!;
const TOL = 1e-5;

let url: string;
let done: Promise<number>;
const shutdown = new AbortController();

beforeAll(async () => {
  const out: string[] = [];
  const err: string[] = [];
  done = main(
    [
      'serve', chunkedFixtureDir('tiny-bert-embed-short'), '--served-model-name', 'long', '--port', '0', '-q', '--backend', BACKENDS[0],
      '--pooler-config', '{"pooling_type":"MEAN","use_activation":true,"enable_chunked_processing":true,"max_embed_len":100}',
    ],
    { out: (l) => void out.push(l), err: (l) => void err.push(l), shutdown: shutdown.signal, signals: false },
  );
  let ended = false;
  void done.finally(() => (ended = true));
  while (out.length === 0 && !ended) await new Promise((r) => setTimeout(r, 5));
  if (!out.length) throw new Error(`wgpool serve did not start: ${err.join('\n')}`);
  url = /(http:\/\/\S+)/.exec(out[0])![1];
}, 120_000);

afterAll(async () => {
  shutdown.abort();
  expect(await done).toBe(0);
});

const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('chunked processing over HTTP (--pooler-config enable_chunked_processing + max_embed_len)', () => {
  it('/v1/embeddings: every input within max_embed_len, chunked or not, equals the golden; usage counts all tokens', async () => {
    const r = await post('/v1/embeddings', { model: 'long', input: accepted.map((c) => c.text) });
    expect(r.status).toBe(200);
    const body = await r.json();
    accepted.forEach((c, i) => expect(maxAbsDiff(body.data[i].embedding, c.combined.mean.normalized), c.name).toBeLessThan(TOL));
    const n = accepted.reduce((s, c) => s + c.num_tokens, 0);
    expect(body.usage).toStrictEqual({ prompt_tokens: n, total_tokens: n, completion_tokens: 0, prompt_tokens_details: null });
  });

  it('the official openai client, base64 by default, decodes to the same vectors', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' });
    const res = await client.embeddings.create({ model: 'long', input: [accepted[4].text, accepted[0].text] });
    expect(maxAbsDiff(res.data[0].embedding, accepted[4].combined.mean.normalized)).toBeLessThan(TOL);
    expect(maxAbsDiff(res.data[1].embedding, accepted[0].combined.mean.normalized)).toBeLessThan(TOL);
    expect(res.usage.prompt_tokens).toBe(accepted[4].num_tokens + accepted[0].num_tokens);
  });

  it('token-id input and /pooling (task embed) are chunked the same way', async () => {
    const ids = await (await post('/v1/embeddings', { model: 'long', input: accepted[3].input_ids })).json();
    expect(maxAbsDiff(ids.data[0].embedding, accepted[3].combined.mean.normalized)).toBeLessThan(TOL);
    expect(ids.usage.prompt_tokens).toBe(accepted[3].num_tokens);
    const pooled = await (await post('/pooling', { model: 'long', task: 'embed', input: accepted[2].text })).json();
    expect(maxAbsDiff(pooled.data[0].data, accepted[2].combined.mean.normalized)).toBeLessThan(TOL);
  });

  it('an input past max_embed_len is a 400 with vLLM\'s message; truncation still applies first', async () => {
    const r = await post('/v1/embeddings', { model: 'long', input: [accepted[0].text, tooLong.text] });
    expect(r.status).toBe(400);
    const message = `This model's maximum embedding input length is 100 tokens. However, you requested ${tooLong.num_tokens} tokens in the input for embedding generation. Please reduce the length of the input.`;
    expect(await r.json()).toMatchObject({ object: 'error', message, type: 'BadRequestError', param: null, code: 400, error: { message, type: 'BadRequestError', code: 400 } });
    const cut = await (await post('/v1/embeddings', { model: 'long', input: tooLong.text, truncate_prompt_tokens: 32 })).json();
    expect(cut.usage.prompt_tokens).toBe(32);
  });
});
