"""BERT pieces the demo-model tools share: a WordPiece tokenizer for the tokenizer.json we write,
a PyTorch BertModel / BertForSequenceClassification whose parameter names equal Hugging Face's
(so the saved model.safetensors loads in transformers and in wgpool), and safetensors I/O.

The tokenizer and model are adapted from the repository's float64 oracle (../shared/oracle:
pytok.py, oracle.py); dropout is added here because these models are trained, not only run.
"""
import json
import math
import os
import struct
import unicodedata

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ============================================================================ WordPiece (BertNormalizer + BertPreTokenizer)
def _is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def _is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def _is_cjk(cp):
    return any(a <= cp <= b for a, b in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                                          (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])


def _is_punct(c):
    cp = ord(c)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or unicodedata.category(c).startswith("P")


def bert_normalize(text):
    """BertNormalizer(clean_text, handle_chinese_chars, strip_accents=None, lowercase=True)."""
    out = []
    for c in text:
        if c in "\x00\ufffd" or _is_control(c):
            continue
        if _is_whitespace(c):
            c = " "
        out.append(f" {c} " if _is_cjk(ord(c)) else c)
    text = "".join(c for c in unicodedata.normalize("NFD", "".join(out)) if unicodedata.category(c) != "Mn")
    return text.lower()


def bert_pretokenize(text):
    words = []
    for chunk in text.split():
        cur = ""
        for c in chunk:
            if _is_punct(c):
                words += [cur, c] if cur else [c]
                cur = ""
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def wordpiece(word, vocab, unk="[UNK]", max_chars=100):
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            sub = ("##" if start else "") + word[start:end]
            if sub in vocab:
                break
            end -= 1
        if end == start:
            return [unk]
        pieces.append(sub)
        start = end
    return pieces


class WordPiece:
    """Encodes exactly as @huggingface/tokenizers does for the tokenizer.json `tokenizer_json` writes
    (added tokens written literally inside a text are not split out; our data never contains them)."""

    def __init__(self, vocab_list):
        self.tokens = list(vocab_list)
        self.vocab = {t: i for i, t in enumerate(self.tokens)}
        self.cls, self.sep, self.pad = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[PAD]"]
        self._cache = {}

    def pieces(self, text):
        out = []
        for w in bert_pretokenize(bert_normalize(text)):
            p = self._cache.get(w)
            if p is None:
                p = self._cache[w] = wordpiece(w, self.vocab)
            out += p
        return out

    def ids(self, text):
        return [self.vocab[p] for p in self.pieces(text)]

    def encode(self, text, max_len):
        """[CLS] text [SEP], truncated (longest-first, as HF) to max_len."""
        return [self.cls] + self.ids(text)[: max_len - 2] + [self.sep]

    def encode_pair(self, a, b, max_len):
        """[CLS] a [SEP] b [SEP] with token types; truncation 'longest_first' as HF tokenizers does."""
        x, y = self.ids(a), self.ids(b)
        while len(x) + len(y) > max_len - 3:
            if len(x) >= len(y):
                x = x[:-1]
            else:
                y = y[:-1]
        ids = [self.cls] + x + [self.sep] + y + [self.sep]
        return ids, [0] * (len(x) + 2) + [1] * (len(y) + 1)


