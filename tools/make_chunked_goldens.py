#!/usr/bin/env python3
"""Float64 goldens for chunked processing of long inputs (vLLM PoolerConfig enable_chunked_processing
+ max_embed_len), from the independent PyTorch port in ../shared/oracle (oracle.py, pytok.py).

What vLLM does (vllm/entrypoints/pooling/embed/io_processor.py, _pre_process_chunked /
_post_process_chunked; the older serving_embedding.py had the same rule):
  - the prompt is tokenized whole, special tokens included ([CLS] text [SEP]), then cut with
    chunk_list(token_ids, max_model_len) into consecutive slices of max_model_len ids: no special
    tokens are added per chunk, so only the first chunk starts with [CLS] and only the last ends
    with [SEP]; every chunk's positions start at 0 (each is an ordinary sequence);
  - each chunk runs through the model's pooler as any request does (its pooling type inside the
    chunk: CLS, MEAN or LAST, then matryoshka truncation and normalize per use_activation);
  - the chunk outputs are combined by a token-count-weighted mean, sum(len_i * out_i) / sum(len_i),
    and that mean is the answer: it is NOT normalized again (vLLM's own test only asks
    0.8 < |v| < 1.2);
  - usage counts every token of the prompt.

Fixtures:
  - tiny-bert-embed-short: tiny-bert-embed (mean pooling + Normalize, matryoshka [16, 32, 64]) with
    max_position_embeddings 32, its position table cut to those 32 rows, and max_seq_length /
    model_max_length 32, so max_model_len = 32. Written to test/fixtures/models/.
  - tiny-qwen3-embed with max_position_embeddings 32 (the engine's hf_overrides; RoPE has no table,
    so the weights are unchanged): last-token pooling on a decoder, where only the last chunk holds
    the appended <|endoftext|>.

Each golden (test/fixtures/goldens/chunked-<fixture>.json) has, per text: the full input_ids, the
chunks (input_ids, token_type_ids, and the chunk's pooled vector before normalize for every mode), and
`combined[mode]` = {normalized: vLLM's answer with use_activation on, raw: with use_activation off,
matryoshka: {dim: the mean of the truncated-then-normalized chunk vectors}}.

The tests need no Python; rerun this only to regenerate the committed files (byte-identical each run):

    /usr/bin/python3 tools/make_chunked_goldens.py [--oracle ../shared/oracle]
"""
import argparse
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--oracle", default=os.path.join(ROOT, "..", "shared", "oracle"))
args = ap.parse_args()
sys.path.insert(0, os.path.abspath(args.oracle))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import oracle as O  # noqa: E402
import pytok  # noqa: E402

MAX_LEN = 32
MODES = ("cls", "mean", "max", "lasttoken")
MODELS = os.path.join(ROOT, "test", "fixtures", "models")
GOLDENS = os.path.join(ROOT, "test", "fixtures", "goldens")

BASE = [
    "The quick brown fox jumps over the lazy dog.",
    "Embeddings map sentences to vectors; similar meanings end up close together in the space.",
    "In the early years of the century the small town grew quickly, as the new railway brought workers, "
    "traders and families from across the country. Many of them settled near the river, where they built "
    "houses, schools and a market that became the busiest in the region.",
]


def dump(path, obj, indent=2):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def fl(x):
    return np.asarray(x, np.float64).tolist()


def prefix_with(tok, words, n):
    """The first run of consecutive `words` (by start, then length) whose encoding has exactly n tokens."""
    for s in range(len(words)):
        for k in range(1, len(words) - s + 1):
            got = len(tok.encode(" ".join(words[s:s + k]))["input_ids"])
            if got == n:
                return " ".join(words[s:s + k])
            if got > n:
                break
    return None


def texts_for(tok):
    """Short (one chunk), exactly max_model_len (one full chunk), and long inputs: just over one chunk,
    exactly two chunks, two chunks plus a 1-token chunk (the closing special token alone), and many."""
    words = " ".join(BASE * 4).split()
    out = [("short", "Hello"), ("single-full-chunk", prefix_with(tok, words, MAX_LEN))]
    for name, n in (("two-chunks", 2 * MAX_LEN - 7), ("exactly-two-chunks", 2 * MAX_LEN), ("last-chunk-one-token", 2 * MAX_LEN + 1)):
        out.append((name, prefix_with(tok, words, n)))
    out.append(("many-chunks", " ".join(BASE * 2)))
    for name, t in out:
        assert t is not None, name
    return out


def chunk_list(ids, size):
    return [ids[i:i + size] for i in range(0, len(ids), size)]


