// Build the reverse dictionary's index ahead of time, with wgpool itself: the 20,000 most frequent
// WordNet lemmas embedded by the shipped embedder (demo/models/wordnet-bert-embed) into a GPU
// VectorIndex, written with encodeIndex (VectorIndex.serialize) to demo/search/data/. Each row's id
// is the lemma, embedded alone and lowercased: the embedder was trained to map a description to
// exactly that text (tools/train-demo-models/data.py pairs, evaluate.py candidates). The metadata
// holds the glosses of its two most frequent senses, shown beside the word.
//
// Also writes test/fixtures/wordnet-heldout-lemmas.json: descriptions (glosses) of synsets held out
// of the embedder's training whose words are in the index, for the app's tests and the binary-mode
// recall test; and prints recall@10 on them, float and binary.
//
//   node scripts/lemma-index/build.mjs            (bundles this file, then runs it on Dawn)
//   node scripts/lemma-index/build.mjs --reuse    (keep the index file; rewrite the fixture)

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createEngine } from '../../src/index';
import { VectorIndex } from '../../src/index/vector_index';
import { frequentLemmas, parseWordNet } from './wordnet';

// The bundle runs from .bench/, so build.mjs says where the repository is.
const ROOT = process.env.WGPOOL_ROOT ?? process.cwd();
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const COUNT = Number(arg('count', '20000'));
const OUT = resolve(ROOT, arg('out', 'demo/search/data/wordnet-20k.wgpidx'));
const FIXTURE = resolve(ROOT, 'test/fixtures/wordnet-heldout-lemmas.json');
const HELD_OUT_QUERIES = 200;
const MODEL_DIR = resolve(ROOT, 'demo/models/wordnet-bert-embed');

async function main() {
  const t0 = Date.now();
  const parsed = parseWordNet();
  const lemmas = frequentLemmas(parsed, COUNT);
  console.log(`${lemmas.length} lemmas (SemCor count ≥ ${lemmas.at(-1)!.count}); ${lemmas.filter((l) => !l.senses.length).length} without a gloss`);

  const engine = await createEngine({ model: MODEL_DIR, servedModelName: 'wordnet-bert-embed' });
  console.log(`engine: ${engine.info.model} on ${engine.gpu.adapter.description || engine.gpu.adapter.vendor}`);
  let index: VectorIndex;
  if (process.argv.includes('--reuse') && existsSync(OUT)) {
    // Only the fixture and the numbers: the index file is already built (and checked to be this model's).
    index = await VectorIndex.deserialize(readFileSync(OUT), { engine });
    console.log(`reusing ${OUT}: ${index.size} rows`);
  } else {
    index = await VectorIndex.create({ engine, capacity: lemmas.length });
    let last = 0;
    await index.addTexts(
      lemmas.map((l) => ({ id: l.text, text: l.text, metadata: { senses: l.senses } })),
      {
        batchSize: 512,
        storeText: false,
        onProgress: (done, total) => {
          if (done - last < 4096 && done !== total) return;
          console.log(`embedded ${done} / ${total} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
          last = done;
        },
      },
    );
    const bytes = await index.serialize();
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, new Uint8Array(bytes));
    console.log(`wrote ${OUT}: ${(bytes.byteLength / 2 ** 20).toFixed(2)} MiB (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }

  // Held-out descriptions whose answer is in the index, in a seeded order (sha1 of the synset key).
  const inIndex = new Set(lemmas.map((l) => l.text));
  const maxTokens = engine.info.maxLength;
  const held = parsed.synsets
    .filter((s) => s.heldOut && s.gloss && s.lemmas.some((l) => inIndex.has(l.toLowerCase())))
    .filter((s) => engine.tokenizer.encode(s.gloss).ids.length <= maxTokens)
    .map((s) => ({ s, h: createHash('sha1').update(`order:${s.key}`).digest('hex') }))
    .sort((a, b) => (a.h < b.h ? -1 : 1))
    .slice(0, HELD_OUT_QUERIES)
    .map(({ s }) => ({ key: s.key, pos: s.pos, gloss: s.gloss, answers: [...new Set(s.lemmas.map((l) => l.toLowerCase()).filter((l) => inIndex.has(l)))] }));

  // Queries embedded in one batch, then searched as vectors: one pass per mode.
  const queryVectors = (await engine.embed(held.map((q) => q.gloss))).embeddings;
  const rankOf = (hits: { id: string }[], answers: string[]) => {
    const r = hits.findIndex((x) => answers.includes(x.id));
    return r < 0 ? null : r;
  };
  const run = async (mode: 'float' | 'binary') => {
    const hits = await index.searchBatch(queryVectors, { k: 10, mode });
    const ranks = hits.map((h, i) => rankOf(h, held[i].answers));
    return { hits, ranks, recall10: ranks.filter((r) => r !== null).length / held.length, recall1: ranks.filter((r) => r === 0).length / held.length };
  };
  const exact = await run('float');
  const binary = await run('binary');
  let overlap = 0;
  exact.hits.forEach((h, i) => {
    const ids = new Set(h.map((x) => x.id));
    overlap += binary.hits[i].filter((x) => ids.has(x.id)).length / h.length;
  });
  const stats = {
    lemmas: lemmas.length,
    heldOutQueries: held.length,
    exact: { 'recall@1': exact.recall1, 'recall@10': exact.recall10 },
    binary: { 'recall@1': binary.recall1, 'recall@10': binary.recall10, 'overlap@10 with exact': overlap / held.length },
  };
  console.log(JSON.stringify(stats));
  writeFileSync(
    FIXTURE,
    JSON.stringify(
      {
        about: 'Held-out WordNet 3.0 synsets (tools/train-demo-models/data.py split, seed 0) whose lemmas are in demo/search/data/wordnet-20k.wgpidx: gloss as the query, answers = those lemmas. Written by scripts/lemma-index/build_index.ts.',
        stats,
        queries: held.map((q, i) => ({ ...q, exactRank: exact.ranks[i], exactTop10: exact.hits[i].map((h) => h.id) })),
      },
      null,
      1,
    ) + '\n',
  );
  await index.dispose();
  await engine.dispose();
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
