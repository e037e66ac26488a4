"""Train the WordNet cross-encoder reranker: BertForSequenceClassification (num_labels 1, sigmoid)
scoring "[CLS] description [SEP] lemma [SEP]", initialised from the trained embedder's encoder
(or --init, a state dict such as an earlier run's best checkpoint).

Two ways to build training groups (--groups):

- top20 (default): groups drawn from the distribution the reranker is evaluated on. Training
  synsets are cut into pools of --chunk synsets (the held-out set's size, ~10k lemmas); a
  description becomes a group only where the embedder's top 20 in its pool holds a right lemma, the
  positive is one of those and the negatives are other top-20 candidates (build_top20).
- near-miss (the earlier recipe, below): the right lemma wherever the embedder ranks it, negatives
  its near misses among all training lemmas. It taught "near the description in the embedder's
  space = wrong": for ~70% of descriptions no right lemma is in the top 20, so only negatives were
  near, and at evaluation (every candidate near) it preferred the embedder's lower-ranked ones.

The first reranker (7 680 descriptions, 1.7 epochs) lowered the embedder's recall@1 on held-out
synsets: it memorised its training pairs and learned a lemma prior ("this word was a right answer
before"). The near-miss recipe is built against both failures:

- Many descriptions, seen about once: one per training synset (--queries of them, seeded sample),
  its gloss as the evaluation asks it (plain, --plain of the time) or in one of the embedder's
  phrasings ("a word for ...").
- Balanced positives: each description's right lemma is the synset lemma used least so far, and no
  lemma text is the right answer more than --max-positive times (synsets whose lemmas are all used
  up are skipped), so "was a positive before" carries almost no information.
- Hard negatives from the embedder's top --mine-k among all training lemmas, EXCLUDING every lemma
  of the description's synset (they are right answers, not negatives): --negatives of them per group.
- Listwise loss: softmax cross-entropy over each group's 1 + --negatives logits (right lemma first),
  plus --bce times binary cross-entropy per pair so sigmoid(logit) reads roughly as a probability.
- Validation: --val-percent of the training synsets (by a seeded hash) are never reranker training
  descriptions; every --val-minutes the embedder's top 20 for --val-queries of their glosses (among a
  10 048-lemma pool, the size of the evaluation's held-out pool) is reranked by the cross-encoder
  score alone, and the checkpoint with the best recall@1 is kept (work/reranker.best.pt) and exported.
  (The embedder itself trained on these synsets, so its own recall@1 there is optimistic; the number
  that selects the checkpoint is the reranker's.)

    python3 train_reranker.py --steps 2400       # needs demo/models/wordnet-bert-embed; resumes

Mined groups and the validation set are cached in work/rerank_mine.pt (top20) or
work/rerank_data.pkl (near-miss), keyed by the flags that shape them; model + optimiser + step +
best score in work/TAG.ckpt every --ckpt-minutes (--tag, default reranker).
Batches are a function of (seed, step) and dropout is reseeded per step, so a resumed run follows
the uninterrupted trajectory.
"""
import argparse
import hashlib
import os
import pickle
import random
import time

import torch
import torch.nn.functional as F

from bert import BertForSequenceClassification, BertModel, WordPiece, init_bert, load_weights, mean_pool_normalize, pad
from data import TEMPLATES
from export import bert_config, write_common
from train_embedder import add_model_flags, batches, lr_at

HERE = os.path.dirname(os.path.abspath(__file__))
VAL_POOL = 10048  # lemmas in the validation pool: the evaluation's held-out pool size
RERANK_K = 20


@torch.no_grad()
def embed(model, tok, texts, max_len, batch=256):
    out = []
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch
    for k in range(0, len(texts), batch):
        idx = order[k:k + batch]
        ids, mask = pad([tok.encode(texts[i], max_len) for i in idx])
        out.append((idx, mean_pool_normalize(model(ids, mask)[0], mask)))
    res = torch.empty(len(texts), out[0][1].shape[1])
    for idx, e in out:
        res[idx] = e
    return res


