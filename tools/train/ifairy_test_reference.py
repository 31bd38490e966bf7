#!/usr/bin/python3
"""Self-checks of the iFairy reference (ifairy_model.py); runs in seconds, exits non-zero on failure.

1. PhaseQuant sectors: the exact comparison rule (phase_codes) against the literal float32 atan2
   angle rule (phase_codes_atan2) on random data, and on every boundary case of the doc's rule.
2. ComplexLinear: the re/im formulas equal W . conj(x) computed with torch complex numbers.
3. RoPE, the attention score, the FFN product and the norm equal their complex-number definitions.
"""
import math
import sys

import torch

from ifairy_model import (ComplexLinear, ComplexRMSNorm, phase_codes, phase_codes_atan2, phase_quant,
                          quantize_activations, relu2, rope, rope_tables)

FAILURES = []
BELOW_ONE = 1.0 - 2.0 ** -24  # the float32 just below 1


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    if not ok:
        FAILURES.append(name)


def sector_rule():
    # Boundary cases spelled out in the doc's half-open intervals; expected codes 0 +1, 1 +i, 2 -1, 3 -i.
    cases = [  # (R, I, code, why)
        (1.0, 0.0, 0, "phi 0"), (0.0, 1.0, 1, "phi pi/2"), (-1.0, 0.0, 2, "phi pi"), (0.0, -1.0, 3, "phi -pi/2"),
        (0.0, 0.0, 0, "0+0i"), (-0.0, 0.0, 2, "-0+0i (atan2 says pi)"), (0.0, -0.0, 0, "0-0i"),
        (0.5, 0.5, 1, "phi pi/4 -> +i"), (0.5, -0.5, 0, "phi -pi/4 -> +1"),
        (-0.5, 0.5, 2, "phi 3pi/4 -> -1"), (-0.5, -0.5, 3, "phi -3pi/4 -> -i"),
        (-1.0, -0.0, 2, "phi -pi (I = -0) -> -1"),
        (1.0, BELOW_ONE, 0, "just below pi/4"), (BELOW_ONE, 1.0, 1, "just above pi/4"),
        (-1.0, BELOW_ONE, 2, "just above 3pi/4"), (-BELOW_ONE, 1.0, 1, "just below 3pi/4"),
        (-1.0, -BELOW_ONE, 2, "just below -3pi/4"), (-BELOW_ONE, -1.0, 3, "just above -3pi/4"),
        (1.0, -BELOW_ONE, 0, "just above -pi/4"), (BELOW_ONE, -1.0, 3, "just below -pi/4"),
        (1e-30, -1e-30, 0, "tiny -pi/4"), (-3e-41, 3e-41, 2, "subnormal 3pi/4"),
    ]
    r = torch.tensor([c[0] for c in cases], dtype=torch.float32)
    i = torch.tensor([c[1] for c in cases], dtype=torch.float32)
    got = phase_codes(r, i)
    for (cr, ci, want, why), g in zip(cases, got.tolist()):
        check(f"sector {why} ({cr!r}, {ci!r})", g == want, f"code {g}, want {want}")

    # Random data: the exact rule against float32 atan2 with float32 constants.
    gen = torch.Generator().manual_seed(7)
    n = 4_000_000
    r = torch.randn(n, generator=gen)
    i = torch.randn(n, generator=gen)
    # Add exact diagonal ties and near-ties (1 ulp apart), where the two rules can disagree.
    k = 100_000
    base = torch.randn(k, generator=gen)
    signs = torch.randint(0, 2, (4, k), generator=gen).float() * 2 - 1
    near = torch.nextafter(base.abs(), torch.tensor(0.0))
    r = torch.cat([r, base.abs() * signs[0], base.abs() * signs[1]])
    i = torch.cat([i, base.abs() * signs[2], near * signs[3]])
    exact = phase_codes(r, i)
    angle = phase_codes_atan2(r, i)
    differ = exact != angle
    n_random = int(differ[:n].sum())
    n_ties = int(differ[n:n + k].sum())
    n_near = int(differ[n + k:].sum())
    print(f"     exact rule vs float32 atan2: {n_random} of {n} random pairs differ, "
          f"{n_ties} of {k} exact diagonal ties, {n_near} of {k} pairs 1 ulp off a diagonal")
    # Every disagreement must be within a few ulp of a diagonal |R| == |I|.
    ar, ai = r[differ].abs(), i[differ].abs()
    rel = ((ar - ai).abs() / torch.maximum(ar, ai)).max().item() if differ.any() else 0.0
    check("exact rule == atan2 rule except within 1e-6 of a diagonal", rel < 1e-6,
          f"largest relative | |R| - |I| | among disagreements {rel:.3g}")
    # On exact ties the exact rule follows the doc's half-open intervals (checked case by case above).
    # float32 atan2 is not consistent there: torch's vectorized kernel returns 0.78539812 (one ulp
    # below float32(pi/4)) for R == I > 0, which the angle rule then calls +1, while its scalar path
    # returns float32(pi/4) exactly (+i). Report the disagreements per diagonal.
    tr, ti = r[n:n + k], i[n:n + k]
    for name, sel in [("R == I > 0 (pi/4)", (tr > 0) & (ti > 0)), ("R == -I > 0 (-pi/4)", (tr > 0) & (ti < 0)),
                      ("-R == I > 0 (3pi/4)", (tr < 0) & (ti > 0)), ("R == I < 0 (-3pi/4)", (tr < 0) & (ti < 0))]:
        print(f"     ties {name}: {int(differ[n:n + k][sel].sum())} of {int(sel.sum())} differ from float32 atan2")

    # Scales: mean |R| over real-assigned, mean |I| over imag-assigned.
    w_r, w_i = torch.randn(64, 96, generator=gen), torch.randn(64, 96, generator=gen)
    codes, s_re, s_im, rq, iq = phase_quant(w_r, w_i)
    real = (codes & 1) == 0
    check("s_re = mean |R| over real codes", abs(s_re.item() - w_r.abs()[real].double().mean().item()) < 1e-6)
    check("s_im = mean |I| over imag codes", abs(s_im.item() - w_i.abs()[~real].double().mean().item()) < 1e-6)
    unit = torch.tensor([1, 1j, -1, -1j], dtype=torch.complex64)[codes.long()]
    scale = torch.where(real, s_re, s_im)
    check("Rq + i Iq = scale * {1, i, -1, -i}[code]",
          torch.equal(torch.complex(rq, iq), unit * scale.to(torch.complex64)))
    _, s_re0, s_im0, _, _ = phase_quant(torch.ones(4, 4), torch.zeros(4, 4))
    check("empty imaginary set -> s_im = float32(1e-5)", s_im0.item() == torch.tensor(1e-5).item())


