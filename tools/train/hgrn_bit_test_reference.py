#!/usr/bin/python3
"""Self-checks of the HGRN-Bit reference (hgrn_bit_model.py); runs in seconds, exits non-zero on failure.

1. Recurrence: the sequential float32 loop equals h_t = sum_s (prod_{s<r<=t} f_r) c_s in float64, and the
   chunked and parallel scans used for training equal the loop up to float rounding.
2. Lower-bound schedule: lb[0] == 0 exactly, lb[l] = l / L for the zero initialisation, non-decreasing, < 1.
3. Quantizers: ternary absmean (zero tensor, round-half-even ties, clamp, the float64 mean, T / s ==
   T * m bit for bit) and per-token int8 absmax (zero rows, ties, range) edge cases.
4. BitLinear: the float forward equals the integer form y = (sum q * T) * m / a.
5. Model: a token-at-a-time decoder that carries one H-float state per layer (what an engine does)
   gives the logits of the full sequential forward; intermediate sizes of the published configs.
"""
import math
import sys

import torch
import torch.nn.functional as F

from hgrn_bit_model import (BitLinear, Config, HGRNBitForCausalLM, quantize_activations, recurrence_chunked,
                            recurrence_parallel, recurrence_sequential, ternary_quant)

FAILURES = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    if not ok:
        FAILURES.append(name)


def recurrence():
    gen = torch.Generator().manual_seed(11)
    for T in (1, 5, 16, 37, 256):
        f = torch.rand(3, T, 64, generator=gen)
        c = torch.randn(3, T, 64, generator=gen)
        seq = recurrence_sequential(f, c)
        # float64 closed form
        fd, cd = f.double(), c.double()
        ref = torch.zeros_like(cd)
        for t in range(T):
            acc = torch.zeros_like(cd[:, 0])
            for s in range(t + 1):
                acc = acc + fd[:, s + 1:t + 1].prod(dim=1) * cd[:, s]
            ref[:, t] = acc
        err = (seq.double() - ref).abs().max().item()
        check(f"sequential recurrence == closed form (T={T})", err < 1e-5, f"max |diff| {err:.2e}")
        for fn in (recurrence_chunked, recurrence_parallel):
            err = (fn(f, c) - seq).abs().max().item()
            check(f"{fn.__name__} == sequential (T={T})", err < 1e-5, f"max |diff| {err:.2e}")
    # gradients of the chunked scan agree with the loop's
    f = torch.rand(2, 64, 32, generator=gen).requires_grad_()
    c = torch.randn(2, 64, 32, generator=gen).requires_grad_()
    w = torch.randn(2, 64, 32, generator=gen)
    g1 = torch.autograd.grad((recurrence_sequential(f, c) * w).sum(), (f, c))
    g2 = torch.autograd.grad((recurrence_chunked(f, c) * w).sum(), (f, c))
    err = max((a - b).abs().max().item() for a, b in zip(g1, g2))
    check("chunked scan gradients == sequential gradients", err < 1e-4, f"max |diff| {err:.2e}")
    # first step: h_1 = c_1 (h_0 = 0), whatever f_1 is
    check("h_1 = c_1", torch.equal(recurrence_sequential(f.detach(), c.detach())[:, 0], c.detach()[:, 0]))


def lower_bounds():
    for L in (1, 6, 24):
        model = HGRNBitForCausalLM(Config(vocab_size=16, hidden=8, layers=L))
        with torch.no_grad():
            lb = model.model.lower_bound_schedule()
        want = torch.arange(L, dtype=torch.float64)[:, None] / L
        err = (lb.double() - want).abs().max().item()
        check(f"zero init: lb[l] = l / L (L={L})", err < 1e-6, f"max |diff| {err:.2e}")
        with torch.no_grad():
            model.model.lower_bounds.normal_(std=3.0)
            lb = model.model.lower_bound_schedule()
        check(f"lb[0] == 0 exactly (random lower_bounds, L={L})", bool((lb[0] == 0).all()))
        check(f"lb non-decreasing over layers and < 1 (L={L})",
              bool((lb[1:] >= lb[:-1]).all()) and bool((lb < 1).all()))


