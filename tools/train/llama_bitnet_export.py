#!/usr/bin/python3
"""Exports the QAT BitNet-b1.58 LLaMA (fairy2i_train.py --phase bitnet) to models/tinystories-llama-bitnet/.

hf/        config.json: float-hf/config.json of models/tinystories-fairy2i (LlamaForCausalLM, the same
           fields) with "torch_dtype": "float32" and "quantization_config": {"quant_method": "bitnet",
           "linear_class": "autobitlinear", "quantization_mode": "offline"}; model.safetensors with the
           28 projections as transformers' packed U8 [ceil(rows/4), cols] (bits 2i..2i+1 of packed[r, c]
           hold code w+1 of row i*ceil(rows/4)+r; export.pack_hf, reused) plus an F32 `weight_scale` [1]
           holding the multiplier m (autobitlinear: W = T * weight_scale), T and m exactly as the
           training forward computed them (hgrn_bit_model.ternary_quant of the float32 master weight);
           embed_tokens, lm_head and the norms F32 (the training values, exactly);
           tokenizer.model + tokenizer_config.json copied from models/tinystories-fairy2i/float-hf.
card.json  PyTorch float32 perplexity in tern's `perplexity -c 256` protocol (ifairy_export.perplexity:
           all 882 chunks, <s> + text, second halves scored) of the model LOADED BACK from hf/ (every
           projection in mode "int8": W = T * weight_scale from the file, int8 absmax activations;
           lm_head float), with its uncertainty; the same for float-hf/ (float LLaMA, BF16 widened); per
           projection the multiplier (value and float32 bits), mean|W| and the counts of -1/0/+1; a
           greedy continuation.
train.log  the bitnet phase's lines of OUT/train.log.

Checks before anything is measured: the codes and multipliers read back from the file equal those of
the master weights bit for bit, and the logits of the loaded model for the fixture prompt equal bit for
bit those of the training-mode model (master weights, mode "bitnet").
"""
import argparse
import json
import os
import shutil
import struct
import time

import numpy as np
import sentencepiece as spm
import torch

from export import pack_hf, write_safetensors
from fairy2i_export import load_hf
from fairy2i_model import Config, LlamaForCausalLM
from fairy2i_train import DEFAULT_OUT
from hgrn_bit_model import ternary_quant
from ifairy_export import (FIXTURE_PROMPT, GREEDY_PROMPT, GREEDY_TOKENS, f32_bits, greedy, perplexity,
                           read_safetensors_raw)
from ifairy_train import ROOT, TOKENIZER, tokenize_corpus

FLOAT_HF = os.path.join(ROOT, "models", "tinystories-fairy2i", "float-hf")
DTYPES = {"F32": np.dtype("<f4"), "U8": np.dtype("u1")}


def projections(model):
    """(name, Linear) of the 28 ternary projections (every Linear but lm_head)."""
    return [(n, lin) for n, lin in model.linears() if n != "lm_head"]


def write_hf(folder, model):
    os.makedirs(folder, exist_ok=True)
    proj = dict(projections(model))
    tensors = []
    for name, value in model.state_dict().items():
        module = name[:-len(".weight")]
        if module in proj:
            t, _, m = ternary_quant(value)
            packed = pack_hf(t.numpy().astype(np.int8))
            tensors.append((name, "U8", list(packed.shape), packed.tobytes()))
            tensors.append((module + ".weight_scale", "F32", [1], struct.pack("<f", m.item())))
        else:
            tensors.append((name, "F32", list(value.shape), value.float().numpy().astype("<f4").tobytes()))
    write_safetensors(os.path.join(folder, "model.safetensors"), sorted(tensors))
    with open(os.path.join(FLOAT_HF, "config.json")) as f:
        config = json.load(f)
    config["torch_dtype"] = "float32"
    config["quantization_config"] = {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                     "quantization_mode": "offline"}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    for name in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(FLOAT_HF, name), os.path.join(folder, name))


def read_tensors(path):
    """F32 / U8 safetensors -> {name: numpy array}."""
    return {name: np.frombuffer(raw, dtype=DTYPES[dtype]).reshape(shape).copy()
            for name, (dtype, shape, raw) in read_safetensors_raw(path).items()}


def unpack_hf(packed, rows):
    """Inverse of export.pack_hf: packed U8 [ceil(rows/4), cols] -> ternary int8 [rows, cols]."""
    planes = [(packed >> (2 * i)) & 3 for i in range(4)]
    return (np.concatenate(planes, 0)[:rows].astype(np.int8) - 1)


def load_exported(folder, config):
    """The model as an engine reads hf/: projections W = T * weight_scale (float32) in mode "int8"."""
    raw = read_tensors(os.path.join(folder, "model.safetensors"))
    model = LlamaForCausalLM(config)
    proj = dict(projections(model))
    state = {}
    for name, ref in model.state_dict().items():
        module = name[:-len(".weight")]
        if module in proj:
            t = unpack_hf(raw.pop(name), ref.shape[0])
            scale = raw.pop(module + ".weight_scale")
            state[name] = torch.from_numpy(t.astype(np.float32)) * torch.from_numpy(scale)[0]
        else:
            state[name] = torch.from_numpy(raw.pop(name))
    assert not raw, f"unexpected tensors {sorted(raw)}"
    model.load_state_dict(state)
    return model.set_mode("int8").eval()


