"""A float32 PyTorch reference of iFairy / Fairy±i (ComplexNetLM) at a tiny size, for tern.

Semantics: docs/complex-and-recurrent.md section 2 (2.1 tensor names, 2.3 ComplexLinear, 2.4 decoder
layer). Every activation is a pair of real float32 tensors (re, im); torch complex dtypes are never
used here (the self-checks in ifairy_test_reference.py compare against them).

Per layer (all widths in COMPLEX units, E hidden, F intermediate, D = E / heads):
  a = ComplexRMSNorm_pre(x); q, k, v = ComplexLinear(a); RoPE on all D complex dims of q and k;
  score = (q_re.k_re + q_im.k_im) / sqrt(2D); causal softmax; o = sum p.v (re and im);
  o = ComplexRMSNorm_attn(o); x = x + o_proj(o)
  m = ComplexRMSNorm_post(x); g = gate_proj(m); u = up_proj(m);
  g: where g_re < 0 AND g_im < 0 both become 0; then g_re = g_re^2, g_im = g_im^2;
  z = conj(g) * u; z = ComplexRMSNorm_ffn(z); x = x + down_proj(z)
Final: ComplexRMSNorm_final, logits = lm_head([x_re | x_im]) (real float matrix [V, 2E], no bias).

ComplexLinear: y = W . conj(x) with W = weight_real + i weight_imag quantized per tensor by
PhaseQuant to {+-1, +-i} x (s_re or s_im), and x_re, x_im each per-token int8 absmax fake-quantized:
  out_re = Wr.xr' + Wi.xi',   out_im = Wi.xr' - Wr.xi'.
Quantization-aware training uses straight-through estimators (as model.py does for BitNet), so the
codes and scales an engine recomputes from the master weights are exactly what training used.
"""
import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# Code of one complex weight: code = axis | sign << 1 (axis 0 real, 1 imaginary; sign 0 +, 1 -).
CODE_POS_REAL, CODE_POS_IMAG, CODE_NEG_REAL, CODE_NEG_IMAG = 0, 1, 2, 3  # +1, +i, -1, -i

SCALE_MIN = 1e-5       # iFairy clamps both PhaseQuant scales to >= 1e-5 (Fairy2i uses 1e-6)
ACT_AMAX_MIN = 1e-5    # activation absmax floor, as BitNet


@dataclasses.dataclass
class Config:
    vocab_size: int = 2048
    hidden: int = 128          # E, complex; a multiple of 128
    intermediate: int = 256    # F, complex; a multiple of 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 4
    context: int = 256
    rope_theta: float = 10000.0
    eps: float = 1e-5

    @property
    def head_dim(self):
        return self.hidden // self.heads


# ----------------------------------------------------------------------------------------------
# PhaseQuant
# ----------------------------------------------------------------------------------------------

def phase_codes(r, i):
    """Sector of every complex weight r + i*i as a uint8 code (0 = +1, 1 = +i, 2 = -1, 3 = -i).

    The doc's rule is an angle rule on phi = atan2(I, R):
      +1: -pi/4 <= phi < pi/4     +i: pi/4 <= phi < 3pi/4
      -i: -3pi/4 <= phi < -pi/4   -1: phi >= 3pi/4 or phi < -3pi/4       (atan2(0, 0) = 0 -> +1)
    We decide it with exact float comparisons instead, so that an engine reproduces it bit for bit
    without an atan2 (whose float rounding near the diagonals |R| == |I| is library dependent).
    The comparisons (IEEE, so -0 == +0):
      1. |R| >  |I|            -> real axis, sign of R   (R > 0: +1, R < 0: -1)
      2. |I| >  |R|            -> imag axis, sign of I   (I > 0: +i, I < 0: -i)
      3. |R| == |I| == 0       -> +1, but -1 when R is -0.0 (as atan2(+-0, -0) = +-pi puts it)
      4. |R| == |I| > 0, R == I  (phi = pi/4 or -3pi/4)  -> imag axis, sign of I
      5. |R| == |I| > 0, R == -I (phi = -pi/4 or 3pi/4)  -> real axis, sign of R
    This equals the angle rule with exact angles (the half-open intervals put pi/4 and -3pi/4 on the
    imaginary sectors and -pi/4 and 3pi/4 on the real ones). It differs from a float32 torch.atan2
    only where atan2 rounds an angle within ~1 ulp of a diagonal onto the diagonal's float constant
    (torch's vectorised float32 atan2 returns one ulp below float32(pi/4) for R == I > 0, which the
    literal angle rule would then put on the real axis). tern (src/quant/phase_quant.cpp) uses
    exactly these comparisons.
    """
    ar, ai = r.abs(), i.abs()
    tie = ar == ai
    imag_axis = (ai > ar) | (tie & (r == i) & (ar > 0))
    negative = torch.where(imag_axis, i < 0, (r < 0) | ((ar == 0) & (ai == 0) & torch.signbit(r)))
    return imag_axis.to(torch.uint8) | (negative.to(torch.uint8) << 1)


