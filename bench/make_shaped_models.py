"""Random-weight benchmark models at the real sizes of two architectures people embed with, in
Hugging Face layout, written with the oracle's own fixture writers (../shared/oracle, or
WGPOOL_ORACLE_DIR) so the folders are exactly what the golden tests load, only bigger:

  /usr/bin/python3 bench/make_shaped_models.py .bench/models            # both
  /usr/bin/python3 bench/make_shaped_models.py .bench/models modernbert-base

  perf-modernbert-base   ModernBertModel, ModernBERT-base's body: 22 layers, hidden 768, 12 heads,
                         intermediate 1152 (GeGLU), local window 128 with a global layer every 3rd,
                         CLS pooling + Normalize (gte-modernbert-base's pipeline)
  perf-embeddinggemma    Gemma3TextModel, embeddinggemma-300m's body: 24 layers, hidden 768, 3 query
                         heads / 1 KV head of 256, intermediate 1152, sliding window 512 on 5 of every
                         6 layers, mean pooling -> Dense 768->3072 -> Dense 3072->768 -> Normalize

Throughput does not depend on the weight values. The vocabularies are the fixtures' small stand-ins
(a few thousand tokens instead of 50k / 262k): the only cost that changes is the embedding table's
size, not the work per token. Weights are F32, as in the MiniLM benchmark model.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.environ.get("WGPOOL_ORACLE_DIR", os.path.join(HERE, "..", "..", "shared", "oracle"))
sys.path.insert(0, ORACLE)

import make_fixtures as M  # noqa: E402
import make_gemma3 as G  # noqa: E402
import make_modernbert as MB  # noqa: E402


def modernbert_base(out):
    tok, tcfg, ids = MB.modernbert_tokenizer(M.bert_base_uncased_vocab())
    vocab = len(tok["model"]["vocab"]) + len(MB.SPECIALS)
    cfg = MB.modernbert_config("ModernBertModel", vocab, ids, L=22, H=768, heads=12, inter=1152, local_attention=128)
    d = os.path.join(out, "perf-modernbert-base")
    M.write_model(d, cfg, tok, tcfg, 300)
    M.st_files(d, 768, "cls", True)
    return d


def embeddinggemma(out):
    tok, tcfg = G.gemma_tokenizer(M.bert_base_uncased_vocab())
    cfg = G.gemma3_config(len(tok["model"]["vocab"]), L=24, H=768, heads=3, kv=1, head_dim=256, inter=1152,
                          qpas=256, sliding_window=512, pattern=6)
    d = os.path.join(out, "perf-embeddinggemma")
    G.write_fixture(d, cfg, tok, tcfg, 301, "F32", G.embed_spec(768, 3072, 768, [512, 256, 128]))
    return d


SHAPES = {"modernbert-base": modernbert_base, "embeddinggemma": embeddinggemma}

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".bench", "models")
    for name in sys.argv[2:] or SHAPES:
        print("wrote", SHAPES[name](out), flush=True)
