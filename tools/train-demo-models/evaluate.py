"""Evaluate the shipped demo models on held-out WordNet synsets and write the numbers the model
cards quote, the wgpool test's eval subset, and the PyTorch goldens.

    python3 evaluate.py          # needs demo/models/wordnet-bert-embed and wordnet-bert-rerank

Task: the query is a held-out synset's gloss; the candidates are lemma texts (lowercased, unique);
a hit is any lemma of the query's synset. Candidate pools: every lemma of the held-out synsets, and
every lemma of WordNet. Queries: --queries held-out synsets drawn with the seed (all when 0).
Systems: the untrained model (the embedder's seeded initialisation), BM25 (minisearch, bm25.mjs),
the embedder, and the embedder's top 20 reranked by the cross-encoder. The models run in float32
from the shipped F16 weights, so the numbers are the shipped models'.

Writes demo/models/eval.json, test/fixtures/goldens/wordnet-demo-models.json (20 embeddings and 20
reranker scores in float64, the eval subset and its recall@10).
"""
import argparse
import hashlib
import json
import os
import pickle
import random
import subprocess
import time

import torch

from bert import BertForSequenceClassification, BertModel, WordPiece, init_bert, load_weights, mean_pool_normalize, pad
from train_reranker import embed as embed_texts

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "../.."))
RERANK_K = 20


def cached(work, what, fn):
    """fn() cached in work/eval_cache/ under sha1(what): a rerun after retraining only the reranker
    reuses the embedders' embeddings and BM25's ranks (`what` names the model bytes and the texts)."""
    path = os.path.join(work, "eval_cache", hashlib.sha1(repr(what).encode()).hexdigest() + ".pt")
    if os.path.exists(path):
        return torch.load(path)
    out = fn()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(out, path + ".tmp")
    os.replace(path + ".tmp", path)
    return out


def ranks_from_scores(scores, correct):
    """scores (Q, C); correct: list of sets of candidate indices -> rank (1-based) of the first hit."""
    out = []
    for row, right in zip(scores, correct):
        best = max(row[j] for j in right)
        out.append(int((row > best).sum()) + 1)
    return out


def metrics(ranks):
    n = len(ranks)
    return {"recall@1": sum(r <= 1 for r in ranks) / n, "recall@10": sum(r <= 10 for r in ranks) / n,
            "mrr": sum(1 / r for r in ranks if r) / n, "queries": n}


@torch.no_grad()
def rerank_scores(model, tok, pairs, batch=128):
    out = []
    for k in range(0, len(pairs), batch):
        enc = [tok.encode_pair(q, c, 512) for q, c in pairs[k:k + batch]]
        ids, mask = pad([e[0] for e in enc])
        types, _ = pad([e[1] for e in enc])
        out += model(ids, mask, types)[:, 0].tolist()
    return out


def rerank(model, tok, queries, cands, scores, correct):
    """Rerank each query's embedder top RERANK_K; ranks below it keep the embedder's order."""
    top = torch.as_tensor(scores).topk(RERANK_K, dim=1).indices.tolist()
    pairs = [(q, cands[j]) for q, t in zip(queries, top) for j in t]
    s = rerank_scores(model, tok, pairs)
    ranks = []
    emb_ranks = ranks_from_scores(scores, correct)
    for i, t in enumerate(top):
        r = s[i * RERANK_K:(i + 1) * RERANK_K]
        order = [t[k] for k in sorted(range(RERANK_K), key=lambda k: -r[k])]
        hit = [p for p, j in enumerate(order) if j in correct[i]]
        ranks.append(hit[0] + 1 if hit else emb_ranks[i])
    return ranks


def bm25_ranks(work, queries, cands, correct, limit=100):
    return cached(work, ("bm25", queries, cands, [sorted(c) for c in correct], limit),
                  lambda: bm25_ranks_uncached(work, queries, cands, correct, limit))