def tokenizer_json(vocab_list):
    """tokenizer.json + tokenizer_config.json for a lowercasing BERT WordPiece vocabulary."""
    v = {t: i for i, t in enumerate(vocab_list)}

    def added(t):
        return {"id": v[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True}

    def special(t, type_id):
        return {"SpecialToken": {"id": t, "type_id": type_id}}

    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [added(t) for t in SPECIALS],
           "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                          "strip_accents": None, "lowercase": True},
           "pre_tokenizer": {"type": "BertPreTokenizer"},
           "post_processor": {"type": "TemplateProcessing",
                              "single": [special("[CLS]", 0), {"Sequence": {"id": "A", "type_id": 0}}, special("[SEP]", 0)],
                              "pair": [special("[CLS]", 0), {"Sequence": {"id": "A", "type_id": 0}}, special("[SEP]", 0),
                                       {"Sequence": {"id": "B", "type_id": 1}}, special("[SEP]", 1)],
                              "special_tokens": {t: {"id": t, "ids": [v[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")}},
           "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
           "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                     "max_input_chars_per_word": 100, "vocab": v}}
    cfg = {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "tokenize_chinese_chars": True,
           "strip_accents": None, "clean_up_tokenization_spaces": True, "model_max_length": 512,
           "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    return tok, cfg


# ============================================================================ model (HF parameter names)
class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(types)
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.d = c["num_attention_heads"], c["hidden_size"] // c["num_attention_heads"]
        self.query, self.key, self.value = (nn.Linear(c["hidden_size"], c["hidden_size"]) for _ in range(3))
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(self, x, mask):
        B, T, _ = x.shape
        q, k, v = (l(x).view(B, T, self.h, self.d).transpose(1, 2) for l in (self.query, self.key, self.value))
        s = q @ k.transpose(-1, -2) / math.sqrt(self.d) + mask
        return (self.dropout(s.softmax(-1)) @ v).transpose(1, 2).reshape(B, T, -1)


class DenseLN(nn.Module):  # BertSelfOutput / BertOutput: LayerNorm(dropout(dense(x)) + residual)
    def __init__(self, n_in, c):
        super().__init__()
        self.dense = nn.Linear(n_in, c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x, res):
        return self.LayerNorm(self.dropout(self.dense(x)) + res)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = nn.Module()
        self.attention.self = SelfAttention(c)
        self.attention.output = DenseLN(c["hidden_size"], c)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.output = DenseLN(c["intermediate_size"], c)

    def forward(self, x, mask):
        a = self.attention.output(self.attention.self(x, mask), x)
        return self.output(F.gelu(self.intermediate.dense(a)), a)


class BertModel(nn.Module):
    """forward(ids, mask, types) -> (last_hidden_state, pooler_output)."""

    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.pooler = nn.Module()
        self.pooler.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, ids, mask, types=None):
        if types is None:
            types = torch.zeros_like(ids)
        x = self.embeddings(ids, types)
        add = torch.zeros(mask.shape, dtype=x.dtype).masked_fill(mask == 0, torch.finfo(x.dtype).min)[:, None, None, :]
        for layer in self.encoder.layer:
            x = layer(x, add)
        return x, torch.tanh(self.pooler.dense(x[:, 0]))


class BertForSequenceClassification(nn.Module):
    """HF layout: bert.* + classifier.*; forward -> logits (B, num_labels)."""

    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.classifier = nn.Linear(c["hidden_size"], c.get("num_labels", 1))

    def forward(self, ids, mask, types=None):
        return self.classifier(self.dropout(self.bert(ids, mask, types)[1]))


def init_bert(model, seed, std=0.02):
    """HF BertPreTrainedModel._init_weights: N(0, 0.02) linear/embedding weights, zero biases,
    LayerNorm (1, 0), padding row zero. Seeded so an untrained model is reproducible too."""
    g = torch.Generator().manual_seed(seed)
    for name, p in sorted(model.named_parameters()):
        with torch.no_grad():
            if "LayerNorm" in name:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.copy_(torch.randn(p.shape, generator=g) * std)
            if name.endswith("word_embeddings.weight"):
                p[0].zero_()  # [PAD] row, as nn.Embedding(padding_idx=0)
    return model


def mean_pool_normalize(h, mask):
    m = mask.to(h.dtype).unsqueeze(-1)
    return F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)


def pad(seqs, pad_id=0):
    T = max(len(s) for s in seqs)
    ids = torch.tensor([s + [pad_id] * (T - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (T - len(s)) for s in seqs])
    return ids, mask


# ============================================================================ safetensors
_NP = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def save_safetensors(path, tensors, dtype="F16"):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        x = np.asarray(tensors[name])
        raw = x.astype({"F32": np.float32, "F16": np.float16}[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(x.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return {k: np.frombuffer(data[i["data_offsets"][0]:i["data_offsets"][1]], _NP[i["dtype"]]).reshape(i["shape"]).copy()
            for k, i in header.items()}


def load_weights(model, path, dtype=torch.float32):
    """Load a saved (F16) model.safetensors back into `model`, widened to `dtype`."""
    sd = {k: torch.from_numpy(v.astype(np.float64)).to(dtype) for k, v in load_safetensors(path).items()}
    model.load_state_dict(sd)
    return model.to(dtype).eval()


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")
