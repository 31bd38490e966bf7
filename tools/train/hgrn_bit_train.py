#!/usr/bin/python3
"""Quantization-aware training of the tiny MatMul-free LM (HGRN-Bit) TinyStories model.

Like ifairy_train.py (AdamW, warm-up, cosine decay to 10 %, resumable): state goes to OUT/checkpoint.pt
every --eval-every steps (written atomically), the best validation loss to OUT/best.pt, a line per
evaluation to OUT/train.log. Rerunning the same command continues where it stopped. Data, batching,
validation loss, learning-rate schedule and checkpoint writing are those of ifairy_train.py (reused):
the truecased TinyStories excerpt tokenized with the SentencePiece tokenizer shipped in
models/tinystories; tokens are cached in OUT/tokens.npz.

Training runs the recurrence chunked (hgrn_bit_model.recurrence_chunked: 16-step chunks scanned
together, then a carry across chunks), which equals the sequential float32 definition up to rounding
and is ~6x cheaper than a Hillis-Steele scan here; the exporter measures everything with the
sequential one. On this machine glibc's allocator returns and re-faults the large activation buffers
every step; GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296
keeps them (system time per step 0.55 s -> 0.05 s).
Weight decay applies to the matrices (projections, head, embedding) but not to model.lower_bounds
(a [layers, hidden] table of logits for the forget-gate lower bounds, not a projection) nor the norms.
"""
import argparse
import dataclasses
import os
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

from hgrn_bit_model import Config, HGRNBitForCausalLM
from ifairy_train import TOKENIZER, batch, learning_rate, save, tokenize_corpus, validation_loss

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out-hgrn-bit")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--steps", type=int, default=700)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-windows", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--hidden", type=int, default=Config.hidden)
    p.add_argument("--layers", type=int, default=Config.layers)
    p.add_argument("--time-steps", type=int, default=0,
                   help="only time this many steps (no checkpoint, no log) and print s/step")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)
    config = Config(vocab_size=sp.get_piece_size(), hidden=args.hidden, layers=args.layers)
    train, valid = tokenize_corpus(args.out, sp)
    model = HGRNBitForCausalLM(config)
    model.scan = "chunked"
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n != "model.lower_bounds"]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2 or n == "model.lower_bounds"]
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
              f"steps {args.steps}, batch {args.batch}, lr {args.lr}, warmup {args.warmup}, threads {args.threads}, "
              f"config {dataclasses.asdict(config)} intermediate {config.intermediate}", file=log)

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
