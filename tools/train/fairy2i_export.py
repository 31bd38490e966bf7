#!/usr/bin/python3
"""Exports the tiny Fairy2i LLaMA to models/tinystories-fairy2i/, with fixtures and a PTQ/QAT table.

hf/        config.json (LlamaForCausalLM + "quantization_config": {"quant_method": "fairy2i",
           "stages": 2}), model.safetensors with the QAT master weights rounded to BF16 (as the
           published Fairy2i-W2: no codes, no scales; an engine splits A into U, W and runs PhaseQuant
           twice at load time), tokenizer.model + tokenizer_config.json copied from models/tinystories/hf.
float-hf/  the float LLaMA before QAT, same layout, BF16, a plain LlamaForCausalLM config (no
           quantization_config), for testing post-training conversion.

Everything measured uses the weights LOADED BACK from those BF16 files (widened to float32, all
arithmetic float32):
  fixture.json + fixture_logits.f32  logits [n_tokens][vocab] (float32 LE) of the Fairy2i-W2 forward
                                     of hf/ for the iFairy fixture prompt; for every Linear and stage
                                     the scales of U and W (value and float32 bits), code counts and
                                     the SHA-256 of the codes; the same for float-hf/ converted
                                     post-training to W2, with float and W2 logits of float-hf/
                                     (fixture_float_logits.f32, fixture_float_w2_logits.f32)
  fixture_codes.u8                   codes of U and W, stages 1 and 2, of CODES_TENSORS of hf/
  card.json                          perplexities in tern's `perplexity -c 256` protocol (float,
                                     PTQ W1/W2, QAT W2, ternary 0.5*mean|W| PTQ), greedy continuation
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

from fairy2i_model import Config, LlamaForCausalLM, fairy2i_quantize, split_uw, ternary_ptq
from fairy2i_train import DEFAULT_OUT
from ifairy_export import (FIXTURE_PROMPT, GREEDY_PROMPT, GREEDY_TOKENS, f32_bits, greedy, perplexity,
                           read_safetensors, write_safetensors)
from ifairy_train import ROOT, TOKENIZER, tokenize_corpus

CODES_TENSORS = ["model.layers.0.self_attn.q_proj", "model.layers.0.mlp.down_proj"]
STAGES = 2


def write_hf(folder, model, c, quantized):
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict())
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": c.vocab_size,
        "hidden_size": c.hidden, "intermediate_size": c.intermediate, "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads, "num_key_value_heads": c.kv_heads, "head_dim": c.head_dim,
        "hidden_act": "silu", "max_position_embeddings": c.context, "initializer_range": 0.02,
        "rms_norm_eps": c.eps, "rope_theta": c.rope_theta, "rope_scaling": None, "attention_bias": False,
        "attention_dropout": 0.0, "mlp_bias": False, "pretraining_tp": 1, "tie_word_embeddings": False,
        "use_cache": True, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16",
    }
    if quantized:
        config["quantization_config"] = {"quant_method": "fairy2i", "stages": STAGES}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    src = os.path.join(ROOT, "models", "tinystories", "hf")
    for name in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(src, name), os.path.join(folder, name))


def load_hf(folder, config):
    model = LlamaForCausalLM(config)
    loaded = read_safetensors(os.path.join(folder, "model.safetensors"))
    missing = set(model.state_dict()) ^ set(loaded)
    assert not missing, missing
    model.load_state_dict(loaded)
    return model.eval()


@torch.no_grad()
def frozen(model, how, stages=STAGES):
    """A copy whose Linear weights are replaced by what `how` computes, run in float mode (the same
    F.linear the "fairy2i" mode runs, without requantizing at every forward)."""
    out = LlamaForCausalLM(model.c)
    out.load_state_dict(model.state_dict())
    for _, lin in out.linears():
        if how == "fairy2i":
            lin.weight.copy_(fairy2i_quantize(lin.weight, stages)[0])
        elif how == "ternary":
            lin.weight.copy_(ternary_ptq(lin.weight))
        else:
            assert how == "float"
    return out.set_mode("float").eval()


def quant_fixture(model, code_tensors=()):
    """Per Linear and stage: scale values and bits, code counts and hashes; code bytes of code_tensors."""
    table, blobs, layout, offset, ties, total = {}, [], [], 0, {"U": 0, "W": 0}, 0
    for name, lin in model.linears():
        a = lin.weight.detach()
        ur, ui, wr, wi = split_uw(a)
        for key, (r, i) in (("U", (ur, ui)), ("W", (wr, wi))):
            ties[key] += int(((r.abs() == i.abs()) & (r != 0)).sum())
        total += ur.numel()
        _, info = fairy2i_quantize(a, STAGES)
        stages = []
        for t, st in enumerate(info, 1):
            entry = {}
            for key in ("u", "w"):
                codes = st[f"{key}_codes"]
                raw = codes.numpy().astype(np.uint8).tobytes()
                s_re, s_im = st[f"{key}_s_re"], st[f"{key}_s_im"]
                entry.update({f"{key}_scale_re": float(s_re), f"{key}_scale_im": float(s_im),
                              f"{key}_scale_re_bits": f32_bits(s_re), f"{key}_scale_im_bits": f32_bits(s_im),
                              f"{key}_code_counts": np.bincount(codes.numpy().reshape(-1), minlength=4).tolist(),
                              f"{key}_codes_sha256": hashlib.sha256(raw).hexdigest()})
                if name in code_tensors:
                    layout.append({"tensor": name, "stage": t, "matrix": key.upper(), "offset": offset,
                                   "shape": list(codes.shape)})
                    blobs.append(raw)
                    offset += len(raw)
            stages.append(entry)
        table[name] = {"shape": list(a.shape), "complex_shape": list(ur.shape), "stages": stages}
    return table, b"".join(blobs), layout, {"U": ties["U"], "W": ties["W"], "of_each": total}


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids]))[0].float().numpy()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--float-checkpoint", default="float-best.pt")
    p.add_argument("--qat-checkpoint", default="qat-best.pt")
    p.add_argument("--dest", default=os.path.join(ROOT, "models", "tinystories-fairy2i"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-perplexity", action="store_true", help="fixtures only (quick check)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    fstate = torch.load(os.path.join(args.out, args.float_checkpoint))
    qstate = torch.load(os.path.join(args.out, args.qat_checkpoint))
    config = Config(**qstate["config"])
    os.makedirs(args.dest, exist_ok=True)
    for folder, state, quantized in (("float-hf", fstate, False), ("hf", qstate, True)):
        m = LlamaForCausalLM(config)
        m.load_state_dict(state["model"])
        write_hf(os.path.join(args.dest, folder), m, config, quantized)

    # Reload from the BF16 files: every number below is computed from exactly these weights.
    float_model = load_hf(os.path.join(args.dest, "float-hf"), config)
    qat_model = load_hf(os.path.join(args.dest, "hf"), config)
    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)

    ids = [sp.bos_id()] + sp.encode(FIXTURE_PROMPT)
    qat_w2 = frozen(qat_model, "fairy2i", 2)
    # The frozen copy must compute exactly what the "fairy2i" mode computes.
    qat_model.set_mode("fairy2i", 2)
    logits = logits_of(qat_model, ids)
    assert np.array_equal(logits, logits_of(qat_w2, ids)), "frozen W2 differs from the fairy2i mode"
    qat_model.set_mode("float")
    logits.astype("<f4").tofile(os.path.join(args.dest, "fixture_logits.f32"))
    table, blob, layout, ties = quant_fixture(qat_model, CODES_TENSORS)
    with open(os.path.join(args.dest, "fixture_codes.u8"), "wb") as f:
        f.write(blob)
    float_w2 = frozen(float_model, "fairy2i", 2)
    logits_of(float_model, ids).astype("<f4").tofile(os.path.join(args.dest, "fixture_float_logits.f32"))
    logits_of(float_w2, ids).astype("<f4").tofile(os.path.join(args.dest, "fixture_float_w2_logits.f32"))
    ftable, _, _, fties = quant_fixture(float_model)
    encoding = ("one byte per complex weight, row-major [n][m] (n = out/2 rows, m = in/2 columns); "
                "code = axis | sign << 1 (axis 0 real, 1 imaginary; sign 0 positive, 1 negative): "
                "+1 -> 0, +i -> 1, -1 -> 2, -i -> 3")
    fixture = {
        "prompt": FIXTURE_PROMPT, "ids": ids, "n_tokens": len(ids), "vocab_size": config.vocab_size,
        "logits_file": "fixture_logits.f32", "logits_layout": "float32 little-endian [n_tokens][vocab_size]",
        "logits_of": "Fairy2i W2 forward of hf/model.safetensors (BF16) widened to float32: every Linear "
                     "(lm_head included) uses the rebuilt A_q, activations float32, not quantized",
        "qat_step": qstate.get("step"), "qat_valid_loss": qstate.get("valid_loss"),
        "stages": STAGES,
        "split": "ReU = 0.5*(A11+A22), ImU = 0.5*(A21-A12), ReW = 0.5*(A11-A22), ImW = 0.5*(A12+A21) in float32 "
                 "(add/sub rounded to float32, then *0.5); A11 = A[:n,:m], A12 = A[:n,m:], A21 = A[n:,:m], A22 = A[n:,m:]",
        "scales": "mean |Re| over real-axis codes and mean |Im| over imaginary-axis codes: float64 sum / float64 "
                  "count, rounded once to float32, then max(s, float32(1e-6)); stage 2 on the float32 residual "
                  "(ReU - Rq1 etc.)",
        "codes_file": "fixture_codes.u8", "codes_encoding": encoding, "codes_tensors": layout,
        "codes_sha256": "SHA-256 of the codes of U and W of every stage in the same byte encoding",
        "diagonal_ties": {**ties, "meaning": "stage-1 complex entries of U (or W) with |Re| == |Im| != 0: the exact "
                                             "rule of ifairy_model.phase_codes puts Re == Im on the imaginary axis "
                                             "and Re == -Im on the real axis"},
        "linears": table,
        "float_hf": {
            "weights": "float-hf/model.safetensors (BF16, the float LLaMA before QAT) widened to float32",
            "float_logits_file": "fixture_float_logits.f32",
            "w2_logits_file": "fixture_float_w2_logits.f32",
            "w2_logits_of": "the same weights converted post-training to Fairy2i W2 (no QAT)",
            "diagonal_ties": fties, "linears": ftable,
        },
    }
    with open(os.path.join(args.dest, "fixture.json"), "w") as f:
        json.dump(fixture, f, indent=2)
        f.write("\n")
    print(f"fixtures written; QAT step {qstate.get('step')} valid {qstate.get('valid_loss')}; ties {ties}")
    if args.skip_perplexity:
        return

    _, valid = tokenize_corpus(args.out, sp)
    variants = [
        ("float", "float LLaMA (float-hf/), float weights", float_model),
        ("float_ptq_fairy2i_w1", "float-hf/ converted post-training to Fairy2i W1 (no QAT)",
         frozen(float_model, "fairy2i", 1)),
        ("float_ptq_fairy2i_w2", "float-hf/ converted post-training to Fairy2i W2 (no QAT)", float_w2),
        ("float_ptq_ternary_0.5", "float-hf/ with every Linear (lm_head incl.) ternarized: g = mean|W|, "
                                  "T = sign where |W/(g+1e-5)| > 0.5, W = T*g (doc 1.5)",
         frozen(float_model, "ternary")),
        ("qat_fairy2i_w2", "hf/ (QAT master weights), Fairy2i W2: the reference", qat_w2),
        ("qat_fairy2i_w1", "hf/ run with one stage only (W1), for information", frozen(qat_model, "fairy2i", 1)),
    ]
    table = {}
    for key, what, model in variants:
        started = time.time()
        ppl, unc, chunks, scored = perplexity(model, valid, config.context, sp.bos_id())
        table[key] = {"perplexity": round(ppl, 4), "uncertainty": round(unc, 5), "what": what}
        print(f"{key:24s} {ppl:9.4f} +/- {unc:.5f}  ({time.time() - started:.0f} s)", flush=True)
    gids = [sp.bos_id()] + sp.encode(GREEDY_PROMPT)
    cont = greedy(qat_w2, gids, GREEDY_TOKENS, sp.eos_id(), config.context)
    ref = table["qat_fairy2i_w2"]
    card = {
        "reference_perplexity": ref["perplexity"], "reference_perplexity_uncertainty": ref["uncertainty"],
        "perplexity_ctx": config.context, "perplexity_chunks": chunks, "perplexity_scored_tokens": scored,
        "perplexity_text": "tools/train/data/tinystories_valid_head.txt.xz (decompressed), tokenized as <s> + text",
        "reference": "PyTorch float32 Fairy2i-W2 forward of hf/model.safetensors (BF16 QAT master weights), "
                     "tools/train/fairy2i_export.py",
        "perplexities": table,
        "reference_greedy_prompt": GREEDY_PROMPT, "reference_greedy_prompt_ids": gids,
        "reference_greedy_ids": cont, "reference_greedy_text": sp.decode(cont),
        "reference_greedy_tokens": GREEDY_TOKENS,
        "float_training_step": fstate.get("step"), "float_training_valid_loss": fstate.get("valid_loss"),
        "qat_training_step": qstate.get("step"), "qat_training_valid_loss": qstate.get("valid_loss"),
    }
    with open(os.path.join(args.dest, "card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    log = os.path.join(args.out, "train.log")
    if os.path.exists(log):
        shutil.copyfile(log, os.path.join(args.dest, "train.log"))
    print(f"greedy: {GREEDY_PROMPT}{sp.decode(cont)!r}")


if __name__ == "__main__":
    main()
