"""Print demo/models/eval.json as the Markdown tables the model cards quote.
    python3 table.py [path/to/eval.json]"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../demo/models/eval.json")
e = json.load(open(path))
for name, pool in e["pools"].items():
    print(f"\nRanking among {name} ({pool['candidates']} candidates), {e['queries']} held-out queries:\n")
    print("| system | recall@1 | recall@10 | MRR |\n|---|---:|---:|---:|")
    for k, v in pool["rows"].items():
        print(f"| {k} | {v['recall@1']:.3f} | {v['recall@10']:.3f} | {v['mrr']:.3f} |")
    ceiling = pool.get(f"embedder_recall@{e['rerank_top_k']}")
    if ceiling is not None:
        print(f"\nThe reranker reorders the embedder's top {e['rerank_top_k']}, which holds a right lemma for "
              f"{ceiling:.3f} of the queries: the ceiling of its recall@1.")
t = e["test_subset"]
print(f"\nTest subset ({t['queries']} queries among their own {t['candidates']} lemmas, "
      f"test/fixtures/goldens/wordnet-demo-models.json): embedder recall@1 {t['embedder']['recall@1']:.3f}, "
      f"recall@10 {t['embedder']['recall@10']:.3f}, MRR {t['embedder']['mrr']:.3f}")
