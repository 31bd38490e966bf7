#!/usr/bin/python3
"""Quantization-aware training of the tiny iFairy (ComplexNetLM) TinyStories model.

Like train.py (AdamW, warm-up, cosine decay to 10 %, resumable): state goes to OUT/checkpoint.pt
every --eval-every steps (written atomically), the best validation loss to OUT/best.pt, a line per
evaluation to OUT/train.log. Rerunning the same command continues where it stopped.

Data: the same truecased TinyStories training text as prepare_data.py (its functions are reused)
and the SentencePiece tokenizer SHIPPED with models/tinystories (not a retrained one), so the
two shipped models share their vocabulary. Tokens are cached in OUT/tokens.npz.
"""
import argparse
import dataclasses
import math
import os
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

from ifairy_model import ComplexNetLM, Config

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TOKENIZER = os.path.join(ROOT, "models", "tinystories", "hf", "tokenizer.model")
DEFAULT_OUT = os.path.join(HERE, "out-ifairy")


def training_text():
    """The truecased training stories and the validation text, exactly as prepare_data.py builds them."""
    import prepare_data as pd
    cased = pd.read_xz("tinystories_train_head_cased.txt.xz")
    lower = pd.read_xz("tinystories_train_head_lowercase.txt.xz")
    valid = pd.read_xz("tinystories_valid_head.txt.xz")
    overlap = len(cased)
    if lower[:overlap] != cased.lower():
        raise SystemExit("the cased excerpt is not a prefix of the lower-case one; data changed?")
    case_map = pd.learn_case_map(cased)
    stories = pd.split_train_stories(cased + pd.truecase(lower[overlap:], case_map))
    return stories, valid


def tokenize_corpus(out_dir, sp):
    """Each training story as <s> story </s>; the validation text as <s> + encode(whole text), which
    is also how tern's perplexity command tokenizes a file."""
    cache = os.path.join(out_dir, "tokens.npz")
    if os.path.exists(cache):
        data = np.load(cache)
        return data["train"], data["valid"]
    stories, valid_text = training_text()
    train = []
    for ids in sp.encode(stories):
        train.append(sp.bos_id())
        train.extend(ids)
        train.append(sp.eos_id())
    valid = [sp.bos_id()] + sp.encode(valid_text)
    train, valid = np.array(train, dtype=np.uint16), np.array(valid, dtype=np.uint16)
    np.savez(cache, train=train, valid=valid)
    return train, valid


def batch(tokens, rng, batch_size, context):
    starts = rng.integers(0, len(tokens) - context - 1, size=batch_size)
    window = np.stack([tokens[s:s + context + 1] for s in starts]).astype(np.int64)
    window = torch.from_numpy(window)
    return window[:, :-1], window[:, 1:]


@torch.no_grad()
def validation_loss(model, valid, context, windows):
    """Mean NLL of the second half of `windows` evenly spaced windows (as train.py)."""
    model.eval()
    total, count = 0.0, 0
    stride = max(context, (len(valid) - context - 1) // windows)
    for i in range(windows):
        s = i * stride
        if s + context + 1 > len(valid):
            break
        w = torch.from_numpy(valid[s:s + context + 1].astype(np.int64))[None]
        logits = model(w[:, :-1])[:, context // 2:]
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1 + context // 2:].reshape(-1),
                                 reduction="sum").item()
        count += logits.shape[1]
    model.train()
    return total / count


def learning_rate(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def save(path, state):
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-windows", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--layers", type=int, default=Config.layers)
    p.add_argument("--time-steps", type=int, default=0,
                   help="only time this many steps (no checkpoint, no log) and print s/step")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)
    config = Config(vocab_size=sp.get_piece_size(), layers=args.layers)
    train, valid = tokenize_corpus(args.out, sp)
    model = ComplexNetLM(config)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    step, best = 0, float("inf")
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    if os.path.exists(ckpt_path) and not args.time_steps:
        state = torch.load(ckpt_path)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, best = state["step"], state["best"]
        torch.set_rng_state(state["torch_rng"])
    rng = np.random.default_rng(args.seed + step)
    n_params = sum(p.numel() for p in model.parameters())
    log = None
    if not args.time_steps:
        log = open(os.path.join(args.out, "train.log"), "a", buffering=1)
        print(f"# start step {step}: {n_params} parameters, {len(train)} train tokens, {len(valid)} valid tokens, "
              f"steps {args.steps}, batch {args.batch}, threads {args.threads}, "
              f"config {dataclasses.asdict(config)}", file=log)

    started, running = time.time(), []
    while step < args.steps:
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, args)
        x, y = batch(train, rng, args.batch, config.context)
        loss = F.cross_entropy(model(x).reshape(-1, config.vocab_size), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running.append(loss.item())
        step += 1
        if args.time_steps:
            if step == 2:
                started = time.time()  # the first steps warm up allocators
            if step == args.time_steps:
                print(f"{n_params} parameters; {(time.time() - started) / (step - 2):.3f} s/step "
                      f"(batch {args.batch}, threads {args.threads}); loss {loss.item():.4f}")
                return
            continue
        if step % args.eval_every == 0 or step == args.steps:
            val = validation_loss(model, valid, config.context, args.eval_windows)
            elapsed = time.time() - started
            print(f"step {step} train {np.mean(running):.4f} valid {val:.4f} lr {learning_rate(step, args):.2e} "
                  f"{elapsed / len(running):.2f} s/step", file=log)
            running, started = [], time.time()
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                     "best": min(best, val), "torch_rng": torch.get_rng_state(),
                     "config": dataclasses.asdict(config)}
            if val < best:
                best = val
                save(os.path.join(args.out, "best.pt"), {"model": model.state_dict(), "step": step,
                                                          "valid_loss": val, "config": dataclasses.asdict(config)})
            save(ckpt_path, state)


if __name__ == "__main__":
    main()
