// The reverse dictionary's shipped index (demo/search/data/wordnet-20k.wgpidx, built by
// scripts/lemma-index) against the shipped embedder: it loads (the probe embedding matches these
// weights), its rows are what the app shows, exact GPU search equals the CPU flat scan, and the
// binary mode's recall@10 against exact search on this real corpus — the README's number.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { flatSearch } from '../../src/index/flat';
import { decodeIndex, type IndexSnapshot } from '../../src/index/serialize';
import { VectorIndex } from '../../src/index/vector_index';

const FILE = fileURLToPath(new URL('../../demo/search/data/wordnet-20k.wgpidx', import.meta.url));
const MODEL = fileURLToPath(new URL('../../demo/models/wordnet-bert-embed', import.meta.url));
const held = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/wordnet-heldout-lemmas.json', import.meta.url)), 'utf8')) as {
  stats: { exact: { 'recall@10': number } };
  queries: { gloss: string; answers: string[]; exactRank: number | null }[];
};

describe('the shipped 20k-lemma WordNet index', () => {
  let engine: Engine;
  let index: VectorIndex;
  let snap: IndexSnapshot;
  let queries: Float32Array[];
  let exact: { id: string }[][];

  beforeAll(async () => {
    engine = await createEngine({ model: MODEL });
    const bytes = readFileSync(FILE);
    snap = decodeIndex(bytes);
    index = await VectorIndex.deserialize(bytes, { engine });
    queries = (await engine.embed(held.queries.map((q) => q.gloss))).embeddings;
    exact = await index.searchBatch(queries, { k: 10 });
  }, 600_000);
  afterAll(async () => {
    await index?.dispose();
    await engine?.dispose();
  });

  it('holds 20,000 unique lemmas, each with a gloss, in at most 15 MB', () => {
    expect(statSync(FILE).size).toBeLessThanOrEqual(15e6);
    expect(index.size).toBe(20000);
    expect(new Set(snap.ids).size).toBe(20000);
    expect(snap.model?.model).toBe('wordnet-bert-embed');
    for (const m of snap.metadata as { senses: [string, string][] }[]) {
      expect(m.senses.length).toBeGreaterThan(0);
      for (const [pos, gloss] of m.senses) {
        expect(['n', 'v', 'a', 'r']).toContain(pos);
        expect(gloss.length).toBeGreaterThan(0);
      }
    }
    // The most frequent lemmas of SemCor lead, embedded alone and lowercased.
    expect(snap.ids.slice(0, 3)).toEqual(['be', 'person', 'have']);
  });

  it('exact search on the GPU ranks as the CPU flat scan over the same rows', () => {
    for (let i = 0; i < queries.length; i++) {
      const ref = flatSearch(snap.vectors, snap.dimensions, queries[i], 10).map((h) => snap.ids[h.row]);
      expect(exact[i].map((h) => h.id)).toEqual(ref);
    }
  });

  it('answers the held-out descriptions as the build measured (recall@10 in the fixture)', () => {
    const ranks = exact.map((h, i) => h.findIndex((x) => held.queries[i].answers.includes(x.id)));
    expect(ranks.map((r) => (r < 0 ? null : r))).toEqual(held.queries.map((q) => q.exactRank));
    const recall = ranks.filter((r) => r >= 0).length / ranks.length;
    console.log(`held-out recall@10 over ${ranks.length} descriptions among 20k lemmas: ${recall}`);
    expect(recall).toBe(held.stats.exact['recall@10']);
  });

  it('a description past the 64 tokens the embedder reads is refused, or cut with truncatePromptTokens', async () => {
    const long = Array.from({ length: 40 }, () => 'a very long description').join(' ');
    await expect(index.search(long, { k: 3 })).rejects.toThrow(/maximum context length is 64 tokens/);
    const cut = await index.search(long, { k: 3, truncatePromptTokens: -1 });
    const first64 = engine.tokenizer.decode(engine.tokenizer.encode(long, undefined, { maxTokens: 64 }).ids, true);
    expect(cut.map((h) => h.id)).toEqual((await index.search(first64, { k: 3 })).map((h) => h.id));
  });

  it('binary mode: recall@10 against exact search, by rescored candidates', async () => {
    // The first 100 descriptions: the rescoring top-k is slow on a software adapter.
    const n = 100;
    const out: Record<string, number> = {};
    for (const candidates of [40, 200]) {
      const bin = await index.searchBatch(queries.slice(0, n), { k: 10, mode: 'binary', candidates });
      let overlap = 0;
      bin.forEach((h, i) => {
        const ids = new Set(exact[i].map((x) => x.id));
        overlap += h.filter((x) => ids.has(x.id)).length / 10;
      });
      out[candidates] = overlap / bin.length;
    }
    console.log(`binary recall@10 vs exact (20k × 128-d WordNet lemmas, ${n} held-out glosses), by candidates: ${JSON.stringify(out)}`);
    // 128 sign bits are a coarse sketch: more rescored candidates, closer to exact.
    expect(out[40]).toBeGreaterThan(0.2);
    expect(out[200]).toBeGreaterThan(out[40]);
    expect(out[200]).toBeLessThanOrEqual(1);
  }, 600_000);
});