def phase_codes_atan2(r, i):
    """The literal angle rule in float32: phi = torch.atan2(I, R) on float32 tensors, compared with
    float32 constants float32(math.pi/4) and float32(3*math.pi/4) (computed in double, then rounded
    to float32). Only used to check phase_codes (ifairy_test_reference.py)."""
    phi = torch.atan2(i.float(), r.float())
    q1 = torch.tensor(math.pi / 4, dtype=torch.float32)
    q3 = torch.tensor(3 * math.pi / 4, dtype=torch.float32)
    real_pos = (phi >= -q1) & (phi < q1)
    imag_pos = (phi >= q1) & (phi < q3)
    imag_neg = (phi >= -q3) & (phi < -q1)
    codes = torch.full(phi.shape, CODE_NEG_REAL, dtype=torch.uint8)
    codes[real_pos] = CODE_POS_REAL
    codes[imag_pos] = CODE_POS_IMAG
    codes[imag_neg] = CODE_NEG_IMAG
    return codes


def phase_scales(r, i, codes):
    """(s_re, s_im) as float32 0-d tensors: the mean of |R| over real-axis entries and of |I| over
    imaginary-axis entries (0 if none), then max(s, float32(1e-5)).

    For reproducibility across summation orders the sum of the float32 magnitudes is taken in
    float64 and divided by the count in float64; the quotient is rounded to float32 once and then
    clamped. (A float32 sum would depend on the order; in double, any order gives the same float32
    result except in astronomically rare ties.)
    """
    imag_axis = (codes & 1).bool()
    real_abs = r.double().abs()[~imag_axis]
    imag_abs = i.double().abs()[imag_axis]
    s_re = (real_abs.sum() / real_abs.numel()).float() if real_abs.numel() else torch.tensor(0.0)
    s_im = (imag_abs.sum() / imag_abs.numel()).float() if imag_abs.numel() else torch.tensor(0.0)
    floor = torch.tensor(SCALE_MIN, dtype=torch.float32)
    return torch.maximum(s_re, floor), torch.maximum(s_im, floor)


@torch.no_grad()
def phase_quant(r, i):
    """PhaseQuant of one complex weight tensor: returns (codes, s_re, s_im, Rq, Iq) where
    Rq = s_re * (+1 | -1 | 0) and Iq = s_im * (+1 | -1 | 0) are the quantized real/imag parts."""
    r, i = r.float(), i.float()
    codes = phase_codes(r, i)
    s_re, s_im = phase_scales(r, i, codes)
    sign = 1.0 - 2.0 * (codes >> 1).float()
    imag_axis = (codes & 1).bool()
    rq = torch.where(imag_axis, torch.zeros_like(r), sign * s_re)
    iq = torch.where(imag_axis, sign * s_im, torch.zeros_like(i))
    return codes, s_re, s_im, rq, iq


