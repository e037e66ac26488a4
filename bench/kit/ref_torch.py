"""The native reference of the GPU kit: the same random-weight BERT shapes as bench/kit/model.ts
through Hugging Face transformers on CUDA (f32, and f16 for comparison), same batch x sequence grid.
Weights are random (not the kit's exact values; throughput does not depend on them). Prints JSON.

    python3 ref_torch.py [--quick] [--models minilm-l6,bge-base] [--batches 1,8,32] [--seqs 128,512] [--runs N]
"""
import argparse, json, time

import torch
from transformers import BertConfig, BertModel

SHAPES = {
    "minilm-l6": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536, vocab_size=30522),
    "bge-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, vocab_size=30522),
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, vocab_size=3499),
}

p = argparse.ArgumentParser()
p.add_argument("--quick", action="store_true")
p.add_argument("--models"); p.add_argument("--batches"); p.add_argument("--seqs"); p.add_argument("--runs", type=int)
p.add_argument("--work")  # accepted for symmetry with bench.mjs
a = p.parse_args()
models = (a.models or ("tiny" if a.quick else "minilm-l6,bge-base")).split(",")
batches = [int(x) for x in (a.batches or ("1,8" if a.quick else "1,8,32")).split(",")]
seqs = [int(x) for x in (a.seqs or ("16,128" if a.quick else "128,512")).split(",")]
runs = a.runs or (1 if a.quick else 5)

dev = torch.device("cuda")
out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "rows": []}
for name in models:
    cfg = BertConfig(max_position_embeddings=512, **SHAPES[name])
    for dtype in (torch.float32, torch.float16):
        torch.manual_seed(0)
        model = BertModel(cfg, add_pooling_layer=False).to(dev, dtype).eval()
        for seq in seqs:
            for batch in batches:
                ids = torch.randint(5, cfg.vocab_size, (batch, seq), device=dev)
                with torch.inference_mode():
                    model(input_ids=ids)
                    torch.cuda.synchronize()
                    times = []
                    for _ in range(runs):
                        t = time.perf_counter()
                        model(input_ids=ids)
                        torch.cuda.synchronize()
                        times.append(time.perf_counter() - t)
                ms = sorted(times)[len(times) // 2] * 1000
                out["rows"].append({"model": name, "dtype": str(dtype).split(".")[-1], "batch": batch, "seq": seq, "ms": ms, "tokensPerSec": batch * seq / (ms / 1000)})
        del model
        torch.cuda.empty_cache()
print(json.dumps(out, indent=2))