@torch.no_grad()
def golden(fixture, model_dir, hf_overrides, note):
    tok = pytok.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    pad = tok.vocab[json.load(open(os.path.join(model_dir, "tokenizer_config.json")))["pad_token"]]
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    model = O.load_model(model_dir, torch.float64)
    model.config.update(hf_overrides)
    st = json.load(open(os.path.join(model_dir, "1_Pooling", "config.json")))
    pooling = "lasttoken" if st.get("pooling_mode_lasttoken") else "cls" if st.get("pooling_mode_cls_token") else "mean"
    matryoshka = cfg.get("matryoshka_dimensions") or []
    cases, all_chunks = [], []
    for name, text in texts_for(tok):
        enc = tok.encode(text)
        ids, types = enc["input_ids"], enc["token_type_ids"]
        chunks = []
        for c_ids, c_types in zip(chunk_list(ids, MAX_LEN), chunk_list(types, MAX_LEN)):
            e = {"input_ids": c_ids, "token_type_ids": c_types}
            h, _, mask = O.run(model, [e], pad)
            chunks.append({**e, "pooled": {m: O.pool(h, mask, m)[0] for m in MODES}})
            all_chunks.append((e, chunks[-1]))
        w = torch.tensor([len(c["input_ids"]) for c in chunks], dtype=torch.float64)

        def wmean(vs):
            return (torch.stack(vs) * w[:, None]).sum(0) / w.sum()

        combined = {}
        for m in MODES:
            pooled = [c["pooled"][m] for c in chunks]
            combined[m] = {
                "normalized": fl(wmean([O.normalize(p) for p in pooled])),
                "raw": fl(wmean(pooled)),
                "matryoshka": {str(d): fl(wmean([O.truncate(p, d) for p in pooled])) for d in matryoshka},
            }
        cases.append({
            "name": name, "text": text, "input_ids": ids, "num_tokens": len(ids),
            "chunks": [{"input_ids": c["input_ids"], "token_type_ids": c["token_type_ids"],
                        "pooled": {m: fl(v) for m, v in c["pooled"].items()}} for c in chunks],
            "combined": combined,
        })
    # Self-check: every chunk run inside one right-padded batch equals the chunk alone (float64).
    encs = [e for e, _ in all_chunks]
    h, _, mask = O.run(model, encs, pad)
    worst = 0.0
    for i, (_, c) in enumerate(all_chunks):
        for m in MODES:
            worst = max(worst, (O.pool(h[i:i + 1], mask[i:i + 1], m)[0] - c["pooled"][m]).abs().max().item())
    assert worst < 1e-12, (fixture, worst)
    return {
        "fixture": fixture, "architecture": cfg["architectures"][0], "model_type": cfg["model_type"],
        "reference_dtype": "float64", "note": note, "hf_overrides": hf_overrides, "max_model_len": MAX_LEN,
        "pooling": pooling, "matryoshka": matryoshka, "pad_token_id": pad,
        "batch_max_abs_diff_vs_single": worst, "cases": cases,
    }


def short_bert(src, out):
    """tiny-bert-embed with 32 positions: the same weights, the position table cut to its first 32 rows."""
    if os.path.isdir(out):
        shutil.rmtree(out)
    shutil.copytree(src, out)
    cfg = json.load(open(os.path.join(src, "config.json")))
    cfg["max_position_embeddings"] = MAX_LEN
    dump(os.path.join(out, "config.json"), cfg)
    for f, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        c = json.load(open(os.path.join(src, f)))
        c[key] = MAX_LEN
        dump(os.path.join(out, f), c)
    tensors, meta = O.load_safetensors(os.path.join(src, "model.safetensors"))
    tensors = {k: (v[:MAX_LEN] if k.endswith("position_embeddings.weight") else v) for k, v in tensors.items()}
    O.save_safetensors(os.path.join(out, "model.safetensors"), tensors, "F32", meta or None)


def main():
    bert = os.path.join(MODELS, "tiny-bert-embed-short")
    short_bert(os.path.join(MODELS, "tiny-bert-embed"), bert)
    g = golden("tiny-bert-embed-short", bert, {},
               "tiny-bert-embed with max_position_embeddings 32; mean pooling + Normalize; matryoshka")
    dump(os.path.join(GOLDENS, "chunked-tiny-bert-embed-short.json"), g, indent=None)
    q = golden("tiny-qwen3-embed", os.path.join(MODELS, "tiny-qwen3-embed"), {"max_position_embeddings": MAX_LEN},
               "tiny-qwen3-embed (BF16 weights) served with hf_overrides max_position_embeddings 32; last-token pooling")
    dump(os.path.join(GOLDENS, "chunked-tiny-qwen3-embed.json"), q, indent=None)
    for x in (g, q):
        print(x["fixture"], [(c["name"], c["num_tokens"], len(c["chunks"])) for c in x["cases"]],
              "batch vs single", x["batch_max_abs_diff_vs_single"])


main()
