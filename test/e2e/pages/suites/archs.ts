// The issue-18 architectures inside Chromium through the public API: DistilBERT, Qwen2 (causal and
// bidirectional) and NomicBert embedders against their golden embeddings, DistilBERT and Llama
// classifiers against their golden probabilities, each with batch invariance.
import { createEngine } from '../../../../src/index';
import distilEmbed from '../../../fixtures/goldens/tiny-distilbert-embed.json';
import qwen2 from '../../../fixtures/goldens/tiny-qwen2-embed.json';
import qwen2Bidir from '../../../fixtures/goldens/tiny-qwen2-bidir-embed.json';
import nomic from '../../../fixtures/goldens/tiny-nomic-embed.json';
import distilCls from '../../../fixtures/goldens/tiny-distilbert-seqcls.json';
import llama from '../../../fixtures/goldens/tiny-llama-seqcls.json';

interface Golden {
  kind: string;
  cases: { text: string; embedding?: number[]; probs?: number[] }[];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

export default async function run() {
  const out: Record<string, { golden: number; batchInvariance: number }> = {};
  const all = { 'tiny-distilbert-embed': distilEmbed, 'tiny-qwen2-embed': qwen2, 'tiny-qwen2-bidir-embed': qwen2Bidir, 'tiny-nomic-embed': nomic, 'tiny-distilbert-seqcls': distilCls, 'tiny-llama-seqcls': llama };
  for (const [name, golden] of Object.entries(all) as [string, Golden][]) {
    const engine = await createEngine({ model: new URL(`/models/${name}`, location.href).href });
    const texts = golden.cases.map((c) => c.text);
    const outputs = async (input: string[]) =>
      golden.kind === 'embed' ? (await engine.embed(input)).embeddings : (await engine.classify(input)).data.map((d) => d.probs);
    const together = await outputs(texts);
    let err = 0;
    let batchInvariance = 0;
    for (let i = 0; i < texts.length; i++) {
      err = Math.max(err, maxAbsDiff(together[i], (golden.kind === 'embed' ? golden.cases[i].embedding : golden.cases[i].probs)!));
      batchInvariance = Math.max(batchInvariance, maxAbsDiff((await outputs([texts[i]]))[0], together[i]));
    }
    out[name] = { golden: err, batchInvariance };
    await engine.dispose();
  }
  return out;
}
