"""python -m tern generate|chat|bench|info: the package's commands, as Litespark has them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

import tern


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", required=True, help="GGUF file or Hugging Face folder")
    parser.add_argument("-t", "--threads", type=int, default=None, help="threads (default: every CPU)")
    parser.add_argument("-c", "--ctx", type=int, default=None, help="context length (default: the model's)")


def _add_sampling_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--max-tokens", type=int, default=256)
    parser.add_argument("--temp", type=float, default=0.8, help="temperature (0: greedy)")
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--top-k", type=int, default=40)
    parser.add_argument("--min-p", type=float, default=0.05)
    parser.add_argument("-s", "--seed", type=int, default=0)


def _sampling(args: argparse.Namespace) -> dict:
    return {"max_tokens": args.max_tokens, "temperature": args.temp, "top_p": args.top_p, "top_k": args.top_k,
            "min_p": args.min_p, "seed": args.seed}


def _generate(args: argparse.Namespace) -> int:
    model = tern.load(args.model, threads=args.threads, ctx=args.ctx)
    for piece in model.generate(args.prompt, stream=True, **_sampling(args)):
        print(piece, end="", flush=True)
    print()
    _report(model)
    return 0


def _chat(args: argparse.Namespace) -> int:
    model = tern.load(args.model, threads=args.threads, ctx=args.ctx)
    # Earlier turns stay in the model's cache, sized as tern serve sizes a slot unless --ctx says.
    chat = model.new_chat(system=args.system, context=args.ctx or min(model.info["context"], 4096))
    print("tern chat: an empty line or end of input quits", file=sys.stderr)
    while True:
        try:
            line = input("> ")
        except EOFError:
            break
        if not line.strip():
            break
        for piece in chat.send(line, stream=True, **_sampling(args)):
            print(piece, end="", flush=True)
        print()
    return 0


def _bench(args: argparse.Namespace) -> int:
    model = tern.load(args.model, threads=args.threads, ctx=args.ctx)
    report = tern.benchmark(model, pp=args.pp, tg=args.tg, threads=args.threads, repetitions=args.repetitions)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{report['model']}: {report['architecture']}, kernels {report['kernels']}")
    for r in report["results"]:
        print(f"{r['test']:>8} t={r['threads']}: {r['tokens_per_s']:.1f} tok/s (+/- {r['stddev']:.1f})")
    return 0


def _info(_: argparse.Namespace) -> int:
    for key, value in tern.system_info().items():
        print(f"{key + ':':<14} {' '.join(value) if isinstance(value, list) else value}")
    return 0


def _report(model: tern.Model) -> None:
    g = model.last_generation or {}
    seconds = g.get("generate_seconds") or 0.0
    speed = g.get("generated_tokens", 0) / seconds if seconds > 0 else 0.0
    print(f"{g.get('prompt_tokens', 0)} prompt tokens, {g.get('generated_tokens', 0)} generated "
          f"({speed:.1f} tok/s), finished: {g.get('finish_reason')}", file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tern", description=tern.__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="continue a prompt")
    _add_model_args(generate)
    generate.add_argument("-p", "--prompt", required=True)
    _add_sampling_args(generate)
    chat = commands.add_parser("chat", help="chat on the terminal")
    _add_model_args(chat)
    chat.add_argument("--system", default="", help="system prompt")
    _add_sampling_args(chat)
    bench = commands.add_parser("bench", help="prompt and generation speed")
    _add_model_args(bench)
    bench.add_argument("--pp", type=int, default=128)
    bench.add_argument("--tg", type=int, default=128)
    bench.add_argument("-r", "--repetitions", type=int, default=3)
    bench.add_argument("--json", action="store_true")
    commands.add_parser("info", help="the CPU and the kernels that run here")
    args = parser.parse_args(argv)
    run = {"generate": _generate, "chat": _chat, "bench": _bench, "info": _info}[args.command]
    try:
        return run(args)
    except tern.Error as error:
        print(f"tern: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