def check_exact(trained, folder, config):
    """Codes and multipliers from the file == those of the master weights, bit for bit; returns the
    per-projection table for card.json."""
    raw = read_tensors(os.path.join(folder, "model.safetensors"))
    table = {}
    for name, lin in projections(trained):
        w = lin.weight.detach()
        t, s, m = ternary_quant(w)
        t_file = unpack_hf(raw[name + ".weight"], w.shape[0])
        m_file = raw[name + ".weight_scale"]
        assert np.array_equal(t_file, t.numpy().astype(np.int8)), f"{name}: codes differ"
        assert m_file.shape == (1,) and f32_bits(torch.tensor(m_file[0])) == f32_bits(m), f"{name}: scale differs"
        counts = np.bincount(t_file.reshape(-1) + 1, minlength=3).tolist()
        mean = float(w.double().abs().sum().div(w.numel()).float())
        table[name] = {"shape": list(w.shape), "weight_scale": float(m), "weight_scale_bits": f32_bits(m),
                       "mean_abs_w": mean, "s": float(s), "codes_minus1_zero_plus1": counts}
    return table


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids]))[0].float().numpy()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--checkpoint", default="bitnet-best.pt")
    p.add_argument("--dest", default=os.path.join(ROOT, "models", "tinystories-llama-bitnet"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-perplexity", action="store_true", help="export and exactness checks only")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    state = torch.load(os.path.join(args.out, args.checkpoint))
    assert state.get("phase") == "bitnet", f"{args.checkpoint} is a {state.get('phase')} checkpoint"
    config = Config(**state["config"])
    trained = LlamaForCausalLM(config)
    trained.load_state_dict(state["model"])
    trained.set_mode("bitnet").eval()
    folder = os.path.join(args.dest, "hf")
    write_hf(folder, trained)

    table = check_exact(trained, folder, config)
    exported = load_exported(folder, config)
    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)
    ids = [sp.bos_id()] + sp.encode(FIXTURE_PROMPT)
    assert np.array_equal(logits_of(trained, ids), logits_of(exported, ids)), \
        "the loaded export computes other logits than the training forward"
    print(f"exported {folder} ({os.path.getsize(os.path.join(folder, 'model.safetensors'))} bytes); codes, "
          f"scales and fixture logits exact; step {state.get('step')} valid {state.get('valid_loss')}", flush=True)

    log = os.path.join(args.out, "train.log")
    with open(log) as src, open(os.path.join(args.dest, "train.log"), "w") as dst:
        dst.writelines(line for line in src if line.startswith(("bitnet ", "# bitnet ")))
    if args.skip_perplexity:
        return

    _, valid = tokenize_corpus(args.out, sp)
    results = {}
    for key, what, model in (
            ("bitnet_qat", "hf/ loaded back: 28 projections W = T * weight_scale with int8 absmax activations, "
                           "embedding and lm_head float32", exported),
            ("float", "models/tinystories-fairy2i/float-hf (the float LLaMA, BF16 widened to float32)",
             load_hf(FLOAT_HF, config))):
        started = time.time()
        ppl, unc, chunks, scored = perplexity(model, valid, config.context, sp.bos_id())
        results[key] = {"perplexity": round(ppl, 4), "uncertainty": round(unc, 5), "what": what}
        print(f"{key:12s} {ppl:9.4f} +/- {unc:.5f}  ({time.time() - started:.0f} s)", flush=True)
    gids = [sp.bos_id()] + sp.encode(GREEDY_PROMPT)
    cont = greedy(exported, gids, GREEDY_TOKENS, sp.eos_id(), config.context)
    ref = results["bitnet_qat"]
    card = {
        "reference_perplexity": ref["perplexity"], "reference_perplexity_uncertainty": ref["uncertainty"],
        "perplexity_ctx": config.context, "perplexity_chunks": chunks, "perplexity_scored_tokens": scored,
        "perplexity_text": "tools/train/data/tinystories_valid_head.txt.xz (decompressed), tokenized as <s> + text",
        "reference": "PyTorch float32 forward of hf/model.safetensors (ternary projections with int8 absmax "
                     "activations, float embedding and lm_head), tools/train/llama_bitnet_export.py",
        "perplexities": results,
        "reference_greedy_prompt": GREEDY_PROMPT, "reference_greedy_prompt_ids": gids,
        "reference_greedy_ids": cont, "reference_greedy_text": sp.decode(cont),
        "reference_greedy_tokens": GREEDY_TOKENS,
        "training_step": state.get("step"), "training_valid_loss": state.get("valid_loss"),
        "ternarization": "mean = mean|W| (float64 sum, rounded once to float32); s = 1 / max(mean, 1e-5) (float32); "
                         "T = clamp(round_half_even(W * s), -1, 1); weight_scale = float32(1 / s)",
        "linears": table,
    }
    with open(os.path.join(args.dest, "card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print(f"greedy: {GREEDY_PROMPT}{sp.decode(cont)!r}")


if __name__ == "__main__":
    main()
