// BM25 baseline for evaluate.py: minisearch (BM25+ scoring, its default tokenizer and lowercasing;
// no fuzzy or prefix matching) over the candidate lemma texts, one OR query per description.
//   node tools/train-demo-models/bm25.mjs work/bm25_io.json   -> writes work/bm25_io.json.out
// Input {documents: string[], queries: string[], limit}; output: per query, the indices of its top
// `limit` documents, best first.
import { readFileSync, writeFileSync } from 'node:fs';
import MiniSearch from 'minisearch';

const path = process.argv[2];
const { documents, queries, limit } = JSON.parse(readFileSync(path, 'utf8'));
const index = new MiniSearch({ fields: ['text'], idField: 'id' });
index.addAll(documents.map((text, id) => ({ id, text })));
const out = queries.map((q) => index.search(q, { combineWith: 'OR' }).slice(0, limit).map((r) => r.id));
writeFileSync(`${path}.out`, JSON.stringify(out));