def ternary():
    # All zero: mean floored to float32(1e-5), every code 0, m = float32(1 / float32(1 / 1e-5)).
    t, s, m = ternary_quant(torch.zeros(4, 8))
    floor = torch.tensor(1e-5, dtype=torch.float32)
    check("zero tensor: T all 0, s = 1 / float32(1e-5)", bool((t == 0).all()) and s.item() == (1 / floor).item())
    check("zero tensor: m = float32(1 / s)", m.item() == (torch.tensor(1.0) / s).item())
    # mean|W| exactly 1 (so s = 1 and W * s = W): ties at +-0.5 go to 0 (even), +-1.5 to 2 and
    # +-2.5 to 2, both clamped to 1; 0.375 -> 0, 0.625 -> 1.
    w = torch.tensor([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.375, 0.625, 1.0, -1.0, 0.0, -0.0])
    t, s, m = ternary_quant(w)
    check("mean|W| = 1 -> s = m = 1", s.item() == 1.0 and m.item() == 1.0)
    check("T = clamp(round_half_even(W * s), -1, 1) at ties",
          t.tolist() == [0.0, 0.0, 1.0, -1.0, 1.0, -1.0, 0.0, 1.0, 1.0, -1.0, 0.0, 0.0], f"{t.tolist()}")
    x = torch.tensor([0.5, -0.5, 1.5, 2.5, -0.5000001, 0.5000001])
    check("round half even: 0.5 -> 0, -0.5 -> -0, 1.5 -> 2, 2.5 -> 2",
          x.round().tolist()[:4] == [0.0, -0.0, 2.0, 2.0] and x.round().tolist()[4:] == [-1.0, 1.0])
    # The float64 mean, rounded once: compare with a float32 sum of a large tensor.
    gen = torch.Generator().manual_seed(5)
    big = torch.randn(768, 256, generator=gen) * 0.02
    _, s, m = ternary_quant(big)
    mean64 = big.double().abs().mean().float()
    check("mean|W| summed in float64, rounded to float32 once", (torch.tensor(1.0) / mean64).item() == s.item())
    # mmfreelm's u = T / s is bit-identical to T * m.
    t, s, m = ternary_quant(big)
    check("T / s == T * float32(1 / s) bit for bit", torch.equal(t / s, t * m))
    counts = [(t == v).sum().item() for v in (-1, 0, 1)]
    check("codes are only -1, 0, +1", sum(counts) == t.numel(), f"counts {counts}")
    # 0.5 of the mean on a realistic tensor: about 38 % zeros for Gaussian weights
    zf = counts[1] / t.numel()
    check("Gaussian weights: zero fraction ~ P(|x| < 0.5 mean|x|) = 0.31", 0.28 < zf < 0.34, f"{zf:.3f}")


def activations():
    x = torch.zeros(2, 16)
    q = quantize_activations(x)
    check("zero row stays zero (absmax floored to 1e-5)", bool((q == 0).all()))
    x = torch.tensor([[1.0, -1.0, 0.5, 0.25, -0.25, 2.0 / 127 * 0.5, 0.0, 1.0 / 254]])
    q = quantize_activations(x)
    a = 127.0 / 1.0
    check("absmax element maps to +-127 exactly", q[0, 0].item() * a == 127.0 and q[0, 1].item() * a == -127.0)
    qi = (x * a).round().clamp(-128, 127)
    check("q = round_half_even(x * a) / a", torch.equal(q, qi / a), f"codes {qi.tolist()}")
    check("x * a = 63.5 -> 64 (even), 0.5 -> 0", qi[0, 2].item() == 64.0 and qi[0, 7].item() == 0.0)
    gen = torch.Generator().manual_seed(9)
    r = torch.randn(64, 300, generator=gen) * 7
    a = 127.0 / r.abs().amax(-1, keepdim=True)
    codes = (r * a).round()
    check("codes of random rows within [-127, 127]", codes.abs().max().item() <= 127)


