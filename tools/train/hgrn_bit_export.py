#!/usr/bin/python3
"""Exports the trained tiny MatMul-free LM (HGRN-Bit) to models/tinystories-hgrn-bit/, with fixtures.

hf/: config.json (HGRNBitForCausalLM, model_type hgrn_bit, the fields of the published MMfreeLM
configs), model.safetensors with the float master weights rounded to BF16 (as the published
checkpoints: no codes, no scales; an engine recomputes the ternary weights at load time), the shipped
SentencePiece tokenizer.model and tokenizer_config.json (copied from models/tinystories/hf).

Everything measured below uses the model LOADED BACK from that BF16 file (weights widened to
float32, all arithmetic float32, the recurrence run sequentially step by step), i.e. exactly what an
engine reading hf/ should compute:
  fixture.json + fixture_logits.f32  logits [n_tokens][vocab] (float32 LE) for a fixed prompt; for
                                     every BitLinear (projections and lm_head) its mean|W|, scale s
                                     and ternary multiplier m = 1/s (values and float32 bits), its
                                     counts of -1/0/+1 codes and a SHA-256 of its codes; the
                                     lower-bound schedule lb[l][0..3] of every layer
  card.json                          perplexity in tern's `perplexity -c 256` protocol, greedy text
  train.log                          the training log
"""
import argparse
import hashlib
import json
import os
import shutil
import time

import numpy as np
import sentencepiece as spm
import torch

from hgrn_bit_model import Config, HGRNBitForCausalLM, ternary_quant
from hgrn_bit_train import DEFAULT_OUT
from ifairy_export import (FIXTURE_PROMPT, GREEDY_PROMPT, GREEDY_TOKENS, f32_bits, greedy, perplexity,
                           read_safetensors, write_safetensors)
from ifairy_train import ROOT, TOKENIZER, tokenize_corpus

LB_VALUES = 4   # lb[l][0 .. LB_VALUES-1] go into the fixture


def write_hf(folder, model, c):
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict())
    config = {
        "architectures": ["HGRNBitForCausalLM"], "model_type": "hgrn_bit", "attn_mode": "fused_recurrent",
        "hidden_size": c.hidden, "num_hidden_layers": c.layers, "num_heads": 1, "expand_ratio": 1,
        "hidden_ratio": c.hidden_ratio, "intermediate_size": None, "hidden_act": "swish",
        "use_short_conv": False, "conv_size": 4, "share_conv_kernel": True, "use_lower_bound": True,
        "max_position_embeddings": 2048, "rms_norm_eps": c.eps, "vocab_size": c.vocab_size,
        "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": None, "tie_word_embeddings": False,
        "torch_dtype": "bfloat16", "use_cache": True, "initializer_range": 0.02,
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    src = os.path.join(ROOT, "models", "tinystories", "hf")
    for name in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(src, name), os.path.join(folder, name))


def f32(x):
    """A float32 value as {value, bits}: the decimal parses back to exactly this float32."""
    return float(x), f32_bits(x)


