#!/usr/bin/python3
"""Trains the tiny float LLaMA on TinyStories, then converts it to Fairy2i W2 and continues with QAT.

Three phases, each resumable (rerunning the same command continues where it stopped):
  --phase float   trains LlamaForCausalLM (fairy2i_model.py, every Linear in mode "float") from
                  scratch; OUT/float-checkpoint.pt every --eval-every steps, OUT/float-best.pt the
                  best validation loss.
  --phase qat     starts from OUT/float-best.pt, switches every Linear (lm_head included) to Fairy2i
                  W2 (STE) and continues training with a fresh optimizer; OUT/qat-checkpoint.pt,
                  OUT/qat-best.pt.
  --phase bitnet  the QAT baseline for post-training-quantization studies: the same LlamaForCausalLM
                  trained FROM SCRATCH with the 28 projections in mode "bitnet" (BitNet b1.58: absmean
                  ternary weights, per-token int8 absmax activations, STE; embedding and lm_head float),
                  with the float phase's budget and data: the same initial weights (same seed), the same
                  batches (same sampler seed), 420 steps, peak LR 2e-3, 40 warm-up steps;
                  OUT/bitnet-checkpoint.pt, OUT/bitnet-best.pt (exported by llama_bitnet_export.py).
A line per evaluation goes to OUT/train.log (all phases, each line prefixed with its phase). Data,
batching, validation loss, learning-rate schedule (warm-up, cosine to 10 %) and checkpoint writing are
those of ifairy_train.py (reused): the truecased TinyStories excerpt tokenized with the SentencePiece
tokenizer shipped in models/tinystories.
"""
import argparse
import dataclasses
import os
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

from fairy2i_model import Config, LlamaForCausalLM
from ifairy_train import TOKENIZER, batch, learning_rate, save, tokenize_corpus, validation_loss

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out-fairy2i")
MODES = {"float": "float", "qat": "fairy2i W{stages}",
         "bitnet": "bitnet (28 projections ternary absmean + int8 activations; embedding, lm_head float)"}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--phase", choices=["float", "qat", "bitnet"], required=True)
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--steps", type=int, default=None,
                   help="total steps (default 400 float/qat; 420 bitnet, the shipped float run's budget)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=None, help="peak LR (default 2e-3 float/bitnet, 1e-3 qat)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps (default 40 float/bitnet, 20 qat)")
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--stages", type=int, default=2, help="Fairy2i stages for --phase qat")
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--eval-windows", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--time-steps", type=int, default=0,
                   help="only time this many steps (no checkpoint, no log) and print s/step")
    args = p.parse_args()
    if args.steps is None:
        args.steps = 420 if args.phase == "bitnet" else 400
    if args.lr is None:
        args.lr = 1e-3 if args.phase == "qat" else 2e-3
    if args.warmup is None:
        args.warmup = 20 if args.phase == "qat" else 40
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)
    config = Config(vocab_size=sp.get_piece_size())
    train, valid = tokenize_corpus(args.out, sp)
    model = LlamaForCausalLM(config)
    if args.phase == "qat":
        init = torch.load(os.path.join(args.out, "float-best.pt"))
        model.load_state_dict(init["model"])
        model.set_mode("fairy2i", args.stages)
    elif args.phase == "bitnet":
        model.set_mode("bitnet")   # from scratch: the float phase's initial weights (same seed)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    step, best = 0, float("inf")
    ckpt_path = os.path.join(args.out, f"{args.phase}-checkpoint.pt")
    if os.path.exists(ckpt_path) and not args.time_steps:
        state = torch.load(ckpt_path)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, best = state["step"], state["best"]
        torch.set_rng_state(state["torch_rng"])
    rng = np.random.default_rng(args.seed + step + (1_000_000 if args.phase == "qat" else 0))
    n_params = sum(p.numel() for p in model.parameters())
    log = None
    if not args.time_steps:
        log = open(os.path.join(args.out, "train.log"), "a", buffering=1)
        print(f"# {args.phase} start step {step}: {n_params} parameters, {len(train)} train tokens, "
              f"{len(valid)} valid tokens, steps {args.steps}, batch {args.batch}, lr {args.lr}, warmup {args.warmup}, "
              f"threads {args.threads}, mode {MODES[args.phase].format(stages=args.stages)}, "
              f"config {dataclasses.asdict(config)}", file=log)
        if args.phase == "qat" and step == 0:
            val = validation_loss(model, valid, config.context, args.eval_windows)
            print(f"{args.phase} step 0 (float-best.pt converted, no QAT yet) valid {val:.4f}", file=log)

    started, running, t_phase = time.time(), [], time.time()
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
                started = time.time()
            if step == args.time_steps:
                print(f"{n_params} parameters; {(time.time() - started) / (step - 2):.3f} s/step "
                      f"(batch {args.batch}, threads {args.threads}, {args.phase}); loss {loss.item():.4f}")
                return
            continue
        if step % args.eval_every == 0 or step == args.steps:
            val = validation_loss(model, valid, config.context, args.eval_windows)
            elapsed = time.time() - started
            print(f"{args.phase} step {step} train {np.mean(running):.4f} valid {val:.4f} "
                  f"lr {learning_rate(step, args):.2e} {elapsed / len(running):.2f} s/step "
                  f"(wall {time.time() - t_phase:.0f} s this run)", file=log)
            running, started = [], time.time()
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                     "best": min(best, val), "torch_rng": torch.get_rng_state(),
                     "config": dataclasses.asdict(config), "phase": args.phase}
            if val < best:
                best = val
                save(os.path.join(args.out, f"{args.phase}-best.pt"),
                     {"model": model.state_dict(), "step": step, "valid_loss": val,
                      "config": dataclasses.asdict(config), "phase": args.phase})
            save(ckpt_path, state)


if __name__ == "__main__":
    main()