def is_val(key, seed, percent):
    return int(hashlib.sha1(f"rerank-val:{seed}:{key}".encode()).hexdigest(), 16) % 100 < percent


def describe(s, rng, plain):
    return s["gloss"] if rng.random() < plain else rng.choice([t for t in TEMPLATES if t != "{}"]).format(s["gloss"])


def build(a, d, tok):
    """-> (groups [(description, right lemma, [negatives])], val [(gloss, [top-20 lemmas], {right})])."""
    shape = {k: getattr(a, k) for k in ("seed", "queries", "negatives", "mine_k", "max_positive", "plain",
                                        "val_percent", "val_queries", "max_lemmas")}
    cache = os.path.join(a.work, "rerank_data.pkl")
    if os.path.exists(cache):
        c = pickle.load(open(cache, "rb"))
        if c["shape"] == shape:
            return c["groups"], c["val"]
    t0 = time.time()
    rng = random.Random(a.seed)
    syn = d["synsets"]
    train = [i for i, s in enumerate(syn) if not s["heldout"] and s["gloss"]]
    val_ids = [i for i in train if is_val(syn[i]["key"], a.seed, a.val_percent)]
    val_set = set(val_ids)
    train = [i for i in train if i not in val_set]
    rng.shuffle(train)
    used = {}
    picked = []  # (synset index, description, right lemma)
    for i in train:
        cands = [l.lower() for l in syn[i]["lemmas"] if used.get(l.lower(), 0) < a.max_positive]
        if not cands:
            continue
        low = min(used.get(l, 0) for l in cands)
        right = rng.choice([l for l in cands if used.get(l, 0) == low])
        used[right] = used.get(right, 0) + 1
        picked.append((i, describe(syn[i], rng, a.plain), right))
        if len(picked) == a.queries:
            break
    print(f"{len(picked)} descriptions, {len(used)} distinct right lemmas (max {max(used.values())} each); "
          f"{len(val_ids)} validation synsets", flush=True)

    emb_cfg = bert_config("BertModel", len(d["vocab"]), a)
    embedder = load_weights(BertModel(emb_cfg), os.path.join(a.embedder, "model.safetensors"))
    lemmas = sorted({l.lower() for s in syn if not s["heldout"] for l in s["lemmas"]})
    if a.max_lemmas:  # smoke tests only: a smaller pool, the right lemmas kept
        keep = {r for _, _, r in picked} | {l.lower() for i in val_ids for l in syn[i]["lemmas"]}
        lemmas = sorted(set(rng.sample(lemmas, a.max_lemmas)) | keep)
    L = embed(embedder, tok, lemmas, a.max_len)
    print(f"embedded {len(lemmas)} lemmas in {time.time() - t0:.0f}s", flush=True)
    Q = embed(embedder, tok, [q for _, q, _ in picked], a.max_len)
    groups = []
    for k in range(0, len(picked), 1024):
        top = (Q[k:k + 1024] @ L.T).topk(a.mine_k, dim=1).indices.tolist()
        for (i, q, r), cand in zip(picked[k:k + 1024], top):
            right = {l.lower() for l in syn[i]["lemmas"]}
            negs = [lemmas[j] for j in cand if lemmas[j] not in right]
            groups.append((q, r, rng.sample(negs, min(a.negatives, len(negs)))))
    groups = [g for g in groups if len(g[2]) == a.negatives]
    print(f"mined {len(groups)} groups in {time.time() - t0:.0f}s", flush=True)

    # Validation: plain glosses of val synsets, candidates = embedder top 20 among a pool of every val
    # lemma plus random other training lemmas up to VAL_POOL.
    vq = random.Random(a.seed + 1).sample(val_ids, min(a.val_queries, len(val_ids)))
    pool = {l.lower() for i in val_ids for l in syn[i]["lemmas"]}
    rest = sorted(set(lemmas) - pool)
    pool = sorted(pool | set(random.Random(a.seed + 2).sample(rest, min(len(rest), max(0, VAL_POOL - len(pool))))))
    index = {l: j for j, l in enumerate(lemmas)}
    P = L[[index[l] for l in pool]]
    V = embed(embedder, tok, [syn[i]["gloss"] for i in vq], a.max_len)
    top = (V @ P.T).topk(RERANK_K, dim=1).indices.tolist()
    val = [(syn[i]["gloss"], [pool[j] for j in t], {l.lower() for l in syn[i]["lemmas"]}) for i, t in zip(vq, top)]
    pickle.dump({"shape": shape, "groups": groups, "val": val}, open(cache + ".tmp", "wb"))
    os.replace(cache + ".tmp", cache)
    return groups, val