def quant_fixture(model, trained):
    """Per BitLinear: mean|W|, s, m (value + bits), code counts, SHA-256 of the codes as int8 bytes.
    Also counts how many codes the BF16 rounding moved relative to the float32 training weights."""
    out, moved, total = {}, 0, 0
    trained_w = dict(trained.projections())
    for name, lin in model.projections():
        w = lin.weight.detach()
        t, s, m = ternary_quant(w)
        mean = w.double().abs().sum().div(w.numel()).float()
        t_trained, _, _ = ternary_quant(trained_w[name].weight.detach())
        moved += int((t != t_trained).sum())
        total += t.numel()
        codes = t.to(torch.int8).numpy()
        counts = {str(v): int((codes == v).sum()) for v in (-1, 0, 1)}
        out[name] = {
            "shape": list(w.shape),
            "mean_abs": f32(mean)[0], "mean_abs_bits": f32(mean)[1],
            "scale": f32(s)[0], "scale_bits": f32(s)[1],
            "multiplier": f32(m)[0], "multiplier_bits": f32(m)[1],
            "code_counts": {"-1": counts["-1"], "0": counts["0"], "+1": counts["1"]},
            "codes_sha256": hashlib.sha256(codes.tobytes()).hexdigest(),
        }
    return out, moved, total


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--checkpoint", default="best.pt")
    p.add_argument("--dest", default=os.path.join(ROOT, "models", "tinystories-hgrn-bit"))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    state = torch.load(os.path.join(args.out, args.checkpoint))
    config = Config(**state["config"])
    trained = HGRNBitForCausalLM(config)
    trained.load_state_dict(state["model"])

    os.makedirs(args.dest, exist_ok=True)
    hf = os.path.join(args.dest, "hf")
    write_hf(hf, trained, config)

    # Reload from the BF16 file: every number below is computed from exactly these weights.
    model = HGRNBitForCausalLM(config)
    loaded = read_safetensors(os.path.join(hf, "model.safetensors"))
    missing = set(model.state_dict()) ^ set(loaded)
    assert not missing, missing
    model.load_state_dict(loaded)
    model.eval()
    model.scan = "sequential"
    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)

    ids = [sp.bos_id()] + sp.encode(FIXTURE_PROMPT)
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0].float().numpy()
        lb = model.model.lower_bound_schedule()
    logits.astype("<f4").tofile(os.path.join(args.dest, "fixture_logits.f32"))
    projections, moved, total = quant_fixture(model, trained)
    schedule = {str(l): {"values": [float(v) for v in lb[l, :LB_VALUES]],
                         "bits": [f32_bits(v) for v in lb[l, :LB_VALUES]]} for l in range(config.layers)}
    fixture = {
        "prompt": FIXTURE_PROMPT, "ids": ids, "n_tokens": len(ids), "vocab_size": config.vocab_size,
        "logits_file": "fixture_logits.f32", "logits_layout": "float32 little-endian [n_tokens][vocab_size]",
        "max_abs_logit": float(np.abs(logits).max()),
        "argmax": [int(i) for i in logits.argmax(-1)],
        "weights": "hf/model.safetensors (BF16) widened to float32; all arithmetic float32; "
                   "recurrence h_t = f_t * h_{t-1} + c_t evaluated sequentially (no FMA)",
        "step": state.get("step"), "valid_loss": state.get("valid_loss"),
        "ternary": "per BitLinear: mean_abs = mean|W| summed in float64, rounded to float32; "
                   "scale s = float32(1) / max(mean_abs, 1e-5) in float32; T = clamp(round_half_even(W * s), -1, 1); "
                   "multiplier m = float32(1) / s; Wq = T * m (== T / s bit for bit)",
        "codes_sha256": "SHA-256 of the codes T as int8 bytes (-1 -> 0xff, 0, +1), row-major [out][in]",
        "codes_moved_by_bf16": {"count": moved, "of": total,
                                "meaning": "codes that differ between the float32 training weights and the "
                                           "BF16 file; every number here uses the BF16 file"},
        "lower_bounds": "lb = softmax(model.lower_bounds, dim=0); lb = cumsum(lb, dim=0) - lb[0]; "
                        f"lb[l][0..{LB_VALUES - 1}] (float32 value and bits) per layer l",
        "lower_bound_schedule": schedule,
        "projections": projections,
    }
    with open(os.path.join(args.dest, "fixture.json"), "w") as f:
        json.dump(fixture, f, indent=2)
        f.write("\n")

    _, valid = tokenize_corpus(args.out, sp)
    started = time.time()
    ppl, unc, chunks, scored = perplexity(model, valid, config.context, sp.bos_id())
    ppl_seconds = time.time() - started
    gids = [sp.bos_id()] + sp.encode(GREEDY_PROMPT)
    cont = greedy(model, gids, GREEDY_TOKENS, sp.eos_id(), config.context)
    card = {
        "reference_perplexity": round(ppl, 4), "reference_perplexity_uncertainty": round(unc, 5),
        "perplexity_ctx": config.context, "perplexity_chunks": chunks, "perplexity_scored_tokens": scored,
        "perplexity_text": "tools/train/data/tinystories_valid_head.txt.xz (decompressed), tokenized as <s> + text",
        "reference": "PyTorch float32 forward of hf/model.safetensors (BF16 master weights), sequential "
                     "recurrence, tools/train/hgrn_bit_export.py",
        "reference_greedy_prompt": GREEDY_PROMPT, "reference_greedy_prompt_ids": gids,
        "reference_greedy_ids": cont, "reference_greedy_text": sp.decode(cont),
        "reference_greedy_tokens": GREEDY_TOKENS,
        "training_step": state.get("step"), "training_valid_loss": state.get("valid_loss"),
    }
    with open(os.path.join(args.dest, "card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    log = os.path.join(args.out, "train.log")
    if os.path.exists(log):
        shutil.copyfile(log, os.path.join(args.dest, "train.log"))
    print(f"exported step {state.get('step')} (valid loss {state.get('valid_loss')}) to {args.dest}")
    print(f"perplexity {ppl:.4f} +/- {unc:.5f} ({chunks} chunks, {scored} scored tokens, {ppl_seconds:.0f} s)")
    print(f"codes moved by BF16: {moved} of {total}; max |logit| {np.abs(logits).max():.3f}")
    print(f"greedy: {GREEDY_PROMPT}{sp.decode(cont)!r}")


if __name__ == "__main__":
    main()
