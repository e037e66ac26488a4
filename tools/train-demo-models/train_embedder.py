"""Train the WordNet sentence embedder: BertModel + mean pooling + L2 normalize, contrastive with
in-batch negatives and a symmetric loss (query->lemma and lemma->query cross-entropy over the
batch's cosine similarities times --scale). Pairs that share a synset or a target text are masked
out of each other's negatives (they are not negatives).

    python3 train_embedder.py --steps 3000            # resumes from work/embedder.ckpt if present

Checkpoints (model, optimizer, step) every --ckpt-minutes; a rerun with the same flags resumes.
Batches are a seeded permutation of the pairs and dropout is reseeded per step, so a resumed run
follows the same trajectory as an uninterrupted one. Exports the final model, F16, to --out.
"""
import argparse
import math
import os
import pickle
import random
import time

import torch
import torch.nn.functional as F

from bert import BertModel, WordPiece, init_bert, mean_pool_normalize, pad
from export import bert_config, write_embedder

HERE = os.path.dirname(os.path.abspath(__file__))


def add_model_flags(ap):
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--inter", type=int, default=512)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--max-positions", type=int, default=512)
    ap.add_argument("--max-len", type=int, default=64, help="tokens per text, [CLS]/[SEP] included")


def batches(lengths, batch, seed, step, chunk=32):
    """Index batch for global `step`. Epoch e is a permutation seeded (seed, e), cut into chunks of
    `chunk` batches; within a chunk the pairs are sorted by query length and the batches shuffled,
    so a batch pads little (a random batch pads every query to the longest gloss, ~3x the work)."""
    n = len(lengths)
    per_epoch = n // batch
    e, k = divmod(step, per_epoch)
    perm = list(range(n))
    random.Random(seed * 1000 + e).shuffle(perm)
    c0 = (k // chunk) * chunk
    block = sorted(perm[c0 * batch:min(per_epoch, c0 + chunk) * batch], key=lambda i: lengths[i])
    order = list(range(len(block) // batch))
    random.Random(seed * 1000003 + e * 7919 + c0).shuffle(order)
    j = order[k - c0]
    return block[j * batch:(j + 1) * batch]


def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--out", default=os.path.join(HERE, "../../demo/models/wordnet-bert-embed"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--scale", type=float, default=20.0, help="cosine -> logit scale (1 / temperature)")
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    add_model_flags(ap)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    d = pickle.load(open(os.path.join(a.work, "data.pkl"), "rb"))
    tok = WordPiece(d["vocab"])
    t0 = time.time()
    cache = os.path.join(a.work, f"pairs_tok_{a.max_len}.pkl")
    if os.path.exists(cache):
        pairs = pickle.load(open(cache, "rb"))
    else:
        pairs = [(tok.encode(q, a.max_len), tok.encode(t, a.max_len), i, t.lower()) for q, t, i, _ in d["pairs"]]
        pickle.dump(pairs, open(cache, "wb"))
    lengths = [len(p[0]) for p in pairs]
    print(f"tokenized {len(pairs)} pairs in {time.time() - t0:.0f}s", flush=True)

    cfg = bert_config("BertModel", len(d["vocab"]), a)
    torch.manual_seed(a.seed)
    model = init_bert(BertModel(cfg), a.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    ckpt = os.path.join(a.work, "embedder.ckpt")
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

    model.train()
    last_save, t_log, loss_sum, n_log = time.time(), time.time(), 0.0, 0
    while step < a.steps:
        idx = batches(lengths, a.batch, a.seed, step)
        b = [pairs[i] for i in idx]
        torch.manual_seed(a.seed * 1_000_003 + step)  # dropout masks: same on resume
        q_ids, q_mask = pad([x[0] for x in b])
        t_ids, t_mask = pad([x[1] for x in b])
        q = mean_pool_normalize(model(q_ids, q_mask)[0], q_mask)
        t = mean_pool_normalize(model(t_ids, t_mask)[0], t_mask)
        sim = a.scale * q @ t.T
        syn = torch.tensor([x[2] for x in b])
        txt = [x[3] for x in b]
        same = (syn[:, None] == syn[None, :]) | torch.tensor([[u == v for v in txt] for u in txt])
        same.fill_diagonal_(False)
        sim = sim.masked_fill(same, -1e4)
        target = torch.arange(len(b))
        loss = (F.cross_entropy(sim, target) + F.cross_entropy(sim.T, target)) / 2
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        loss_sum, n_log = loss_sum + loss.item(), n_log + 1
        if step % 25 == 0 or step == a.steps:
            dt = (time.time() - t_log) / n_log
            print(f"step {step}/{a.steps} loss {loss_sum / n_log:.4f} lr {lr_at(step - 1, a):.2e} {dt:.2f}s/step "
                  f"eta {dt * (a.steps - step) / 60:.1f}min", flush=True)
            t_log, loss_sum, n_log = time.time(), 0.0, 0
        if time.time() - last_save > a.ckpt_minutes * 60 or step == a.steps:
            save()
            last_save = time.time()
    write_embedder(a.out, cfg, d["vocab"], model, a.max_len)
    print(f"wrote {a.out}", flush=True)


if __name__ == "__main__":
    main()
