"""Train the WordNet cross-encoder reranker: BertForSequenceClassification (num_labels 1, sigmoid)
scoring "[CLS] description [SEP] lemma [SEP]", initialised from the trained embedder's encoder.

Hard negatives are mined by the embedder: for each training description, the embedder ranks every
training lemma, and --negatives of its top --mine-k that are not lemmas of the description's synset
join the right lemma in a group. Loss: listwise cross-entropy over each group's logits (the right
lemma first) plus binary cross-entropy on every pair, so sigmoid(logit) reads as a probability.

    python3 train_reranker.py --steps 400        # needs demo/models/wordnet-bert-embed; resumes

Mined negatives are cached in work/negatives.pkl; checkpoints as train_embedder.py.
"""
import argparse
import os
import pickle
import random
import time

import torch
import torch.nn.functional as F

from bert import BertForSequenceClassification, BertModel, WordPiece, init_bert, load_weights, mean_pool_normalize, pad
from export import bert_config, write_common
from train_embedder import add_model_flags, batches, lr_at

HERE = os.path.dirname(os.path.abspath(__file__))
DESCRIPTION_KINDS = ("gloss", "example", "hypernym")


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


def mine(a, d, tok):
    """-> list of (description, right lemma, [negative lemmas])."""
    cache = os.path.join(a.work, "negatives.pkl")
    if os.path.exists(cache):
        return pickle.load(open(cache, "rb"))
    t0 = time.time()
    emb_cfg = bert_config("BertModel", len(d["vocab"]), a)
    embedder = load_weights(BertModel(emb_cfg), os.path.join(a.embedder, "model.safetensors"))
    syn = d["synsets"]
    lemmas = sorted({l.lower() for s in syn if not s["heldout"] for l in s["lemmas"]})
    rng = random.Random(a.seed)
    pairs = [p for p in d["pairs"] if p[3] in DESCRIPTION_KINDS]
    pairs = rng.sample(pairs, a.queries)
    if a.max_lemmas:  # smoke tests only: a smaller pool, the right lemmas kept
        lemmas = sorted(set(rng.sample(lemmas, a.max_lemmas)) | {t.lower() for _, t, _, _ in pairs})
    L = embed(embedder, tok, lemmas, a.max_len)
    print(f"embedded {len(lemmas)} lemmas in {time.time() - t0:.0f}s", flush=True)
    Q = embed(embedder, tok, [p[0] for p in pairs], a.max_len)
    groups = []
    for k in range(0, len(pairs), 1024):
        top = (Q[k:k + 1024] @ L.T).topk(a.mine_k, dim=1).indices.tolist()
        for (q, t, i, _), cand in zip(pairs[k:k + 1024], top):
            right = {l.lower() for l in syn[i]["lemmas"]}
            negs = [lemmas[j] for j in cand if lemmas[j] not in right]
            groups.append((q, t, rng.sample(negs, a.negatives)))
    print(f"mined {len(groups)} groups in {time.time() - t0:.0f}s", flush=True)
    pickle.dump(groups, open(cache, "wb"))
    return groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--embedder", default=os.path.join(HERE, "../../demo/models/wordnet-bert-embed"))
    ap.add_argument("--out", default=os.path.join(HERE, "../../demo/models/wordnet-bert-rerank"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=32, help="groups per step (each 1 + --negatives pairs)")
    ap.add_argument("--negatives", type=int, default=3)
    ap.add_argument("--mine-k", type=int, default=20)
    ap.add_argument("--queries", type=int, default=7680, help="descriptions to mine negatives for")
    ap.add_argument("--max-lemmas", type=int, default=0, help="mine among this many lemmas (0: all; for smoke tests)")
    ap.add_argument("--pair-len", type=int, default=96)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    add_model_flags(ap)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    d = pickle.load(open(os.path.join(a.work, "data.pkl"), "rb"))
    tok = WordPiece(d["vocab"])
    groups = mine(a, d, tok)

    cfg = bert_config("BertForSequenceClassification", len(d["vocab"]), a, id2label={"0": "LABEL_0"},
                      label2id={"LABEL_0": 0},
                      sentence_transformers={"activation_fn": "torch.nn.modules.activation.Sigmoid"})
    torch.manual_seed(a.seed)
    model = init_bert(BertForSequenceClassification({**cfg, "num_labels": 1}), a.seed + 1)
    emb_cfg = bert_config("BertModel", len(d["vocab"]), a)
    model.bert.load_state_dict(load_weights(BertModel(emb_cfg), os.path.join(a.embedder, "model.safetensors")).state_dict())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    ckpt = os.path.join(a.work, "reranker.ckpt")
    step = 0
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        step = s["step"]
        print(f"resumed at step {step}", flush=True)

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "args": vars(a)}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    G = 1 + a.negatives
    lengths = [len(q) for q, _, _ in groups]  # characters: enough to batch similar lengths together
    model.train()
    last_save, t_log, loss_sum, n_log = time.time(), time.time(), 0.0, 0
    while step < a.steps:
        b = [groups[i] for i in batches(lengths, a.batch, a.seed, step)]
        enc = [tok.encode_pair(q, c, a.pair_len) for q, t, negs in b for c in [t] + negs]
        ids, mask = pad([x[0] for x in enc])
        types, _ = pad([x[1] for x in enc])
        torch.manual_seed(a.seed * 1_000_003 + step)
        logits = model(ids, mask, types).view(len(b), G)
        labels = torch.zeros_like(logits)
        labels[:, 0] = 1
        loss = F.cross_entropy(logits, torch.zeros(len(b), dtype=torch.long)) + \
            F.binary_cross_entropy_with_logits(logits, labels, pos_weight=torch.tensor(float(a.negatives)))
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        loss_sum, n_log = loss_sum + loss.item(), n_log + 1
        if step % 10 == 0 or step == a.steps:
            dt = (time.time() - t_log) / n_log
            print(f"step {step}/{a.steps} loss {loss_sum / n_log:.4f} {dt:.2f}s/step eta {dt * (a.steps - step) / 60:.1f}min",
                  flush=True)
            t_log, loss_sum, n_log = time.time(), 0.0, 0
        if time.time() - last_save > a.ckpt_minutes * 60 or step == a.steps:
            save()
            last_save = time.time()
    write_common(a.out, cfg, d["vocab"], model)
    print(f"wrote {a.out}", flush=True)


if __name__ == "__main__":
    main()