def bitlinear():
    torch.manual_seed(3)
    lin = BitLinear(256, 96)
    torch.nn.init.normal_(lin.weight, std=0.05)
    with torch.no_grad():
        lin.norm.weight.uniform_(0.5, 1.5)
        x = torch.randn(7, 256) * 3
        y = lin(x)
        z = x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-8) * lin.norm.weight
        a = 127.0 / z.abs().amax(-1, keepdim=True).clamp(min=1e-5)
        q = (z * a).round().clamp(-128, 127)
        t, s, m = ternary_quant(lin.weight)
        y_int = (q.double() @ t.double().t()) * m.double() / a.double()
    err = (y.double() - y_int).abs().max().item()
    check("BitLinear == (sum q * T) * m / a", err < 1e-4, f"max |diff| {err:.2e}")


@torch.no_grad()
def decode_step(model, tok, states):
    """One token through the model with per-layer H-float recurrent states (an engine's decode)."""
    lb = model.model.lower_bound_schedule()
    x = model.model.embeddings(torch.tensor([tok]))
    for l, layer in enumerate(model.model.layers):
        a = layer.attn_norm(x)
        f, c = layer.attn.gates(a, lb[l])
        states[l] = f * states[l] + c
        o = layer.attn.g_norm(layer.attn.g_proj(a)) * F.silu(states[l])
        x = x + layer.attn.o_proj(o)
        x = x + layer.mlp(layer.mlp_norm(x))
    return model.lm_head(model.model.norm(x))[0]


def model_checks():
    torch.manual_seed(1)
    c = Config(vocab_size=64, hidden=32, layers=3)
    model = HGRNBitForCausalLM(c)
    with torch.no_grad():
        model.model.lower_bounds.normal_()
        for n, p in model.named_parameters():
            if p.dim() == 1:
                p.uniform_(0.5, 1.5)
    model.eval()
    ids = torch.randint(0, 64, (1, 40))
    with torch.no_grad():
        full = model(ids)[0]
        chunked = model(ids, scan="chunked")[0]
    states = [torch.zeros(1, c.hidden) for _ in range(c.layers)]
    steps = torch.stack([decode_step(model, int(t), states) for t in ids[0]])
    err = (steps - full).abs().max().item()
    check("token-at-a-time decode with H-float states == full sequential forward", err < 1e-4,
          f"max |diff| {err:.2e} of max |logit| {full.abs().max().item():.2f}")
    err = (chunked - full).abs().max().item()
    check("model with chunked scan == sequential", err < 1e-4, f"max |diff| {err:.2e}")
    names = set(model.state_dict())
    want = {"model.embeddings.weight", "model.lower_bounds", "model.norm.weight", "lm_head.weight",
            "lm_head.norm.weight"}
    for l in range(c.layers):
        p = f"model.layers.{l}."
        want |= {p + "attn_norm.weight", p + "attn.g_norm.weight", p + "mlp_norm.weight"}
        for proj in ("attn.i_proj", "attn.f_proj", "attn.g_proj", "attn.o_proj", "mlp.gate_proj", "mlp.down_proj"):
            want |= {p + proj + ".weight", p + proj + ".norm.weight"}
    check("state-dict names are HGRNBitForCausalLM's", names == want, f"{sorted(names ^ want)}")
    for h, i in ((256, 768), (1024, 2816), (2048, 5632), (2560, 6912)):
        check(f"intermediate size for H={h} is {i}", Config(hidden=h).intermediate == i)


def main():
    torch.set_num_threads(1)
    recurrence()
    lower_bounds()
    ternary()
    activations()
    bitlinear()
    model_checks()
    print(f"{len(FAILURES)} failures" if FAILURES else "all checks passed")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
