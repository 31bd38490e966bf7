#!/usr/bin/env python3
"""Projects decode time per token for `--split rows` over N nodes (docs/distributed.md).

A model, not a measurement: each node streams its 1/N of the weights at the node's memory
bandwidth, then the ranks exchange what the split exchanges per token (4 all-gathers per layer
of float vectors, the logits gathered to rank 0, two command broadcasts), each collective
costing a latency per log2(N) step plus its bytes over the link. Usage:
    tools/distributed_projection.py [--mem-gbs 100] [--latency-us 25]
"""
import argparse
import math

# name: n_embd, n_layer, n_ff, q_dim, kv_dim, n_vocab (the "100b" is a LLaMA-like shape of
# 98 B ternary weights: 96 query heads of 128 over 8 KV heads).
SHAPES = {
    "2b4t": (2560, 30, 6912, 2560, 640, 128256),
    "8b": (4096, 32, 14336, 4096, 1024, 128256),
    "100b": (12288, 64, 32768, 12288, 1024, 128256),
}
TERNARY_BYTES = 0.25        # I2_S: 2 bits per weight
HEAD_BYTES = 34 / 32        # Q8_0


def weight_bytes(n_embd, n_layer, n_ff, q_dim, kv_dim, n_vocab):
    per_layer = n_embd * (2 * q_dim + 2 * kv_dim) + 3 * n_embd * n_ff
    return n_layer * per_layer * TERNARY_BYTES + n_vocab * n_embd * HEAD_BYTES


def exchanged_bytes(n_embd, n_layer, n_ff, q_dim, kv_dim, n_vocab):
    return 4 * n_layer * (q_dim + 2 * n_embd + n_ff) + 4 * n_vocab


def ms_per_token(shape, nodes, mem_gbs, link_gbits, latency_us):
    weights = weight_bytes(*shape) / nodes / (mem_gbs * 1e9)
    if nodes == 1:
        return weights * 1e3
    collectives = 4 * shape[1] + 3
    latency = collectives * latency_us * 1e-6 * math.ceil(math.log2(nodes))
    link = exchanged_bytes(*shape) * (nodes - 1) / nodes / (link_gbits / 8 * 1e9)
    return (weights + latency + link) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mem-gbs", type=float, default=100.0, help="memory bandwidth per node, GB/s")
    parser.add_argument("--latency-us", type=float, default=25.0, help="latency of one collective step, us")
    args = parser.parse_args()
    nodes = [1, 2, 4, 8, 16, 32, 64]
    for link in (25, 100):
        print(f"\n{link} Gb/s links, {args.mem_gbs:g} GB/s per node, {args.latency_us:g} us per collective step:"
              " ms per token (tokens/s)\n")
        print("| shape | weights GB | " + " | ".join(f"{n} node{'s' if n > 1 else ''}" for n in nodes) + " |")
        print("|---|---|" + "---|" * len(nodes))
        for name, shape in SHAPES.items():
            cells = []
            for n in nodes:
                ms = ms_per_token(shape, n, args.mem_gbs, link, args.latency_us)
                cells.append(f"{ms:.1f} ({1000 / ms:.0f})")
            print(f"| {name} | {weight_bytes(*shape) / 1e9:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
