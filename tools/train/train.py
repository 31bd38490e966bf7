#!/usr/bin/python3
"""Quantization-aware training of the tiny BitNet b1.58 TinyStories model.

Resumable: state goes to OUT/checkpoint.pt every --eval-every steps (written atomically), the best
validation loss to OUT/best.pt, and a line per evaluation to OUT/train.log. Rerunning the same
command continues where it stopped. Run prepare_data.py first.
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

from model import BitNet, Config

HERE = os.path.dirname(os.path.abspath(__file__))
STORY_SEPARATOR = "\f"


def tokenize_corpus(out_dir, sp):
    cache = os.path.join(out_dir, "tokens.npz")
    if os.path.exists(cache):
        data = np.load(cache)
        return data["train"], data["valid"]
    with open(os.path.join(out_dir, "train_stories.txt"), encoding="utf-8") as f:
        stories = f.read().split(STORY_SEPARATOR)
    train = []
    for ids in sp.encode(stories):
        train.append(sp.bos_id())
        train.extend(ids)
        train.append(sp.eos_id())
    with open(os.path.join(out_dir, "valid.txt"), encoding="utf-8") as f:
        valid = [sp.bos_id()] + sp.encode(f.read())
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
    model.eval()
    total, count = 0.0, 0
    stride = max(context, (len(valid) - context - 1) // windows)
    for i in range(windows):
        s = i * stride
        if s + context + 1 > len(valid):
            break
        w = torch.from_numpy(valid[s:s + context + 1].astype(np.int64))[None]
        # Score the second half only, like tern perplexity / llama-perplexity.
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
    p.add_argument("--out", default=os.path.join(HERE, "out"))
    p.add_argument("--steps", type=int, default=1800)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--eval-windows", type=int, default=48)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1234)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.out, "tokenizer.model"))
    config = Config(vocab_size=sp.get_piece_size())
    train, valid = tokenize_corpus(args.out, sp)
    model = BitNet(config)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    step, best = 0, float("inf")
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    if os.path.exists(ckpt_path):
        state = torch.load(ckpt_path)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, best = state["step"], state["best"]
        torch.set_rng_state(state["torch_rng"])
    rng = np.random.default_rng(args.seed + step)
    n_params = sum(p.numel() for p in model.parameters())
    log = open(os.path.join(args.out, "train.log"), "a", buffering=1)
    print(f"# start step {step}: {n_params} parameters, {len(train)} train tokens, {len(valid)} valid tokens, "
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