def bm25_ranks_uncached(work, queries, cands, correct, limit):
    path = os.path.join(work, "bm25_io.json")
    json.dump({"documents": cands, "queries": queries, "limit": limit}, open(path, "w"))
    subprocess.run(["node", os.path.join(HERE, "bm25.mjs"), path], check=True, cwd=ROOT)
    results = json.load(open(path + ".out"))
    # A right lemma BM25 does not return in its top `limit` counts as a miss (reciprocal rank 0).
    return [next((p + 1 for p, j in enumerate(r) if j in right), 0) or 10**9 for r, right in zip(results, correct)]


def pool_for(synsets):
    cands = sorted({l.lower() for s in synsets for l in s["lemmas"]})
    return cands, {c: i for i, c in enumerate(cands)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--models", default=os.path.join(ROOT, "demo/models"))
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--subset", type=int, default=100, help="queries in the wgpool test's eval subset")
    ap.add_argument("--all-lemmas", type=int, default=1, help="also rank among every WordNet lemma")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()
    d = pickle.load(open(os.path.join(a.work, "data.pkl"), "rb"))
    tok = WordPiece(d["vocab"])
    emb_dir, rr_dir = os.path.join(a.models, "wordnet-bert-embed"), os.path.join(a.models, "wordnet-bert-rerank")
    emb_cfg = json.load(open(os.path.join(emb_dir, "config.json")))
    rr_cfg = json.load(open(os.path.join(rr_dir, "config.json")))
    max_len = json.load(open(os.path.join(emb_dir, "sentence_bert_config.json")))["max_seq_length"]
    embedder = load_weights(BertModel(emb_cfg), os.path.join(emb_dir, "model.safetensors"))
    torch.manual_seed(d["seed"])
    untrained = init_bert(BertModel(emb_cfg), d["seed"]).eval()
    emb_bytes = hashlib.sha1(open(os.path.join(emb_dir, "model.safetensors"), "rb").read()).hexdigest()
    models = {id(embedder): ("embedder", emb_bytes), id(untrained): ("untrained", json.dumps(emb_cfg), d["seed"])}

    def embed(model, tok, texts, max_len):
        return cached(a.work, (models[id(model)], texts, max_len), lambda: embed_texts(model, tok, texts, max_len))
    reranker = load_weights(BertForSequenceClassification({**rr_cfg, "num_labels": 1}), os.path.join(rr_dir, "model.safetensors"))

    held = [s for s in d["synsets"] if s["heldout"] and s["gloss"]]
    sample = random.Random(d["seed"]).sample(held, a.queries) if a.queries else held
    queries = [s["gloss"] for s in sample]
    pools = {"held-out lemmas": [s for s in d["synsets"] if s["heldout"]]}
    if a.all_lemmas:
        pools["all lemmas"] = d["synsets"]
    result = {"task": "gloss -> lemma retrieval on held-out WordNet 3.0 synsets", "queries": len(queries),
              "held_out_synsets": len(held), "rerank_top_k": RERANK_K, "pools": {}}
    Qe = embed(embedder, tok, queries, max_len)
    Qu = embed(untrained, tok, queries, max_len)
    for name, syns in pools.items():
        cands, index = pool_for(syns)
        correct = [{index[l.lower()] for l in s["lemmas"]} for s in sample]
        Ce = embed(embedder, tok, cands, max_len)
        Cu = embed(untrained, tok, cands, max_len)
        se = (Qe @ Ce.T).numpy()
        su = (Qu @ Cu.T).numpy()
        rows = {"untrained model": metrics(ranks_from_scores(su, correct)),
                "BM25 (minisearch)": metrics(bm25_ranks(a.work, queries, cands, correct)),
                "embedder": metrics(ranks_from_scores(se, correct)),
                f"embedder + reranker (top {RERANK_K})": metrics(rerank(reranker, tok, queries, cands, se, correct))}
        # The reranker only reorders the embedder's top RERANK_K: its recall@1 can reach at most this.
        ceiling = sum(r <= RERANK_K for r in ranks_from_scores(se, correct)) / len(queries)
        result["pools"][name] = {"candidates": len(cands), "rows": rows, f"embedder_recall@{RERANK_K}": ceiling}
        print(f"{name}: {len(cands)} candidates ({time.time() - t0:.0f}s)", flush=True)
        print(f"  embedder recall@{RERANK_K} (the reranker's ceiling) {ceiling:.3f}", flush=True)
        for k, v in rows.items():
            print(f"  {k:32s} R@1 {v['recall@1']:.3f}  R@10 {v['recall@10']:.3f}  MRR {v['mrr']:.3f}", flush=True)

    # The wgpool test's subset: the first --subset sampled queries that fit max_seq_length untruncated
    # (wgpool, like vLLM, refuses a longer input rather than truncating it), against their own
    # synsets' lemmas. The goldens use the next 10 such queries.
    fits = [s for s in sample if len(tok.encode(s["gloss"], 10**6)) <= max_len]
    sub = fits[:a.subset]
    cands, index = pool_for(sub)
    correct = [{index[l.lower()] for l in s["lemmas"]} for s in sub]
    sq = [s["gloss"] for s in sub]
    se = (embed(embedder, tok, sq, max_len) @ embed(embedder, tok, cands, max_len).T).numpy()
    sub_ranks = ranks_from_scores(se, correct)
    result["test_subset"] = {"queries": len(sub), "candidates": len(cands), "embedder": metrics(sub_ranks)}
    json.dump(result, open(os.path.join(a.models, "eval.json"), "w"), indent=2)
    print(f"test subset: {result['test_subset']}", flush=True)

    # Goldens (float64 from the F16 weights): 10 glosses + 10 lemmas; 20 (gloss, candidate) pairs.
    held_cands = pool_for(pools["held-out lemmas"])[0]
    gold = fits[a.subset:a.subset + 10]
    top = embed(embedder, tok, [s["gloss"] for s in gold], max_len) @ embed(embedder, tok, held_cands, max_len).T
    e64, r64 = embedder.double(), reranker.double()
    texts = [s["gloss"] for s in gold] + [s["lemmas"][0] for s in gold]
    with torch.no_grad():
        enc = [tok.encode(t, max_len) for t in texts]
        ids, mask = pad(enc)
        emb = mean_pool_normalize(e64(ids, mask)[0], mask)
    pairs = [(texts[i], held_cands[j]) for i in range(10) for j in top[i].topk(2).indices.tolist()]
    with torch.no_grad():
        penc = [tok.encode_pair(q, c, 512) for q, c in pairs]
        ids, mask = pad([p[0] for p in penc])
        types, _ = pad([p[1] for p in penc])
        logits = r64(ids, mask, types)[:, 0]
    golden = {"about": "PyTorch float64 outputs of demo/models/wordnet-bert-embed and wordnet-bert-rerank (F16 weights) "
                       "on held-out WordNet texts; written by tools/train-demo-models/evaluate.py",
              "embed": [{"text": t, "input_ids": ids_, "embedding": e} for t, ids_, e in zip(texts, enc, emb.tolist())],
              "rerank": [{"query": q, "document": c, "input_ids": p[0], "token_type_ids": p[1], "logit": l,
                          "score": float(torch.sigmoid(torch.tensor(l, dtype=torch.float64)))}
                         for (q, c), p, l in zip(pairs, penc, logits.tolist())],
              "eval_subset": {"queries": sq, "candidates": cands, "correct": [sorted(c) for c in correct],
                              "recall@10": result["test_subset"]["embedder"]["recall@10"]}}
    out = os.path.join(ROOT, "test/fixtures/goldens/wordnet-demo-models.json")
    json.dump(golden, open(out, "w"), indent=1)
    print(f"wrote {out} and {os.path.join(a.models, 'eval.json')} in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
