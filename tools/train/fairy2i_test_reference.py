#!/usr/bin/python3
"""Self-checks of the Fairy2i reference (fairy2i_model.py); runs in seconds, exits non-zero on failure.

1. Real -> complex: U x + W conj(x) == A x in float64 for random A, x (and merge(split(A)) == A
   bit for bit for float32-representable A).
2. The rebuilt A_q equals the widely-linear complex product with the quantized U, W (torch complex128),
   and the 8 sign-masked products per stage of doc 1.4 written from codes and scales.
3. Codes and scales: Rq/Iq are s * (+-1, 0) by code; scales are the float64 means with floor 1e-6.
4. W2: stage 2 quantizes exactly the residual of stage 1, and reduces the error.
5. STE: the fairy2i forward value is A_q bit for bit, the gradient reaches the master weight unchanged.
6. NEOX RoPE (model.rope_neox) equals HF's rotate_half form; the ternary PTQ baseline's thresholds.
"""
import math
import sys

import torch
import torch.nn.functional as F

from fairy2i_model import (Config, Fairy2iLinear, LlamaForCausalLM, fairy2i_quantize, merge_uw,
                           phase_quant, phase_scales, split_uw, ternary_ptq)
from ifairy_model import phase_codes
from model import rope_neox

FAILURES = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    if not ok:
        FAILURES.append(name)


def complex_parts(ur, ui, wr, wi):
    return torch.complex(ur.double(), ui.double()), torch.complex(wr.double(), wi.double())


def widely_linear(u, w, x):
    """y = U x + W conj(x) for complex x [m] (complex128)."""
    return u @ x + w @ x.conj()


def real_view(x):
    return torch.cat([x.real, x.imag])


def split_checks(g):
    for n, m in ((3, 5), (16, 8), (64, 128)):
        a = torch.randn(2 * n, 2 * m, generator=g, dtype=torch.float64)
        x = torch.complex(torch.randn(m, generator=g, dtype=torch.float64),
                          torch.randn(m, generator=g, dtype=torch.float64))
        u, w = complex_parts(*split_uw(a))
        y = widely_linear(u, w, x)
        ref = a @ real_view(x)
        err = (real_view(y) - ref).abs().max().item()
        check(f"U x + W conj(x) == A x, float64, [{2 * n}x{2 * m}]", err < 1e-12 * ref.abs().max().item() + 1e-13,
              f"max err {err:.2e}")
        a32 = torch.randn(2 * n, 2 * m, generator=g).double()   # float32 values: every step exact in float64
        check(f"merge(split(A)) == A bit for bit [{2 * n}x{2 * m}]", torch.equal(merge_uw(*split_uw(a32)), a32))
    a = torch.randn(6, 4, generator=g)
    ur, ui, wr, wi = split_uw(a)
    a11, a12, a21, a22 = a[:3, :2], a[:3, 2:], a[3:, :2], a[3:, 2:]
    check("split op order (float32): 0.5*(A11+A22), 0.5*(A21-A12), 0.5*(A11-A22), 0.5*(A12+A21)",
          torch.equal(ur, 0.5 * (a11 + a22)) and torch.equal(ui, 0.5 * (a21 - a12))
          and torch.equal(wr, 0.5 * (a11 - a22)) and torch.equal(wi, 0.5 * (a12 + a21)))