def build_top20(a, d, tok):
    """Groups shaped like the evaluation: -> (groups, val) as build() returns them.

    The training synsets (validation ones excluded) are shuffled and cut into chunks of --chunk
    synsets, about the evaluation's held-out set (5 850 synsets, 10 048 lemmas); each chunk's pool is
    its synsets' lemmas. A description (its synset's gloss, plain --plain of the time) becomes a group
    only where the embedder's top 20 in its chunk's pool holds a right lemma: the positive is one of
    those (seeded choice), the negatives --negatives of the other top-20 candidates. So the positive
    is as near the description as the negatives, as at evaluation, and nearness carries no label.
    The embeddings are cached in work/rerank_mine.pt (keyed by the flags that shape them).
    """
    shape = {k: getattr(a, k) for k in ("seed", "queries", "plain", "chunk", "val_percent", "val_queries")}
    cache = os.path.join(a.work, "rerank_mine.pt")
    syn = d["synsets"]
    train = [i for i, s in enumerate(syn) if not s["heldout"] and s["gloss"]]
    val_ids = [i for i in train if is_val(syn[i]["key"], a.seed, a.val_percent)]
    val_set = set(val_ids)
    train = [i for i in train if i not in val_set]
    rng = random.Random(a.seed)
    rng.shuffle(train)
    train = train[:a.queries]
    if os.path.exists(cache) and (c := torch.load(cache))["shape"] == shape:
        chunks, val = c["chunks"], c["val"]
    else:
        t0 = time.time()
        embedder = load_weights(BertModel(bert_config("BertModel", len(d["vocab"]), a)),
                                os.path.join(a.embedder, "model.safetensors"))
        chunks = []
        for k in range(0, len(train), a.chunk):
            ids = train[k:k + a.chunk]
            pool = sorted({l.lower() for i in ids for l in syn[i]["lemmas"]})
            texts = [describe(syn[i], rng, a.plain) for i in ids]
            P, Q = embed(embedder, tok, pool, a.max_len), embed(embedder, tok, texts, a.max_len)
            top = (Q @ P.T).topk(RERANK_K, dim=1).indices.tolist()
            chunks.append({"synsets": ids, "texts": texts, "top": [[pool[j] for j in t] for t in top]})
            print(f"mined chunk {len(chunks)}: {len(ids)} descriptions among {len(pool)} lemmas "
                  f"({time.time() - t0:.0f}s)", flush=True)
        # Validation exactly as build() makes it: the pool needs only its own lemmas embedded.
        lemmas = sorted({l.lower() for s in syn if not s["heldout"] for l in s["lemmas"]})
        vq = random.Random(a.seed + 1).sample(val_ids, min(a.val_queries, len(val_ids)))
        pool = {l.lower() for i in val_ids for l in syn[i]["lemmas"]}
        rest = sorted(set(lemmas) - pool)
        pool = sorted(pool | set(random.Random(a.seed + 2).sample(rest, min(len(rest), max(0, VAL_POOL - len(pool))))))
        P = embed(embedder, tok, pool, a.max_len)
        V = embed(embedder, tok, [syn[i]["gloss"] for i in vq], a.max_len)
        top = (V @ P.T).topk(RERANK_K, dim=1).indices.tolist()
        val = [(syn[i]["gloss"], [pool[j] for j in t], {l.lower() for l in syn[i]["lemmas"]}) for i, t in zip(vq, top)]
        torch.save({"shape": shape, "chunks": chunks, "val": val}, cache + ".tmp")
        os.replace(cache + ".tmp", cache)
        print(f"mining took {time.time() - t0:.0f}s", flush=True)
    grng = random.Random(a.seed + 3)
    groups, seen = [], 0
    for c in chunks:
        for i, q, top in zip(c["synsets"], c["texts"], c["top"]):
            seen += 1
            right = {l.lower() for l in syn[i]["lemmas"]}
            hits = [l for l in top if l in right]
            negs = [l for l in top if l not in right]
            if hits and len(negs) >= a.negatives:
                groups.append((q, grng.choice(hits), grng.sample(negs, a.negatives)))
    print(f"{len(groups)} groups from {seen} descriptions (a right lemma in the embedder's top {RERANK_K}); "
          f"{len({g[1] for g in groups})} distinct positives", flush=True)
    return groups, val