def quantize_activations(x):
    """Per-token int8 absmax fake quant, all float32: s = 127 / max(max|x|, 1e-5);
    x' = clamp(round_half_even(x * s), -128, 127) / s."""
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=ACT_AMAX_MIN)
    return (x * s).round().clamp(-128, 127) / s


def ste(x, q):
    """Straight-through estimator: forward value q, gradient of identity to x."""
    return x + (q - x).detach()


# ----------------------------------------------------------------------------------------------
# Modules (attribute names give the doc 2.1 state-dict names)
# ----------------------------------------------------------------------------------------------

class ComplexLinear(nn.Module):
    """y = W . conj(x), W PhaseQuant-ed, x int8 fake-quantized (re and im separately)."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight_real = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_imag = nn.Parameter(torch.empty(out_features, in_features))

    def quantized_weights(self):
        _, _, _, rq, iq = phase_quant(self.weight_real, self.weight_imag)
        return ste(self.weight_real, rq), ste(self.weight_imag, iq)

    def forward(self, xr, xi):
        wr, wi = self.quantized_weights()
        xr = ste(xr, quantize_activations(xr))
        xi = ste(xi, quantize_activations(xi))
        # One real matmul: [xr | xi] . [[Wr, Wi], [Wi, -Wr]]^T = [Wr.xr + Wi.xi | Wi.xr - Wr.xi].
        w = torch.cat([torch.cat([wr, wi], 1), torch.cat([wi, -wr], 1)], 0)
        y = F.linear(torch.cat([xr, xi], -1), w)
        return y.chunk(2, dim=-1)


class ComplexRMSNorm(nn.Module):
    """r = 1 / sqrt(mean_j(re_j^2 + im_j^2) + eps) over the complex features; out = (w_re * (re * r),
    w_im * (im * r)). float32: s = re*re + im*im elementwise, mean over the last dim, + eps, rsqrt."""

    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight_real = nn.Parameter(torch.ones(dim))
        self.weight_imag = nn.Parameter(torch.ones(dim))

    def forward(self, re, im):
        r = torch.rsqrt((re * re + im * im).mean(-1, keepdim=True) + self.eps)
        return self.weight_real * (re * r), self.weight_imag * (im * r)


def rope_tables(positions, d, theta):
    """cos/sin [seq, d] of theta_j = pos * theta^(-j/d), j = 0..d-1 (every complex dim), float32:
    inv_freq = theta ** (-(j as float32) / d) in float32, angle = float32(pos) * inv_freq."""
    inv_freq = theta ** (-torch.arange(d, dtype=torch.float32) / d)
    angle = positions.float()[:, None] * inv_freq[None, :]
    return angle.cos(), angle.sin()


def rope(re, im, cos, sin):
    """(re + i im) * e^{i theta}: (re cos - im sin, re sin + im cos)."""
    return re * cos - im * sin, re * sin + im * cos


class ComplexAttention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        d = c.head_dim
        self.q_proj = ComplexLinear(c.hidden, c.heads * d)
        self.k_proj = ComplexLinear(c.hidden, c.kv_heads * d)
        self.v_proj = ComplexLinear(c.hidden, c.kv_heads * d)
        self.o_proj = ComplexLinear(c.heads * d, c.hidden)
        self.attn_layernorm = ComplexRMSNorm(c.heads * d, c.eps)

    def forward(self, ar, ai, cos, sin):
        c = self.c
        b, s, _ = ar.shape
        d = c.head_dim

        def heads(t, n):  # [b, s, n*d] -> [b, n, s, d]; head h owns complex dims h*d .. h*d+d-1
            return t.view(b, s, n, d).transpose(1, 2)

        qr, qi = (heads(t, c.heads) for t in self.q_proj(ar, ai))
        kr, ki = (heads(t, c.kv_heads) for t in self.k_proj(ar, ai))
        vr, vi = (heads(t, c.kv_heads) for t in self.v_proj(ar, ai))
        qr, qi = rope(qr, qi, cos, sin)
        kr, ki = rope(kr, ki, cos, sin)
        group = c.heads // c.kv_heads
        # Re(q . conj(k)) = q_re.k_re + q_im.k_im: a real dot product of [re | im] vectors of 2D.
        q = torch.cat([qr, qi], -1)
        k = torch.cat([kr, ki], -1).repeat_interleave(group, dim=1)
        v = torch.cat([vr, vi], -1).repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(2 * d))  # flash-attn default scale
        causal = torch.ones(s, s, dtype=torch.bool).tril()
        p = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        o = (p @ v).transpose(1, 2).reshape(b, s, c.heads, 2 * d)
        orr = o[..., :d].reshape(b, s, c.heads * d)
        oi = o[..., d:].reshape(b, s, c.heads * d)
        return self.o_proj(*self.attn_layernorm(orr, oi))


class ComplexMLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.gate_proj = ComplexLinear(c.hidden, c.intermediate)
        self.up_proj = ComplexLinear(c.hidden, c.intermediate)
        self.down_proj = ComplexLinear(c.intermediate, c.hidden)
        self.ffn_layernorm = ComplexRMSNorm(c.intermediate, c.eps)

    def forward(self, mr, mi):
        gr, gi = self.gate_proj(mr, mi)
        ur, ui = self.up_proj(mr, mi)
        gr, gi = relu2(gr, gi)
        zr = gr * ur + gi * ui      # conj(g) * u
        zi = gr * ui - gi * ur
        return self.down_proj(*self.ffn_layernorm(zr, zi))


def relu2(gr, gi):
    """iFairy's complex ReLU^2: zero both parts where BOTH are negative, then square each part
    (so a negative part whose partner is non-negative survives, squared to a positive value)."""
    both_negative = (gr < 0) & (gi < 0)
    gr = gr.masked_fill(both_negative, 0.0)
    gi = gi.masked_fill(both_negative, 0.0)
    return gr * gr, gi * gi


class DecoderLayer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.pre_layernorm = ComplexRMSNorm(c.hidden, c.eps)
        self.self_attn = ComplexAttention(c)
        self.post_layernorm = ComplexRMSNorm(c.hidden, c.eps)
        self.mlp = ComplexMLP(c)

    def forward(self, xr, xi, cos, sin):
        ar, ai = self.self_attn(*self.pre_layernorm(xr, xi), cos, sin)
        xr, xi = xr + ar, xi + ai
        fr, fi = self.mlp(*self.post_layernorm(xr, xi))
        return xr + fr, xi + fi


class ComplexNetLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.token_embeddings_real = nn.Embedding(c.vocab_size, c.hidden)
        self.token_embeddings_imag = nn.Embedding(c.vocab_size, c.hidden)
        self.layer = nn.ModuleList(DecoderLayer(c) for _ in range(c.layers))
        self.final_norm = ComplexRMSNorm(c.hidden, c.eps)
        self.lm_head = nn.Linear(2 * c.hidden, c.vocab_size, bias=False)
        for name, p in self.named_parameters():
            if p.dim() < 2:
                continue
            std = 0.02
            if name.endswith(("o_proj.weight_real", "o_proj.weight_imag",
                              "down_proj.weight_real", "down_proj.weight_imag")):
                std = 0.02 / math.sqrt(2 * c.layers)   # residual-branch outputs, as model.py
            nn.init.normal_(p, std=std)

    def projections(self):
        """(name, ComplexLinear) for every quantized projection, names as in the state dict."""
        return [(n, m) for n, m in self.named_modules() if isinstance(m, ComplexLinear)]

    def forward(self, ids):
        positions = torch.arange(ids.shape[1])
        cos, sin = rope_tables(positions, self.c.head_dim, self.c.rope_theta)
        xr, xi = self.token_embeddings_real(ids), self.token_embeddings_imag(ids)
        for layer in self.layer:
            xr, xi = layer(xr, xi, cos, sin)
        xr, xi = self.final_norm(xr, xi)
        return self.lm_head(torch.cat([xr, xi], -1))
