#!/usr/bin/env python3
"""Writes the fixtures the oracle in ../shared/oracle does not ship, with float64 goldens from its
independent PyTorch port (oracle.py, pytok.py, make_fixtures.py's seeded init):

- tiny-qwen3-reranker: a Qwen3ForCausalLM checkpoint (BF16, untied lm_head), scored the way vLLM
  scores a Qwen3-Reranker (classifier_from_token = ["no", "yes"]):
      logits = lm_head(norm(h))[last token]      score = sigmoid(logits[yes] - logits[no])
  The port lacks the causal-LM head; it is added here.
- tiny-xlmr-seqcls: XLMRobertaForSequenceClassification (3 labels; classifier.dense + tanh on <s>,
  then classifier.out_proj), on the tiny-roberta-embed tokenizer.
- tiny-bert-dense-embed: tiny-bert-embed's weights with a sentence-transformers pipeline of
  mean Pooling → Dense (64 → 32, Tanh, models/Dense.py: tanh(W·x + b)) → Normalize, and
  matryoshka_dimensions [16, 32] (truncation happens after Dense).

The tests need no Python; rerun this only to regenerate the committed files (byte-identical each run):

    /usr/bin/python3 tools/make_extra_fixtures.py [--oracle ../shared/oracle]
"""
import argparse, json, os, shutil, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--oracle", default=os.path.join(ROOT, "..", "shared", "oracle"))
args = ap.parse_args()
sys.path.insert(0, os.path.abspath(args.oracle))

import torch  # noqa: E402
import oracle as O  # noqa: E402
import pytok  # noqa: E402
from make_fixtures import init_weights  # noqa: E402

SRC = os.path.join(args.oracle, "fixtures", "tiny-qwen3-seqcls")  # tokenizer appends <|im_end|>
OUT = os.path.join(ROOT, "test", "fixtures", "models", "tiny-qwen3-reranker")
GOLDEN = os.path.join(ROOT, "test", "fixtures", "goldens", "tiny-qwen3-reranker.json")
XLMR_SRC = os.path.join(args.oracle, "fixtures", "tiny-roberta-embed")
XLMR_OUT = os.path.join(ROOT, "test", "fixtures", "models", "tiny-xlmr-seqcls")
XLMR_GOLDEN = os.path.join(ROOT, "test", "fixtures", "goldens", "tiny-xlmr-seqcls.json")
TEXTS = ["", "Hello", "The quick brown fox jumps over the lazy dog.", "what is the capital of france?",
         "Café naïve résumé — 東京 🙂 Ünïcödé!", "I can't believe it's already 2024... isn't it?",
         "Embeddings map sentences to vectors; similar meanings end up close together in the space."]


class Qwen3ForCausalLM(torch.nn.Module):
    """HF Qwen3ForCausalLM: the base model plus an lm_head (no bias), untied here."""
    prefix = "model"

    def __init__(self, c):
        super().__init__()
        self.model = O.Qwen3Model(c)
        self.lm_head = torch.nn.Linear(c.hidden_size, c.vocab_size, bias=False)

    def forward(self, input_ids, attention_mask):
        h, _ = self.model(input_ids, attention_mask)
        return h, self.lm_head(h)


