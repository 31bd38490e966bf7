"""A tiny float LLaMA (LlamaForCausalLM semantics) whose Linears can run as Fairy2i, for tern.

Semantics: docs/complex-and-recurrent.md sections B and 1 (1.2 layer forward, 1.3 PhaseQuant,
1.4 real <-> complex). The model is plain LLaMA: RMSNorm (eps 1e-5) -> q/k/v -> NEOX RoPE (theta
10000, HF rotate_half pairing x[j] with x[j + d/2]) -> causal softmax attention, scale 1/sqrt(head_dim)
-> o_proj -> residual; RMSNorm -> SiLU(gate) * up -> down -> residual; final RMSNorm, untied lm_head,
no biases. Parameter names are the HF ones (model.embed_tokens.weight, model.layers.N.self_attn.q_proj
.weight, ..., model.norm.weight, lm_head.weight). RMSNorm and NEOX RoPE are reused from model.py.

Every Linear (lm_head included) runs in mode "float" (F.linear with the master weight) or "fairy2i"
with `stages` 1 (W1) or 2 (W2): the weight is replaced by the rebuilt quantized real matrix A_q (see
fairy2i_quantize) and applied with F.linear to the FLOAT activations (Fairy2i quantizes no
activation). Training uses a straight-through estimator (forward A_q, gradient of identity to A).

Mode "bitnet" (set_mode("bitnet")) is BitNet b1.58 on the plain LLaMA graph, as tern runs its ternary
"llama" architecture (a LlamaForCausalLM folder with quantization_config.quant_method "bitnet"): the
28 projections (q, k, v, o, gate, up, down of every layer) compute
    mean = mean|W| (|W| summed in float64, divided by the count, rounded once to float32)
    s = float32(1) / max(mean, float32(1e-5));  T = clamp(round_half_even(W * s), -1, 1);  m = float32(1) / s
    x' = clamp(round_half_even(x * a), -128, 127) / a,  a = 127 / max(max|x|, 1e-5) per token (int8 absmax)
    y = F.linear(x', T * m)
(hgrn_bit_model.ternary_quant and model.quantize_activations, reused), with exact straight-through
estimators for both (forward value exactly T * m and x', gradient of identity). The embedding and the
lm_head stay float (lm_head is left in mode "float"), the norms are the LLaMA RMSNorms (no sub-norms)
and the FFN is SiLU-gated; the exported T and m (W = T * m, transformers' autobitlinear) are exactly
what this forward uses. Mode "int8" runs such exported weights: the weight is used as it is (already
T * m) and the activations are quantized exactly as in "bitnet", so a model loaded back from the
export with its projections in "int8" computes bit for bit what the "bitnet" mode computes from the
master weights.

Real -> complex split of a master weight A [2n out, 2m in] (float32; BF16 weights widened first),
with A11 = A[:n,:m], A12 = A[:n,m:], A21 = A[n:,:m], A22 = A[n:,m:], in exactly this op order, each
a float32 elementwise operation (one add or subtract, rounded to float32, then the exact * 0.5):
    ReU = 0.5 * (A11 + A22)     ImU = 0.5 * (A21 - A12)
    ReW = 0.5 * (A11 - A22)     ImW = 0.5 * (A12 + A21)
so that y = U x + W conj(x) with x = x[:m] + i x[m:], y = y[:n] + i y[n:] is A x (exact in reals).
(* 0.5 is exact except when the sum is subnormal, where it rounds to nearest even; tern must
multiply by 0.5f after the float32 add, not compute 0.5f*A11 + 0.5f*A22.)

PhaseQuant of one complex matrix (R, I) = (ReU, ImU) or (ReW, ImW): the sector of each entry by the
exact comparison rule of ifairy_model.phase_codes (reused), code = axis | sign << 1 (+1 -> 0,
+i -> 1, -1 -> 2, -i -> 3); s_re = mean |R| over the real-axis entries, s_im = mean |I| over the
imaginary-axis entries: |.| of the float32 values widened to float64, summed in float64, divided by the
count in float64, rounded once to float32 (0 when there are none; NaN/Inf -> floor), then
max(s, float32(1e-6)) (Fairy2i's floor; iFairy's is 1e-5). Quantized parts: Rq = s_re * (+1, -1, 0),
Iq = s_im * (+1, -1, 0) by code (exactly +-s or 0).

W2 (recursive residual, "complex_phase_v2"): stage 1 quantizes (ReU, ImU) and (ReW, ImW); stage 2
quantizes the float32 residuals ReU - Rq1, ImU - Iq1, ReW - Rq1', ImW - Iq1' (one float32 subtract
each) with the same rule (its own codes and scales). W1 stops after stage 1.

Rebuilt real matrix (what the PyTorch forward uses): first the stage sum in float32,
Uq = Uq_1 + Uq_2 (re and im separately; for W1 just Uq_1), likewise Wq; then
    A_q11 = ReWq + ReUq   A_q12 = ImWq - ImUq   A_q21 = ImWq + ImUq   A_q22 = ReUq - ReWq
(each one float32 op). An engine computing the 8 products per stage of doc 1.4 gets the same
result up to float rounding of the accumulation; the codes and scales are exact and must match bit
for bit.
"""
import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from hgrn_bit_model import ternary_quant
from ifairy_model import phase_codes
from model import RMSNorm, quantize_activations, rope_neox

