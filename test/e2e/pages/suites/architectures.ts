// ModernBERT, Mistral, EmbeddingGemma (with its two Dense modules), MPNet and GTE v1.5 inside Chromium
// through the public API: golden embeddings of every case (sliding windows shorter than the longest
// cases, MPNet's capped relative buckets) and batch invariance; the ModernBERT cross-encoder's scores.
import { createEngine } from '../../../../src/index';
import modernbert from '../../../fixtures/goldens/tiny-modernbert-embed.json';
import mistral from '../../../fixtures/goldens/tiny-mistral-embed.json';
import gemma3 from '../../../fixtures/goldens/tiny-gemma3-embed.json';
import mpnet from '../../../fixtures/goldens/tiny-mpnet-embed.json';
import gtenew from '../../../fixtures/goldens/tiny-gtenew-embed.json';
import crossenc from '../../../fixtures/goldens/tiny-modernbert-crossenc.json';

interface Golden {
  cases: { text: string; embedding: number[] }[];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

const url = (name: string) => new URL(`/models/${name}`, location.href).href;

export default async function run() {
  const out: Record<string, { embedding?: number; batchInvariance?: number; score?: number }> = {};
  const embedders = { 'tiny-modernbert-embed': modernbert, 'tiny-mistral-embed': mistral, 'tiny-gemma3-embed': gemma3, 'tiny-mpnet-embed': mpnet, 'tiny-gtenew-embed': gtenew };
  for (const [name, golden] of Object.entries(embedders) as [string, Golden][]) {
    const engine = await createEngine({ model: url(name) });
    const texts = golden.cases.map((c) => c.text);
    const res = await engine.embed(texts);
    let embedding = 0;
    let batchInvariance = 0;
    for (let i = 0; i < texts.length; i++) {
      embedding = Math.max(embedding, maxAbsDiff(res.embeddings[i], golden.cases[i].embedding));
      const alone = await engine.embed(texts[i]);
      batchInvariance = Math.max(batchInvariance, maxAbsDiff(alone.embeddings[0], res.embeddings[i]));
    }
    out[name] = { embedding, batchInvariance };
    await engine.dispose();
  }
  const engine = await createEngine({ model: url('tiny-modernbert-crossenc') });
  const cases = (crossenc as { cases: { text: string; text_pair: string; probs: number }[] }).cases;
  const res = await engine.score(cases.map((c) => c.text), cases.map((c) => c.text_pair));
  out['tiny-modernbert-crossenc'] = { score: Math.max(...cases.map((c, i) => Math.abs(res.scores[i] - c.probs))) };
  await engine.dispose();
  return out;
}
