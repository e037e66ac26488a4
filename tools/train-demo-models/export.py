"""Write a trained model as a Hugging Face / sentence-transformers folder (F16 safetensors)."""
import os

from bert import dump, save_safetensors, tokenizer_json


def bert_config(arch, vocab_size, a, **extra):
    return {"architectures": [arch], "model_type": "bert", "vocab_size": vocab_size, "hidden_size": a.hidden,
            "num_hidden_layers": a.layers, "num_attention_heads": a.heads, "intermediate_size": a.inter,
            "hidden_act": "gelu", "hidden_dropout_prob": a.dropout, "attention_probs_dropout_prob": a.dropout,
            "max_position_embeddings": a.max_positions, "type_vocab_size": 2, "initializer_range": 0.02,
            "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
            "classifier_dropout": None, "use_cache": True, "torch_dtype": "float16",
            "transformers_version": "4.46.0", **extra}


def write_common(d, cfg, vocab, model):
    os.makedirs(d, exist_ok=True)
    dump(os.path.join(d, "config.json"), cfg)
    tok, tok_cfg = tokenizer_json(vocab)
    tok_cfg["model_max_length"] = cfg["max_position_embeddings"]
    import json
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    dump(os.path.join(d, "tokenizer_config.json"), tok_cfg)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    save_safetensors(os.path.join(d, "model.safetensors"),
                     {k: v.detach().float().numpy() for k, v in model.state_dict().items()}, "F16")


def write_embedder(d, cfg, vocab, model, max_seq_length):
    """BertModel + sentence-transformers Transformer -> mean Pooling -> Normalize."""
    write_common(d, cfg, vocab, model)
    dump(os.path.join(d, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    dump(os.path.join(d, "1_Pooling", "config.json"), {
        "word_embedding_dimension": cfg["hidden_size"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False, "include_prompt": True})
    dump(os.path.join(d, "config_sentence_transformers.json"), {
        "__version__": {"sentence_transformers": "3.3.1", "transformers": "4.46.0", "pytorch": "1.13.1"},
        "prompts": {}, "default_prompt_name": None, "similarity_fn_name": "cosine"})
    dump(os.path.join(d, "sentence_bert_config.json"), {"max_seq_length": max_seq_length, "do_lower_case": False})