FAIRY2I_SCALE_MIN = 1e-6   # Fairy2i's clamp of both PhaseQuant scales (quantization.py), float32


@dataclasses.dataclass
class Config:
    vocab_size: int = 2048
    hidden: int = 256
    intermediate: int = 512
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
# Real <-> complex and PhaseQuant
# ----------------------------------------------------------------------------------------------

def split_uw(a):
    """A [2n, 2m] float32 -> (ReU, ImU, ReW, ImW), each [n, m], in the op order of the docstring."""
    a = a if a.dtype == torch.float64 else a.float()   # float64 only for the self-checks
    n, m = a.shape[0] // 2, a.shape[1] // 2
    assert a.shape == (2 * n, 2 * m), f"Fairy2i needs even dimensions, got {tuple(a.shape)}"
    a11, a12, a21, a22 = a[:n, :m], a[:n, m:], a[n:, :m], a[n:, m:]
    return 0.5 * (a11 + a22), 0.5 * (a21 - a12), 0.5 * (a11 - a22), 0.5 * (a12 + a21)


def merge_uw(ur, ui, wr, wi):
    """(ReU, ImU, ReW, ImW) [n, m] -> the real matrix [2n, 2m] of x -> U x + W conj(x)."""
    return torch.cat([torch.cat([wr + ur, wi - ui], 1), torch.cat([wi + ui, ur - wr], 1)], 0)


def phase_scales(r, i, codes, floor=FAIRY2I_SCALE_MIN):
    """(s_re, s_im) float32 0-d tensors; the rule of ifairy_model.phase_scales with a `floor`
    parameter (float64 sum and division, one rounding to float32, then max(s, float32(floor))),
    and a non-finite mean replaced by the floor as Fairy2i's quantization.py does."""
    imag_axis = (codes & 1).bool()
    floor = torch.tensor(floor, dtype=torch.float32)

    def mean(v):
        if not v.numel():
            return torch.tensor(0.0)
        s = (v.sum() / v.numel()).float()
        return s if torch.isfinite(s) else floor

    s_re = mean(r.double().abs()[~imag_axis])
    s_im = mean(i.double().abs()[imag_axis])
    return torch.maximum(s_re, floor), torch.maximum(s_im, floor)


@torch.no_grad()
def phase_quant(r, i, floor=FAIRY2I_SCALE_MIN):
    """One PhaseQuant stage: (codes uint8, s_re, s_im, Rq, Iq)."""
    r, i = r.float(), i.float()
    codes = phase_codes(r, i)
    s_re, s_im = phase_scales(r, i, codes, floor)
    sign = 1.0 - 2.0 * (codes >> 1).float()
    imag_axis = (codes & 1).bool()
    rq = torch.where(imag_axis, torch.zeros_like(r), sign * s_re)
    iq = torch.where(imag_axis, sign * s_im, torch.zeros_like(i))
    return codes, s_re, s_im, rq, iq


@torch.no_grad()
def fairy2i_quantize(a, stages=2):
    """Fairy2i W1 (stages=1) / W2 (stages=2) of a real weight A [2n, 2m].

    Returns (A_q float32 [2n, 2m], per-stage list of dicts with u_codes, u_s_re, u_s_im, w_codes,
    w_s_re, w_s_im, and the quantized parts uq_re, uq_im, wq_re, wq_im of that stage)."""
    ur, ui, wr, wi = split_uw(a)
    info = []
    tot = None
    for _ in range(stages):
        uc, usr, usi, uqr, uqi = phase_quant(ur, ui)
        wc, wsr, wsi, wqr, wqi = phase_quant(wr, wi)
        info.append(dict(u_codes=uc, u_s_re=usr, u_s_im=usi, w_codes=wc, w_s_re=wsr, w_s_im=wsi,
                         uq_re=uqr, uq_im=uqi, wq_re=wqr, wq_im=wqi))
        tot = [uqr, uqi, wqr, wqi] if tot is None else [t + q for t, q in zip(tot, (uqr, uqi, wqr, wqi))]
        ur, ui, wr, wi = ur - uqr, ui - uqi, wr - wqr, wi - wqi      # residual for the next stage
    return merge_uw(*tot), info


