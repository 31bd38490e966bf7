#!/usr/bin/python3
"""The PyTorch reference perplexity of a shipped model's hf/ folder over the first CHUNKS chunks
of the validation text, in tern's `perplexity -c CTX --chunks CHUNKS` protocol.

The engine tests compare tern's perplexity on those chunks with this number: the whole text
(882 chunks) takes one to two minutes per model, a few dozen chunks a few seconds, and the
difference between tern and the reference is per token, so a prefix shows it as well.
The export scripts wrote the full-text numbers in each card.json; this adds the prefix's.

Usage: reference_perplexity.py MODEL_DIR CHUNKS [--write]   (--write stores it in card.json)
"""
import argparse
import json
import os

import sentencepiece as spm
import torch

from ifairy_export import perplexity, read_safetensors
from ifairy_train import TOKENIZER
from prepare_data import read_xz


def attention_config(Config, config):
    """The iFairy or Fairy2i training Config of a LLaMA-style config.json (their fields are the same)."""
    return Config(vocab_size=config["vocab_size"], hidden=config["hidden_size"],
                  intermediate=config["intermediate_size"], layers=config["num_hidden_layers"],
                  heads=config["num_attention_heads"], kv_heads=config["num_key_value_heads"],
                  context=config["max_position_embeddings"], rope_theta=config["rope_theta"],
                  eps=config["rms_norm_eps"])


def load(folder):
    """The reference model of an hf/ folder, as its export script reloaded it (BF16 widened to float32)."""
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    arch = config["architectures"][0]
    if arch == "ComplexNetLM":
        from ifairy_model import ComplexNetLM, Config
        c = attention_config(Config, config)
        model = ComplexNetLM(c)
    elif arch == "HGRNBitForCausalLM":
        from hgrn_bit_model import Config, HGRNBitForCausalLM
        c = Config(vocab_size=config["vocab_size"], hidden=config["hidden_size"],
                   layers=config["num_hidden_layers"], hidden_ratio=config["hidden_ratio"],
                   eps=config["rms_norm_eps"])
        model = HGRNBitForCausalLM(c)
    elif arch == "LlamaForCausalLM" and config.get("quantization_config", {}).get("quant_method") == "fairy2i":
        from fairy2i_export import frozen
        from fairy2i_model import Config, LlamaForCausalLM
        c = attention_config(Config, config)
        model = LlamaForCausalLM(c)
    else:
        raise SystemExit(f"{folder}: no reference model for {arch}")
    loaded = read_safetensors(os.path.join(folder, "model.safetensors"))
    missing = set(model.state_dict()) ^ set(loaded)
    assert not missing, missing
    model.load_state_dict(loaded)
    model.eval()
    if arch == "HGRNBitForCausalLM":
        model.scan = "sequential"
    if arch == "LlamaForCausalLM":
        model = frozen(model, "fairy2i", config["quantization_config"]["stages"])
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model_dir", help="e.g. models/tinystories-ifairy (holds hf/ and card.json)")
    p.add_argument("chunks", type=int)
    p.add_argument("--write", action="store_true", help="store the result in MODEL_DIR/card.json")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.model_dir, "card.json")) as f:
        card = json.load(f)
    n_ctx = card["perplexity_ctx"]
    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)
    tokens = [sp.bos_id()] + sp.encode(read_xz("tinystories_valid_head.txt.xz"))
    model = load(os.path.join(args.model_dir, "hf"))
    ppl, unc, chunks, scored = perplexity(model, tokens[:args.chunks * n_ctx], n_ctx, sp.bos_id())
    assert chunks == args.chunks, (chunks, args.chunks)
    result = {"chunks": chunks, "scored_tokens": scored, "perplexity": round(ppl, 4), "uncertainty": round(unc, 5),
              "by": "tools/train/reference_perplexity.py (PyTorch float32)"}
    print(json.dumps(result))
    if args.write:
        card["reference_perplexity_prefix"] = result
        with open(os.path.join(args.model_dir, "card.json"), "w") as f:
            json.dump(card, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
