// The public API inside Chromium, on the page's main thread: golden embeddings of a BERT embedder
// and of a Qwen3 (BF16, last-token) embedder, plus batch invariance.
import { createEngine } from '../../../../src/index';
import bert from '../../../fixtures/goldens/tiny-bert-embed.json';
import qwen from '../../../fixtures/goldens/tiny-qwen3-embed.json';

interface Golden {
  cases: { text: string; embedding: number[]; matryoshka: Record<string, number[]> }[];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

export default async function run() {
  const out: Record<string, { embedding: number; batchInvariance: number; matryoshka?: number; adapter: string }> = {};
  for (const [name, golden] of [['tiny-bert-embed', bert], ['tiny-qwen3-embed', qwen]] as [string, Golden][]) {
    const engine = await createEngine({ model: new URL(`/models/${name}`, location.href).href });
    const texts = golden.cases.map((c) => c.text);
    const res = await engine.embed(texts);
    let embedding = 0;
    let batchInvariance = 0;
    for (let i = 0; i < texts.length; i++) {
      embedding = Math.max(embedding, maxAbsDiff(res.embeddings[i], golden.cases[i].embedding));
      const alone = await engine.embed(texts[i]);
      batchInvariance = Math.max(batchInvariance, maxAbsDiff(alone.embeddings[0], res.embeddings[i]));
    }
    let matryoshka: number | undefined;
    if (engine.info.matryoshkaDimensions) {
      const m = await engine.embed(texts, { dimensions: 32 });
      matryoshka = Math.max(...m.embeddings.map((e, i) => maxAbsDiff(e, golden.cases[i].matryoshka['32'])));
    }
    out[name] = { embedding, batchInvariance, matryoshka, adapter: `${engine.info.adapter.vendor} ${engine.info.adapter.architecture} (${engine.info.adapter.source})` };
    await engine.dispose();
  }
  return out;
}