@torch.no_grad()
def ternary_ptq(w, threshold=0.5):
    """Doc 1.5 baseline (apply_bitnet_1_58bit_quantization_variant): g = mean|W| (one float32
    scalar), Wn = W / (g + 1e-5), T = +1 where Wn > 0.5, -1 where Wn < -0.5, else 0; returns T * g."""
    w = w.float()
    g = w.abs().mean()
    wn = w / (g + 1e-5)
    t = (wn > threshold).float() - (wn < -threshold).float()
    return t * g


def exact_ste(x, q):
    """Straight-through estimator whose forward value is q bit for bit: q + (x - x) with the
    difference 0 exactly (ifairy_model.ste computes x + (q - x), which can round away from q)."""
    return q.detach() + (x - x.detach())


# ----------------------------------------------------------------------------------------------
# Modules
# ----------------------------------------------------------------------------------------------

class Fairy2iLinear(nn.Linear):
    """nn.Linear without bias; mode "float", "fairy2i" (stages 1 or 2), "bitnet" (absmean ternary
    weights and per-token int8 absmax activations, see the module docstring) or "int8" (the weight as
    it is, int8 activations: exported BitNet weights), STE for training."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features, bias=False)
        self.mode, self.stages = "float", 2

    def effective_weight(self):
        if self.mode in ("float", "int8"):
            return self.weight
        if self.mode == "fairy2i":
            aq, _ = fairy2i_quantize(self.weight, self.stages)
            return exact_ste(self.weight, aq)
        if self.mode == "bitnet":
            t, _, m = ternary_quant(self.weight)
            return exact_ste(self.weight, t * m)
        raise ValueError(self.mode)

    def forward(self, x):
        if self.mode in ("bitnet", "int8"):
            x = exact_ste(x, quantize_activations(x.detach()))
        return F.linear(x, self.effective_weight())


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        d = c.head_dim
        self.q_proj = Fairy2iLinear(c.hidden, c.heads * d)
        self.k_proj = Fairy2iLinear(c.hidden, c.kv_heads * d)
        self.v_proj = Fairy2iLinear(c.hidden, c.kv_heads * d)
        self.o_proj = Fairy2iLinear(c.heads * d, c.hidden)

    def forward(self, h, positions):
        c = self.c
        b, s, _ = h.shape
        q = self.q_proj(h).view(b, s, c.heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, s, c.kv_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, s, c.kv_heads, c.head_dim).transpose(1, 2)
        q, k = rope_neox(q, positions, c.rope_theta), rope_neox(k, positions, c.rope_theta)
        group = c.heads // c.kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(c.head_dim)
        causal = torch.ones(s, s, dtype=torch.bool).tril()
        p = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        return self.o_proj((p @ v).transpose(1, 2).reshape(b, s, c.heads * c.head_dim))


class MLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.gate_proj = Fairy2iLinear(c.hidden, c.intermediate)
        self.up_proj = Fairy2iLinear(c.hidden, c.intermediate)
        self.down_proj = Fairy2iLinear(c.intermediate, c.hidden)

    def forward(self, h):
        return self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class DecoderLayer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden, c.eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden, c.eps)
        self.mlp = MLP(c)

    def forward(self, x, positions):
        x = x + self.self_attn(self.input_layernorm(x), positions)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden)
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.layers))
        self.norm = RMSNorm(c.hidden, c.eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.model = Inner(c)
        self.lm_head = Fairy2iLinear(c.hidden, c.vocab_size)
        for name, p in self.named_parameters():
            if p.dim() < 2:
                continue
            std = 0.02
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                std = 0.02 / math.sqrt(2 * c.layers)   # residual-branch outputs, as model.py
            nn.init.normal_(p, std=std)

    def linears(self):
        """(name, Fairy2iLinear) for every Linear, names as in the state dict without .weight."""
        return [(n, m) for n, m in self.named_modules() if isinstance(m, Fairy2iLinear)]

    def set_mode(self, mode, stages=2):
        """Every Linear to `mode`, except that "bitnet" and "int8" leave lm_head in "float" (BitNet
        keeps the head in full precision; only the 28 projections become ternary)."""
        for name, lin in self.linears():
            lin.mode = "float" if mode in ("bitnet", "int8") and name == "lm_head" else mode
            lin.stages = stages
        return self

    def forward(self, ids):
        positions = torch.arange(ids.shape[1])
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, positions)
        return self.lm_head(self.model.norm(x))
