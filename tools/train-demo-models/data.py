"""WordNet 3.0 -> synsets, the held-out split, the cut-down vocabulary and the training pairs.

    python3 data.py [--work DIR] [--seed 0]      # writes DIR/data.pkl (about 1 minute)

Every later step (train_embedder.py, train_reranker.py, evaluate.py) reads DIR/data.pkl, so the
split, vocabulary and pairs are computed once and are the same everywhere. Deterministic given
--seed and the WordNet files (Debian package wordnet-base, /usr/share/wordnet).
"""
import argparse
import hashlib
import os
import pickle
import random
import re
import time
from collections import Counter

from bert import SPECIALS, WordPiece

HERE = os.path.dirname(os.path.abspath(__file__))
WORDNET = "/usr/share/wordnet"
BERT_VOCAB_CANDIDATES = [os.path.join(HERE, "../../../shared/oracle/vocab/bert-base-uncased.txt"),
                         "/work/shared/oracle/vocab/bert-base-uncased.txt"]
POS_FILES = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "r": "data.adv"}
HELD_OUT_PERCENT = 5

# How a description is phrased as a query. "{}" is the gloss; the plain gloss is the most common.
TEMPLATES = ["{}", "{}", "{}", "a word for {}", "what is the word for {}?", "the term for {}", "what do you call {}?",
             "a word meaning {}"]
HYPERNYM_TEMPLATES = ["a kind of {}", "a type of {}", "one kind of {}"]
MASK = "___"


def lemma_text(w):
    """WordNet lemma as written text: underscores are spaces; adjective markers (a)/(p)/(ip) dropped."""
    return re.sub(r"\((a|p|ip)\)$", "", w).replace("_", " ")


def parse_wordnet(root=WORDNET):
    """-> list of dicts {key, pos, lemmas, gloss, examples, hypernyms}, in file order."""
    synsets = []
    for pos, fname in POS_FILES.items():
        with open(os.path.join(root, fname), encoding="latin-1") as f:
            for line in f:
                if line.startswith("  "):
                    continue  # license header
                head, _, gloss = line.partition(" | ")
                t = head.split()
                ss_type, n_words = t[2], int(t[3], 16)
                lemmas = [lemma_text(t[4 + 2 * i]) for i in range(n_words)]
                k = 4 + 2 * n_words
                n_ptr = int(t[k])
                hypers = []
                for i in range(n_ptr):
                    sym, off, ppos = t[k + 1 + 4 * i: k + 4 + 4 * i]
                    if sym in ("@", "@i"):
                        hypers.append(f"{ppos}{off}")
                # gloss: definition; "quoted examples" separated by "; "
                parts = [p.strip() for p in gloss.strip().split("; ")]
                defs = [p for p in parts if not p.startswith('"')]
                examples = [p.strip('"').strip() for p in parts if p.startswith('"')]
                synsets.append({"key": f"{pos}{t[0]}", "pos": "s" if ss_type == "s" else pos, "lemmas": lemmas,
                                "gloss": "; ".join(defs).strip(), "examples": [e for e in examples if e],
                                "hypernyms": hypers})
    return synsets


def held_out(key, seed):
    """5% of synsets, chosen by a seeded hash of the synset key (stable across runs and machines)."""
    return int(hashlib.sha1(f"{seed}:{key}".encode()).hexdigest(), 16) % 100 < HELD_OUT_PERCENT


def mask_example(example, lemma):
    """Replace the lemma (or a word it begins, e.g. 'barked' for 'bark') by ___; None if absent."""
    w = re.escape(lemma)
    for pat in (rf"\b{w}\b", rf"\b{w}[a-z]{{0,3}}\b" if len(lemma) >= 3 and " " not in lemma else None):
        if pat and re.search(pat, example, flags=re.I):
            return re.sub(pat, MASK, example, count=1, flags=re.I)
    return None


def bert_vocab():
    for p in BERT_VOCAB_CANDIDATES:
        if os.path.exists(p):
            return open(p, encoding="utf-8").read().split("\n")[:-1]
    raise FileNotFoundError("bert-base-uncased vocab (../shared/oracle/vocab/bert-base-uncased.txt)")


def cut_vocab(texts, min_count):
    """Keep [PAD] [UNK] [CLS] [SEP] [MASK], every single character and ##character (so any text
    still tokenizes, without [UNK] for Latin text), and the bert-base-uncased pieces the texts use at
    least min_count times, in bert-base-uncased order."""
    full = bert_vocab()
    assert full[101] == "[CLS]" and full[1996] == "the" and len(full) == 30522
    tok = WordPiece(full)
    counts = Counter(p for t in texts for p in tok.pieces(t))
    chars = full[999:1996]
    cont = [t for t in full if t.startswith("##") and len(t) == 3]
    keep = set(chars) | set(cont)
    words = [t for t in full[1996:] if t not in keep and counts[t] >= min_count]
    return SPECIALS + chars + cont + words


def make_pairs(synsets, rng, max_syn_pairs=3):
    """Training pairs (query, target lemma, synset index, kind) from the training synsets only."""
    by_key = {s["key"]: i for i, s in enumerate(synsets)}
    pairs = []
    for i, s in enumerate(synsets):
        if s["heldout"]:
            continue
        lemmas = s["lemmas"]
        if s["gloss"]:
            for l in lemmas:
                pairs.append((rng.choice(TEMPLATES).format(s["gloss"]), l, i, "gloss"))
        for ex in s["examples"]:
            for l in lemmas:
                m = mask_example(ex, l)
                if m:
                    pairs.append((m, l, i, "example"))
                    break
        syn = [(a, b) for a in lemmas for b in lemmas if a != b]
        rng.shuffle(syn)
        for a, b in syn[:max_syn_pairs]:
            pairs.append((a, b, i, "synonym"))
        for h in s["hypernyms"][:1]:
            j = by_key.get(h)
            if j is not None and not synsets[j]["heldout"] and synsets[j]["gloss"]:
                pairs.append((rng.choice(HYPERNYM_TEMPLATES).format(synsets[j]["gloss"]), lemmas[0], i, "hypernym"))
    return pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-count", type=int, default=3, help="keep bert-base-uncased pieces used this often")
    a = ap.parse_args()
    t0 = time.time()
    synsets = parse_wordnet()
    for s in synsets:
        s["heldout"] = held_out(s["key"], a.seed)
    texts = [s["gloss"] for s in synsets] + [e for s in synsets for e in s["examples"]] + \
            [l for s in synsets for l in s["lemmas"]] + TEMPLATES + HYPERNYM_TEMPLATES
    vocab = cut_vocab(texts, a.min_count)
    rng = random.Random(a.seed)
    pairs = make_pairs(synsets, rng)
    os.makedirs(a.work, exist_ok=True)
    with open(os.path.join(a.work, "data.pkl"), "wb") as f:
        pickle.dump({"seed": a.seed, "synsets": synsets, "vocab": vocab, "pairs": pairs}, f)
    kinds = Counter(p[3] for p in pairs)
    print(f"{len(synsets)} synsets, {sum(s['heldout'] for s in synsets)} held out; vocab {len(vocab)}; "
          f"{len(pairs)} pairs {dict(kinds)}; {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