def xlmr_seqcls():
    os.makedirs(XLMR_OUT, exist_ok=True)
    cfg = json.load(open(os.path.join(XLMR_SRC, "config.json")))
    cfg["architectures"] = ["XLMRobertaForSequenceClassification"]
    cfg["torch_dtype"] = "float32"
    labels = ["negative", "neutral", "positive"]
    cfg["id2label"] = {str(i): n for i, n in enumerate(labels)}
    cfg["label2id"] = {n: i for i, n in enumerate(labels)}
    with open(os.path.join(XLMR_OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(XLMR_SRC, name), os.path.join(XLMR_OUT, name))
    c = O.Config(cfg)
    c.num_labels = len(labels)
    model = init_weights(O.RobertaForSequenceClassification(c).double(), seed=5151)
    path = os.path.join(XLMR_OUT, "model.safetensors")
    O.save_safetensors(path, {k: v.detach().numpy() for k, v in model.state_dict().items()}, dtype="F32")
    stored, _ = O.load_safetensors(path)
    sd, unexpected = O.state_dict_from_checkpoint(model, stored)
    assert not unexpected, unexpected
    model.load_state_dict(sd)
    model.eval()
    tok = pytok.Tokenizer.from_file(os.path.join(XLMR_OUT, "tokenizer.json"))
    cases = []
    with torch.no_grad():
        for text in TEXTS:
            enc = tok.encode(text)
            ids = torch.tensor([enc["input_ids"]])
            _, logits = model(ids, torch.ones_like(ids))
            probs = torch.softmax(logits[0], -1)
            cases.append({"text": text, "input_ids": enc["input_ids"], "logits": logits[0].tolist(), "probs": probs.tolist(),
                          "predicted_label": labels[int(probs.argmax())]})
    with open(XLMR_GOLDEN, "w") as f:
        json.dump({"fixture": "tiny-xlmr-seqcls", "architecture": "XLMRobertaForSequenceClassification", "model_type": "xlm-roberta",
                   "reference_dtype": "float64", "cases": cases}, f, indent=1)
    print(f"wrote {XLMR_OUT} and {XLMR_GOLDEN}: {len(cases)} texts")


def bert_dense_embed():
    src = os.path.join(args.oracle, "fixtures", "tiny-bert-embed")
    out = os.path.join(ROOT, "test", "fixtures", "models", "tiny-bert-dense-embed")
    golden_path = os.path.join(ROOT, "test", "fixtures", "goldens", "tiny-bert-dense-embed.json")
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(out, "2_Dense"), exist_ok=True)
    for name in ("model.safetensors", "tokenizer.json", "tokenizer_config.json", "config_sentence_transformers.json",
                 "sentence_bert_config.json", "1_Pooling/config.json"):
        shutil.copy(os.path.join(src, name), os.path.join(out, name))
    cfg = json.load(open(os.path.join(src, "config.json")))
    cfg["is_matryoshka"] = True
    cfg["matryoshka_dimensions"] = [16, 32]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
        {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    with open(os.path.join(out, "modules.json"), "w") as f:
        json.dump(modules, f, indent=2)
    dense_cfg = {"in_features": 64, "out_features": 32, "bias": True, "activation_function": "torch.nn.modules.activation.Tanh"}
    with open(os.path.join(out, "2_Dense", "config.json"), "w") as f:
        json.dump(dense_cfg, f, indent=2)
    g = torch.Generator().manual_seed(6161)
    dense_w = torch.randn(32, 64, generator=g, dtype=torch.float64) / 8.0
    dense_b = 0.05 * torch.randn(32, generator=g, dtype=torch.float64)
    O.save_safetensors(os.path.join(out, "2_Dense", "model.safetensors"),
                       {"linear.weight": dense_w.numpy(), "linear.bias": dense_b.numpy()}, dtype="F32")
    stored, _ = O.load_safetensors(os.path.join(out, "2_Dense", "model.safetensors"))
    W = torch.from_numpy(stored["linear.weight"].astype("float64"))
    b = torch.from_numpy(stored["linear.bias"].astype("float64"))
    model = O.load_model(out)
    tok = pytok.Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    cases = []
    with torch.no_grad():
        for text in TEXTS:
            enc = tok.encode(text)
            ids = torch.tensor([enc["input_ids"]])
            mask = torch.ones_like(ids)
            h = model(ids, mask, torch.tensor([enc["token_type_ids"]]))[0]
            pooled = O.pool(h, mask, "mean")
            dense = torch.tanh(pooled @ W.T + b)
            cases.append({"text": text, "input_ids": enc["input_ids"], "dense": dense[0].tolist(),
                          "embedding": O.normalize(dense)[0].tolist(),
                          "matryoshka": {"16": O.truncate(dense, 16)[0].tolist()}})
    with open(golden_path, "w") as f:
        json.dump({"fixture": "tiny-bert-dense-embed", "architecture": "BertModel", "reference_dtype": "float64",
                   "pipeline": "mean pooling -> Dense(64->32, tanh) -> Normalize", "cases": cases}, f, indent=1)
    print(f"wrote {out} and {golden_path}: {len(cases)} texts")


def main():
    os.makedirs(OUT, exist_ok=True)
    cfg = json.load(open(os.path.join(SRC, "config.json")))
    for k in ("id2label", "label2id", "num_labels", "problem_type"):
        cfg.pop(k, None)
    cfg["architectures"] = ["Qwen3ForCausalLM"]
    cfg["tie_word_embeddings"] = False
    cfg["torch_dtype"] = "bfloat16"
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(SRC, name), os.path.join(OUT, name))

    c = O.Config(cfg)
    model = init_weights(Qwen3ForCausalLM(c).double(), seed=4242)
    # BF16 on disk; the reference runs on exactly the stored (rounded) values.
    tensors = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    path = os.path.join(OUT, "model.safetensors")
    O.save_safetensors(path, tensors, dtype="BF16")
    stored, _ = O.load_safetensors(path)
    sd, unexpected = O.state_dict_from_checkpoint(model, stored)
    assert not unexpected, unexpected
    model.load_state_dict(sd)
    model.eval()

    tok = pytok.Tokenizer.from_file(os.path.join(OUT, "tokenizer.json"))
    yes, no = tok.vocab["yes"], tok.vocab["no"]
    pairs = [
        ("what is the capital of france?", "Paris is the capital of France."),
        ("what is the capital of france?", "The quick brown fox jumps over the lazy dog."),
        ("how do vaccines work", "A vaccine trains the immune system to recognise a virus."),
        ("Hello", "Hello"),
        ("", "an empty query"),
        ("Café 東京 🙂", "naïve résumé"),
        ("who wrote the book?", "The novel was written in the early years of the century by a teacher."),
        ("short", "?"),
    ]
    cases = []
    with torch.no_grad():
        for q, d in pairs:
            enc = tok.encode(q, d)
            ids = torch.tensor([enc["input_ids"]])
            _, logits = model(ids, torch.ones_like(ids))
            last = logits[0, -1]
            diff = float(last[yes] - last[no])
            cases.append({
                "text": q, "text_pair": d, "input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
                "logit_yes": float(last[yes]), "logit_no": float(last[no]), "logit": diff,
                "score": float(torch.sigmoid(torch.tensor(diff, dtype=torch.float64))),
            })
    golden = {"fixture": "tiny-qwen3-reranker", "architecture": "Qwen3ForCausalLM", "model_type": "qwen3",
              "reference_dtype": "float64", "classifier_from_token": ["no", "yes"], "token_ids": {"no": no, "yes": yes},
              "cases": cases}
    with open(GOLDEN, "w") as f:
        json.dump(golden, f, indent=1)
    print(f"wrote {OUT} and {GOLDEN}: {len(cases)} pairs")


main()
xlmr_seqcls()
bert_dense_embed()