def quant_checks(g):
    for stages in (1, 2):
        a = torch.randn(64, 96, generator=g) * 0.05
        aq, info = fairy2i_quantize(a, stages)
        check(f"W{stages}: {len(info)} stage(s)", len(info) == stages)
        uq = sum(torch.complex(s["uq_re"].double(), s["uq_im"].double()) for s in info)
        wq = sum(torch.complex(s["wq_re"].double(), s["wq_im"].double()) for s in info)
        x = torch.complex(torch.randn(48, generator=g, dtype=torch.float64),
                          torch.randn(48, generator=g, dtype=torch.float64))
        y = real_view(widely_linear(uq, wq, x))
        ref = aq.double() @ real_view(x)
        # A_q holds float32 roundings of ReWq + ReUq etc.: allow float32 eps relative to sum |A_q| |x|.
        tol = 2.0 ** -23 * (aq.double().abs() @ real_view(x).abs()).max().item()
        err = (y - ref).abs().max().item()
        check(f"W{stages}: A_q [x_re; x_im] == Uq x + Wq conj(x)", err < tol, f"max err {err:.2e}, tol {tol:.2e}")
        # The 8 products of doc 1.4 from codes and scales only.
        xr, xi = x.real, x.imag
        re, im = torch.zeros(32, dtype=torch.float64), torch.zeros(32, dtype=torch.float64)
        for s in info:
            def masks(codes):
                axis, sign = (codes & 1).bool(), 1.0 - 2.0 * (codes >> 1).double()
                return torch.where(axis, 0.0, sign), torch.where(axis, sign, 0.0)
            p, q = masks(s["u_codes"])
            s_, t = masks(s["w_codes"])
            a_, b_, c_, d_ = (float(s[k]) for k in ("u_s_re", "u_s_im", "w_s_re", "w_s_im"))
            re += a_ * (p @ xr) - b_ * (q @ xi) + c_ * (s_ @ xr) + d_ * (t @ xi)
            im += b_ * (q @ xr) + a_ * (p @ xi) + d_ * (t @ xr) - c_ * (s_ @ xi)
        err = (torch.cat([re, im]) - ref).abs().max().item()
        check(f"W{stages}: the 8 sign-masked products per stage (doc 1.4) == A_q x", err < tol,
              f"max err {err:.2e}, tol {tol:.2e}")
        # Codes, quantized parts and scales of stage 1.
        ur, ui, wr, wi = split_uw(a)
        s1 = info[0]
        codes = phase_codes(ur, ui)
        check(f"W{stages}: stage-1 U codes are phase_codes(ReU, ImU)", torch.equal(codes, s1["u_codes"]))
        imag = (codes & 1).bool()
        ref_re = ur.double().abs()[~imag].sum() / (~imag).sum().double()
        check(f"W{stages}: s_re = float32(float64 mean |ReU| on real axis)",
              s1["u_s_re"].item() == max(ref_re.float().item(), torch.tensor(1e-6).item()))
        sign = 1.0 - 2.0 * (codes >> 1).float()
        check(f"W{stages}: Rq, Iq = s * (+-1 | 0) by code",
              torch.equal(s1["uq_re"], torch.where(imag, 0.0, sign * s1["u_s_re"]))
              and torch.equal(s1["uq_im"], torch.where(imag, sign * s1["u_s_im"], 0.0)))
        if stages == 2:
            s2 = info[1]
            res = (ur - s1["uq_re"], ui - s1["uq_im"], wr - s1["wq_re"], wi - s1["wq_im"])
            c2u, sr, si, _, _ = phase_quant(res[0], res[1])
            c2w, wsr, wsi, _, _ = phase_quant(res[2], res[3])
            check("W2: stage 2 codes/scales are PhaseQuant of the float32 residual (U - Uq1, W - Wq1)",
                  torch.equal(c2u, s2["u_codes"]) and torch.equal(c2w, s2["w_codes"])
                  and sr == s2["u_s_re"] and si == s2["u_s_im"] and wsr == s2["w_s_re"] and wsi == s2["w_s_im"])
            e1 = (a - merge_uw(s1["uq_re"], s1["uq_im"], s1["wq_re"], s1["wq_im"])).norm().item()
            e2 = (a - aq).norm().item()
            check("W2: residual stage reduces ||A - A_q||", e2 < 0.75 * e1, f"W1 {e1:.4f} -> W2 {e2:.4f}")
            check("W2: stage-2 scales smaller than stage-1", bool(s2["u_s_re"] < s1["u_s_re"]))
    # Floors: all-imaginary matrix -> s_re = floor; tiny values -> floor 1e-6 (not iFairy's 1e-5).
    r, i = torch.zeros(4, 4), torch.full((4, 4), 1e-8)
    s_re, s_im = phase_scales(r, i, phase_codes(r, i))
    floor = torch.tensor(1e-6, dtype=torch.float32).item()
    check("scale floor float32(1e-6) (empty axis and tiny means)", s_re.item() == floor and s_im.item() == floor)
    r = torch.full((4, 4), 3e-6)
    s_re, _ = phase_scales(r, torch.zeros(4, 4), phase_codes(r, torch.zeros(4, 4)))
    check("a mean of 3e-6 is kept (iFairy's 1e-5 floor would not)", s_re.item() == torch.tensor(3e-6).item())


def ste_checks(g):
    lin = Fairy2iLinear(32, 16)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(16, 32, generator=g))
    lin.mode, lin.stages = "fairy2i", 2
    aq, _ = fairy2i_quantize(lin.weight.detach(), 2)
    check("fairy2i mode forward weight is A_q bit for bit", torch.equal(lin.effective_weight().detach(), aq))
    x = torch.randn(5, 32, generator=g)
    lin(x).square().sum().backward()
    ref = (2 * F.linear(x, aq)).t() @ x
    check("STE gradient to the master weight", torch.allclose(lin.weight.grad, ref, rtol=1e-5, atol=1e-5))


def misc_checks(g):
    q = torch.randn(2, 4, 7, 64, generator=g)
    pos = torch.arange(7)
    d = 64
    inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    emb = torch.cat([pos.float()[:, None] * inv[None], pos.float()[:, None] * inv[None]], -1)
    rot = torch.cat([-q[..., d // 2:], q[..., :d // 2]], -1)
    hf = q * emb.cos() + rot * emb.sin()
    err = (hf - rope_neox(q, pos, 10000.0)).abs().max().item()
    check("NEOX rope == HF rotate_half", err < 1e-5, f"max err {err:.1e}")
    w = torch.tensor([[2.0, -2.0, 0.5, -0.5, 1.0, 0.0]])
    g_ = w.abs().mean()
    t = ternary_ptq(w)
    check("ternary PTQ: T*mean|W| with strict 0.5 thresholds",
          torch.equal(t, torch.tensor([[1.0, -1.0, 0.0, 0.0, 1.0, 0.0]]) * g_))
    c = Config(vocab_size=64, hidden=32, intermediate=64, layers=1, heads=2, kv_heads=2, context=16)
    m = LlamaForCausalLM(c)
    names = set(m.state_dict())
    want = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
            "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight"}
    want |= {f"model.layers.0.self_attn.{p}_proj.weight" for p in "qkvo"}
    want |= {f"model.layers.0.mlp.{p}_proj.weight" for p in ("gate", "up", "down")}
    check("HF tensor names", names == want, str(sorted(names ^ want)))
    ids = torch.randint(0, 64, (2, 9), generator=g)
    m.set_mode("fairy2i", 2)
    out = m(ids)
    check("fairy2i W2 forward runs, finite", bool(torch.isfinite(out).all()))


def main():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(7)
    split_checks(g)
    quant_checks(g)
    ste_checks(g)
    misc_checks(g)
    if FAILURES:
        print(f"{len(FAILURES)} FAILED")
        sys.exit(1)
    print("all ok")


if __name__ == "__main__":
    main()
