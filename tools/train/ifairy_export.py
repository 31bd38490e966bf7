#!/usr/bin/python3
"""Exports the trained tiny iFairy (ComplexNetLM) to models/tinystories-ifairy/, with fixtures.

hf/: config.json (ComplexNetLM, model_type complexnet), model.safetensors with the float master
weights rounded to BF16 (as the published iFairy checkpoints: no codes, no scales; an engine
recomputes PhaseQuant at load time), the shipped SentencePiece tokenizer.model and
tokenizer_config.json (copied from models/tinystories/hf).

Everything measured below uses the model LOADED BACK from that BF16 file (weights widened to
float32, all arithmetic in float32), i.e. exactly what an engine reading hf/ should compute:
  fixture.json + fixture_logits.f32  logits [n_tokens][vocab] (float32 LE) for a fixed prompt; the
                                     PhaseQuant scales of every projection (value and float32 bits),
                                     a SHA-256 of every projection's codes, and where the full codes
                                     of two tensors are in fixture_codes.u8
  fixture_codes.u8                   one byte per complex weight, row-major [out][in]:
                                     code = axis | sign << 1 (+1 -> 0, +i -> 1, -1 -> 2, -i -> 3)
  card.json                          perplexity in tern's `perplexity -c 256` protocol, greedy text
  train.log                          the training log
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import struct
import time

import numpy as np
import sentencepiece as spm
import torch

from ifairy_model import ComplexNetLM, Config, phase_quant
from ifairy_train import DEFAULT_OUT, ROOT, TOKENIZER, tokenize_corpus

FIXTURE_PROMPT = "Once upon a time, there was a little girl named Lily. She"   # as models/tinystories
GREEDY_PROMPT = "Once upon a time, there was a little fox named"
GREEDY_TOKENS = 40
CODES_TENSORS = ["layer.0.self_attn.q_proj", "layer.0.mlp.down_proj"]


# ----------------------------------------------------------------------------------------------
# BF16 safetensors
# ----------------------------------------------------------------------------------------------

def bf16_bytes(t):
    """float32 tensor -> BF16 raw little-endian bytes (round to nearest even, torch's conversion)."""
    return t.detach().float().contiguous().to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()


def write_safetensors(path, state):
    header, blobs, offset = {}, [], 0
    for name in sorted(state):
        raw = bf16_bytes(state[name])
        header[name] = {"dtype": "BF16", "shape": list(state[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for raw in blobs:
            f.write(raw)
    os.replace(path + ".tmp", path)


def read_safetensors_raw(path):
    """safetensors -> {name: (dtype, shape, bytes)}, __metadata__ left out."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {name: (info["dtype"], info["shape"], data[info["data_offsets"][0]:info["data_offsets"][1]])
            for name, info in header.items() if name != "__metadata__"}


def read_safetensors(path):
    """BF16 safetensors -> {name: float32 tensor} (bf16 bits shifted into the high half of f32)."""
    out = {}
    for name, (dtype, shape, raw) in read_safetensors_raw(path).items():
        assert dtype == "BF16", name
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        out[name] = torch.from_numpy(bits.view(np.float32).reshape(shape).copy())
    return out


def write_hf(folder, model, c):
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict())
    config = {
        "architectures": ["ComplexNetLM"], "model_type": "complexnet", "vocab_size": c.vocab_size,
        "hidden_size": c.hidden, "intermediate_size": c.intermediate, "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads, "num_key_value_heads": c.kv_heads, "hidden_act": "relu2",
        "max_position_embeddings": c.context, "rms_norm_eps": c.eps, "rope_theta": c.rope_theta,
        "rope_scaling": None, "attention_bias": False, "tie_word_embeddings": False,
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16",
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    src = os.path.join(ROOT, "models", "tinystories", "hf")
    for name in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(src, name), os.path.join(folder, name))


# ----------------------------------------------------------------------------------------------
# Measurements on the reloaded model
# ----------------------------------------------------------------------------------------------

def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


def quant_fixture(model, dest):
    """Scales of every projection, code hashes, and the full codes of CODES_TENSORS."""
    scales, code_blobs, ties, total = {}, [], 0, 0
    layout = []
    offset = 0
    for name, lin in model.projections():
        r, i = lin.weight_real.detach(), lin.weight_imag.detach()
        codes, s_re, s_im, _, _ = phase_quant(r, i)
        raw = codes.numpy().astype(np.uint8).tobytes()
        n_ties = int(((r.abs() == i.abs()) & (r != 0)).sum())
        ties += n_ties
        total += r.numel()
        counts = np.bincount(codes.numpy().reshape(-1), minlength=4).tolist()
        scales[name] = {"shape": list(r.shape), "scale_re": float(s_re), "scale_im": float(s_im),
                        "scale_re_bits": f32_bits(s_re), "scale_im_bits": f32_bits(s_im),
                        "code_counts": counts, "diagonal_ties": n_ties,
                        "codes_sha256": hashlib.sha256(raw).hexdigest()}
        if name in CODES_TENSORS:
            layout.append({"tensor": name, "offset": offset, "shape": list(r.shape)})
            code_blobs.append(raw)
            offset += len(raw)
    with open(os.path.join(dest, "fixture_codes.u8"), "wb") as f:
        f.write(b"".join(code_blobs))
    return scales, layout, ties, total


@torch.no_grad()
def perplexity(model, tokens, n_ctx, bos, batch=16):
    """tern's `perplexity` (src/engine/perplexity.cpp): n_chunks = len // n_ctx; each chunk is
    tokens[c*n_ctx : (c+1)*n_ctx] with its first token replaced by BOS, evaluated from an empty
    cache; positions j = n_ctx/2 .. n_ctx-2 are scored against tokens[c*n_ctx + j + 1] with
    nll = log(sum exp(l - max)) - (l[t] - max) in double (max taken in float); PPL = exp(mean nll),
    uncertainty = PPL * sqrt((mean(nll^2) - mean^2) / (n - 1))."""
    n_chunks = len(tokens) // n_ctx
    first = n_ctx // 2
    nll_sum, nll2_sum, count = 0.0, 0.0, 0
    for c0 in range(0, n_chunks, batch):
        cs = range(c0, min(n_chunks, c0 + batch))
        chunks = np.stack([tokens[c * n_ctx:(c + 1) * n_ctx] for c in cs]).astype(np.int64)
        targets = torch.from_numpy(np.stack([tokens[c * n_ctx + first + 1:(c + 1) * n_ctx] for c in cs])
                                   .astype(np.int64))
        chunks[:, 0] = bos
        logits = model(torch.from_numpy(chunks))[:, first:n_ctx - 1]        # float32
        m = logits.max(-1, keepdim=True).values
        lse = torch.log(torch.exp(logits.double() - m.double()).sum(-1))
        nll = lse - (logits.gather(-1, targets[..., None])[..., 0].double() - m[..., 0].double())
        nll_sum += nll.sum().item()
        nll2_sum += (nll * nll).sum().item()
        count += nll.numel()
    mean = nll_sum / count
    ppl = math.exp(mean)
    var = nll2_sum / count - mean * mean
    unc = ppl * math.sqrt(var / (count - 1)) if count > 1 and var > 0 else 0.0
    return ppl, unc, n_chunks, count


@torch.no_grad()
def greedy(model, ids, n, eos, context):
    out = []
    for _ in range(n):
        if len(ids) + len(out) >= context:
            break
        nxt = int(model(torch.tensor([ids + out]))[0, -1].argmax())
        out.append(nxt)
        if nxt == eos:
            break
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--checkpoint", default="best.pt")
    p.add_argument("--dest", default=os.path.join(ROOT, "models", "tinystories-ifairy"))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    state = torch.load(os.path.join(args.out, args.checkpoint))
    config = Config(**state["config"])
    trained = ComplexNetLM(config)
    trained.load_state_dict(state["model"])

    os.makedirs(args.dest, exist_ok=True)
    hf = os.path.join(args.dest, "hf")
    write_hf(hf, trained, config)

    # Reload from the BF16 file: every number below is computed from exactly these weights.
    model = ComplexNetLM(config)
    loaded = read_safetensors(os.path.join(hf, "model.safetensors"))
    missing = set(model.state_dict()) ^ set(loaded)
    assert not missing, missing
    model.load_state_dict(loaded)
    model.eval()
    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)

    ids = [sp.bos_id()] + sp.encode(FIXTURE_PROMPT)
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0].float().numpy()
    logits.astype("<f4").tofile(os.path.join(args.dest, "fixture_logits.f32"))
    scales, layout, ties, total = quant_fixture(model, args.dest)
    fixture = {
        "prompt": FIXTURE_PROMPT, "ids": ids, "n_tokens": len(ids), "vocab_size": config.vocab_size,
        "logits_file": "fixture_logits.f32", "logits_layout": "float32 little-endian [n_tokens][vocab_size]",
        "weights": "hf/model.safetensors (BF16) widened to float32; all arithmetic float32",
        "step": state.get("step"), "valid_loss": state.get("valid_loss"),
        "codes_file": "fixture_codes.u8",
        "codes_encoding": "one byte per complex weight, row-major [out][in]; code = axis | sign << 1 "
                          "(axis 0 real, 1 imaginary; sign 0 positive, 1 negative): +1 -> 0, +i -> 1, -1 -> 2, -i -> 3",
        "codes_tensors": layout,
        "codes_sha256": "SHA-256 of each projection's codes in the same byte encoding (field of `projections`)",
        "diagonal_ties": {"count": ties, "of": total,
                          "meaning": "complex weights with |R| == |I| != 0 (BF16 makes them common): the exact "
                                     "rule puts R == I on the imaginary axis and R == -I on the real axis"},
        "projections": scales,
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
        "reference": "PyTorch float32 forward of hf/model.safetensors (BF16 master weights), tools/train/ifairy_export.py",
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
    print(f"diagonal ties {ties} of {total} complex weights")
    print(f"greedy: {GREEDY_PROMPT}{sp.decode(cont)!r}")


if __name__ == "__main__":
    main()