@torch.no_grad()
def validate(model, tok, val, batch=160):
    """Recall@1 of the embedder's order and of the reranker's order over each query's top 20."""
    model.eval()
    pairs = [(q, c) for q, cands, _ in val for c in cands]
    s = []
    for k in range(0, len(pairs), batch):
        enc = [tok.encode_pair(q, c, 512) for q, c in pairs[k:k + batch]]
        ids, mask = pad([e[0] for e in enc])
        types, _ = pad([e[1] for e in enc])
        s += model(ids, mask, types)[:, 0].tolist()
    model.train()
    emb = rr = 0
    for n, (_, cands, right) in enumerate(val):
        r = s[n * RERANK_K:(n + 1) * RERANK_K]
        emb += cands[0] in right
        rr += cands[max(range(RERANK_K), key=lambda k: r[k])] in right
    return emb / len(val), rr / len(val)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--embedder", default=os.path.join(HERE, "../../demo/models/wordnet-bert-embed"))
    ap.add_argument("--out", default=os.path.join(HERE, "../../demo/models/wordnet-bert-rerank"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--batch", type=int, default=16, help="groups per step (each 1 + --negatives pairs)")
    ap.add_argument("--negatives", type=int, default=7)
    ap.add_argument("--mine-k", type=int, default=20)
    ap.add_argument("--queries", type=int, default=48000, help="training descriptions (one per synset)")
    ap.add_argument("--max-positive", type=int, default=2, help="times a lemma text may be a right answer")
    ap.add_argument("--plain", type=float, default=0.75, help="share of descriptions that are the plain gloss")
    ap.add_argument("--val-percent", type=int, default=2)
    ap.add_argument("--val-queries", type=int, default=300)
    ap.add_argument("--val-check", type=int, default=150, help="validate on the first this many of --val-queries")
    ap.add_argument("--val-minutes", type=float, default=6.0)
    ap.add_argument("--max-lemmas", type=int, default=0, help="mine among this many lemmas (0: all; for smoke tests)")
    ap.add_argument("--pair-len", type=int, default=96)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--bce", type=float, default=0.5, help="weight of the per-pair BCE next to the listwise loss")
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    ap.add_argument("--groups", choices=["top20", "near-miss"], default="top20",
                    help="top20: build_top20 (positive and negatives from the embedder's top 20); "
                         "near-miss: build (the right lemma wherever it ranks, negatives its near misses)")
    ap.add_argument("--chunk", type=int, default=5850, help="top20: synsets per mining pool (the held-out set's size)")
    ap.add_argument("--init", default="", help="state dict to start from when there is no checkpoint "
                                               "(default: the embedder's encoder and a fresh head)")
    ap.add_argument("--tag", default="reranker", help="file names in --work: TAG.ckpt, TAG.best.pt")
    add_model_flags(ap)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t_start = time.time()
    d = pickle.load(open(os.path.join(a.work, "data.pkl"), "rb"))
    tok = WordPiece(d["vocab"])
    groups, val = (build_top20 if a.groups == "top20" else build)(a, d, tok)

    cfg = bert_config("BertForSequenceClassification", len(d["vocab"]), a, id2label={"0": "LABEL_0"},
                      label2id={"LABEL_0": 0},
                      sentence_transformers={"activation_fn": "torch.nn.modules.activation.Sigmoid"})
    torch.manual_seed(a.seed)
    model = init_bert(BertForSequenceClassification({**cfg, "num_labels": 1}), a.seed + 1)
    emb_cfg = bert_config("BertModel", len(d["vocab"]), a)
    model.bert.load_state_dict(load_weights(BertModel(emb_cfg), os.path.join(a.embedder, "model.safetensors")).state_dict())
    if a.init:
        model.load_state_dict(torch.load(a.init))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    ckpt, best_path = os.path.join(a.work, f"{a.tag}.ckpt"), os.path.join(a.work, f"{a.tag}.best.pt")
    step, best, history = 0, None, []
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        step, best, history = s["step"], s["best"], s["history"]
        print(f"resumed at step {step} (best so far {best})", flush=True)

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                    "history": history, "args": vars(a)}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    def check():
        nonlocal best
        e1, r1 = validate(model, tok, val[:a.val_check])
        history.append({"step": step, "embedder_r1": e1, "rerank_r1": r1})
        print(f"validation step {step}: rerank R@1 {r1:.3f} (embedder order {e1:.3f}, {len(val[:a.val_check])} queries)", flush=True)
        if best is None or r1 > best["rerank_r1"]:
            best = history[-1]
            torch.save(model.state_dict(), best_path + ".tmp")
            os.replace(best_path + ".tmp", best_path)

    if step == 0:
        check()  # the untrained head: a floor the kept checkpoint must beat
    G = 1 + a.negatives
    lengths = [len(q) for q, _, _ in groups]  # characters: enough to batch similar lengths together
    model.train()
    last_save = last_val = t_log = time.time()
    loss_sum, n_log = 0.0, 0
    while step < a.steps:
        b = [groups[i] for i in batches(lengths, a.batch, a.seed, step)]
        enc = [tok.encode_pair(q, c, a.pair_len) for q, t, negs in b for c in [t] + negs]
        ids, mask = pad([x[0] for x in enc])
        types, _ = pad([x[1] for x in enc])
        torch.manual_seed(a.seed * 1_000_003 + step)
        logits = model(ids, mask, types).view(len(b), G)
        labels = torch.zeros_like(logits)
        labels[:, 0] = 1
        loss = F.cross_entropy(logits, torch.zeros(len(b), dtype=torch.long)) + a.bce * \
            F.binary_cross_entropy_with_logits(logits, labels, pos_weight=torch.tensor(float(a.negatives)))
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        loss_sum, n_log = loss_sum + loss.item(), n_log + 1
        if step % 20 == 0 or step == a.steps:
            dt = (time.time() - t_log) / n_log
            print(f"step {step}/{a.steps} loss {loss_sum / n_log:.4f} lr {lr_at(step - 1, a):.2e} {dt:.2f}s/step "
                  f"eta {dt * (a.steps - step) / 60:.1f}min", flush=True)
            t_log, loss_sum, n_log = time.time(), 0.0, 0
        if time.time() - last_val > a.val_minutes * 60 or step == a.steps:
            check()
            last_val = time.time()
        if time.time() - last_save > a.ckpt_minutes * 60 or step == a.steps:
            save()
            last_save = time.time()
    model.load_state_dict(torch.load(best_path))
    write_common(a.out, cfg, d["vocab"], model)
    print(f"wrote {a.out} from step {best['step']} (validation rerank R@1 {best['rerank_r1']:.3f}, embedder order "
          f"{best['embedder_r1']:.3f}); this process ran {(time.time() - t_start) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
