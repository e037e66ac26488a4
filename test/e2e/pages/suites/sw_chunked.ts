// Long inputs through the Service Worker: sw_entry.ts with `pooler_config`
// {"enable_chunked_processing":true,"max_embed_len":100} serves the 32-position BERT fixture, and
// /wgpool/v1/embeddings answers the chunked float64 goldens (tools/make_chunked_goldens.py), with
// vLLM's 400 past max_embed_len — the same handler and engine code as `wgpool serve`.
import golden from '../../../fixtures/goldens/chunked-tiny-bert-embed-short.json';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

const post = (body: unknown) => fetch('/wgpool/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export default async function run() {
  const query = new URLSearchParams({
    model: 'long=/models/tiny-bert-embed-short',
    pooler_config: JSON.stringify({ enable_chunked_processing: true, max_embed_len: 100 }),
    base: '/wgpool',
  });
  await navigator.serviceWorker.register(`/src/serve/sw_entry.ts?${query}`, { type: 'module', scope: '/' });
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
  }
  const accepted = golden.cases.filter((c) => c.num_tokens <= 100);
  const tooLong = golden.cases.find((c) => c.num_tokens > 100)!;
  const res = await post({ model: 'long', input: accepted.map((c) => c.text) });
  const body = (await res.json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
  const refused = await post({ model: 'long', input: tooLong.text });
  return {
    status: res.status,
    chunks: accepted.map((c) => c.chunks.length),
    err: Math.max(...body.data.map((d, i) => maxAbsDiff(d.embedding, accepted[i].combined.mean.normalized))),
    promptTokens: body.usage.prompt_tokens,
    goldenTokens: accepted.reduce((s, c) => s + c.num_tokens, 0),
    refusedStatus: refused.status,
    refusedMessage: ((await refused.json()) as { message: string }).message,
    tooLongTokens: tooLong.num_tokens,
  };
}