def complex_linear():
    torch.manual_seed(3)
    lin = ComplexLinear(96, 64)
    torch.nn.init.normal_(lin.weight_real, std=0.05)
    torch.nn.init.normal_(lin.weight_imag, std=0.05)
    xr, xi = torch.randn(5, 96), torch.randn(5, 96)
    with torch.no_grad():
        yr, yi = lin(xr, xi)
        _, _, _, rq, iq = phase_quant(lin.weight_real, lin.weight_imag)
        w = torch.complex(rq.double(), iq.double())
        x = torch.complex(quantize_activations(xr).double(), quantize_activations(xi).double())
        y = x.conj() @ w.t()   # y = W . conj(x), per token
    err = max((yr.double() - y.real).abs().max().item(), (yi.double() - y.imag).abs().max().item())
    check("ComplexLinear re/im formulas == W . conj(x)", err < 1e-5, f"max |diff| {err:.2e}")


def rope_and_products():
    torch.manual_seed(5)
    d, s = 32, 40
    cos, sin = rope_tables(torch.arange(s), d, 10000.0)
    qr, qi = torch.randn(s, d), torch.randn(s, d)
    rr, ri = rope(qr, qi, cos, sin)
    theta = torch.arange(s, dtype=torch.float64)[:, None] * 10000.0 ** (-torch.arange(d, dtype=torch.float64) / d)
    z = torch.complex(qr.double(), qi.double()) * torch.exp(1j * theta)
    err = max((rr.double() - z.real).abs().max().item(), (ri.double() - z.imag).abs().max().item())
    check("RoPE re/im == q * e^{i pos theta^(-j/D)}", err < 1e-4, f"max |diff| {err:.2e} (float32 angles)")

    kr, ki = torch.randn(s, d), torch.randn(s, d)
    score = torch.cat([qr, qi], -1) @ torch.cat([kr, ki], -1).t()
    ref = (torch.complex(qr.double(), qi.double()) @ torch.complex(kr.double(), ki.double()).conj().t()).real
    check("score [q_re|q_im].[k_re|k_im] == Re(q . conj(k))", (score.double() - ref).abs().max().item() < 1e-4)

    gr, gi, ur, ui = (torch.randn(s, d) for _ in range(4))
    ar, ai = relu2(gr, gi)
    both = (gr < 0) & (gi < 0)
    check("relu2 zeroes both-negative, squares the rest",
          torch.equal(ar, torch.where(both, 0.0, gr * gr)) and torch.equal(ai, torch.where(both, 0.0, gi * gi)))
    zr, zi = ar * ur + ai * ui, ar * ui - ai * ur
    z = torch.complex(ar.double(), ai.double()).conj() * torch.complex(ur.double(), ui.double())
    check("FFN product == conj(g) * u", max((zr.double() - z.real).abs().max().item(),
                                            (zi.double() - z.imag).abs().max().item()) < 1e-4)

    norm = ComplexRMSNorm(d, 1e-5)
    with torch.no_grad():
        norm.weight_real.uniform_(0.5, 1.5)
        norm.weight_imag.uniform_(0.5, 1.5)
        nr, ni = norm(qr, qi)
    mag = (torch.complex(qr.double(), qi.double()).abs() ** 2).mean(-1, keepdim=True)
    r = 1 / torch.sqrt(mag + 1e-5)
    err = max((nr.double() - norm.weight_real.double() * qr.double() * r).abs().max().item(),
              (ni.double() - norm.weight_imag.double() * qi.double() * r).abs().max().item())
    check("ComplexRMSNorm == w * x / sqrt(mean |x|^2 + eps)", err < 1e-5, f"max |diff| {err:.2e}")


def main():
    torch.set_num_threads(1)
    sector_rule()
    complex_linear()
    rope_and_products()
    print(f"{len(FAILURES)} failures" if FAILURES else "all checks passed")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
