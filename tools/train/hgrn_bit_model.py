"""A float32 PyTorch reference of the MatMul-free LM (HGRN-Bit, HGRNBitForCausalLM) at a tiny size.

Semantics: docs/complex-and-recurrent.md section 3 (3.1 tensor names, 3.2 BitLinear, 3.3 block), which
is what ridgerchu/matmulfreellm computes (mmfreelm/ops/bitnet.py BitLinear, layers/hgrn_bit.py,
models/hgrn_bit/modeling_hgrn_bit.py, ops/hgrn/recurrent_fuse.py). All arithmetic float32.

BitLinear (every projection AND the lm_head), per token:
  z  = x * rsqrt(mean(x^2) + 1e-8) * w_norm               (the BitLinear's own RMSNorm)
  a  = 127 / max(max|z|, 1e-5);  z' = clamp(round_half_even(z * a), -128, 127) / a
  W: mean = mean|W| (summed in float64, rounded to float32 once), s = 1 / max(mean, 1e-5) (float32),
     T = clamp(round_half_even(W * s), -1, 1), multiplier m = float32(1 / s), Wq = T * m
  y  = z' . Wq^T
Model (H hidden, I intermediate, L layers):
  lb = softmax(lower_bounds, dim=0); lb = cumsum(lb, dim=0) - lb[0]         ([L, H]; lb[0] = 0)
  per layer l: r = x; a = RMSNorm_attn(x)
    i = BitLinear_i(a); f = sigmoid(BitLinear_f(a)); if l > 0: f = lb[l] + (1 - lb[l]) * f
    c = silu(i) * (1 - f); h_t = f_t * h_{t-1} + c_t  (h_0 = 0, elementwise, sequential in t)
    o = RMSNorm_gnorm(BitLinear_g(a)) * silu(h);  x = r + BitLinear_o(o)
    m = RMSNorm_mlp(x); u = BitLinear_gate(m) (2I wide); gate, up = u[:I], u[I:]
    x = x + BitLinear_down(silu(gate) * up)
  logits = BitLinear_lm_head(RMSNorm_final(x))
No positional encoding, no attention, no biases, untied head; RMSNorm eps 1e-6 outside BitLinear.

Quantization-aware training uses straight-through estimators for weights and activations (as
mmfreelm's BitLinear), so the ternary codes and multipliers an engine recomputes from the master
weights are exactly what training used. The recurrence has two implementations: `sequential` (the
float32 definition above, a loop over time; the reference for every fixture) and `parallel` (a
Hillis-Steele scan, log2(T) elementwise steps, used for training speed; equal up to float rounding,
checked by hgrn_bit_test_reference.py).
"""
import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

WEIGHT_MEAN_MIN = 1e-5   # floor of mean|W| (weight_quant's clamp)
ACT_AMAX_MIN = 1e-5      # floor of the per-token activation absmax (activation_quant's clamp)
BITLINEAR_EPS = 1e-8     # eps of the RMSNorm owned by every BitLinear


@dataclasses.dataclass
class Config:
    vocab_size: int = 2048
    hidden: int = 256          # H; a multiple of 128
    layers: int = 6
    hidden_ratio: int = 4
    context: int = 256         # training / perplexity window (the model itself has no limit)
    eps: float = 1e-6          # rms_norm_eps

    @property
    def intermediate(self):
        """HGRNBitMLP: I = 256 * ceil(int(H * ratio * 2 / 3) / 256) (config intermediate_size null)."""
        i = int(self.hidden * self.hidden_ratio * 2 / 3)
        return 256 * ((i + 256 - 1) // 256)


# ----------------------------------------------------------------------------------------------
# Quantizers
# ----------------------------------------------------------------------------------------------

@torch.no_grad()
def ternary_quant(w):
    """Absmean ternarisation of one weight tensor: returns (T, s, m) with T in {-1, 0, 1} (float32),
    s = float32(1) / max(mean|W|, 1e-5) and the multiplier m = float32(1) / s (both 0-d float32).

    mmfreelm computes scale = 1 / w.abs().mean().clamp(1e-5); u = (w * scale).round().clamp(-1, 1) / scale.
    The mean is summed here in float64 and rounded to float32 once (tern does this too), so that the
    result does not depend on the summation order; s is then computed in float32. Since T is -1, 0
    or 1, T / s == T * float32(1 / s) exactly, so Wq = T * m is bit-identical to mmfreelm's u.
    """
    w = w.float()
    mean = w.double().abs().sum().div(w.numel()).float()
    mean = torch.maximum(mean, torch.tensor(WEIGHT_MEAN_MIN, dtype=torch.float32))
    s = torch.tensor(1.0, dtype=torch.float32) / mean
    t = (w * s).round().clamp(-1, 1)
    m = torch.tensor(1.0, dtype=torch.float32) / s
    return t, s, m


def quantize_activations(x):
    """Per-token int8 absmax fake quant, all float32: a = 127 / max(max|x|, 1e-5);
    x' = clamp(round_half_even(x * a), -128, 127) / a."""
    a = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=ACT_AMAX_MIN)
    return (x * a).round().clamp(-128, 127) / a


def ste(x, q):
    """Straight-through estimator: forward value q, gradient of identity to x."""
    return x + (q - x).detach()


# ----------------------------------------------------------------------------------------------
# Modules (attribute names give the HF state-dict names)
# ----------------------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    """y = x * rsqrt(mean(x^2) + eps) * w (float32)."""

    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + self.eps) * self.weight


class BitLinear(nn.Module):
    """mmfreelm BitLinear: own RMSNorm (eps 1e-8), int8 absmax activations, ternary absmean weights."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.norm = RMSNorm(in_features, BITLINEAR_EPS)

    def quantized_weight(self):
        t, _, m = ternary_quant(self.weight)
        return ste(self.weight, t * m)

    def forward(self, x):
        z = self.norm(x)
        return F.linear(ste(z, quantize_activations(z)), self.quantized_weight())


def recurrence_sequential(f, c):
    """h_t = f_t * h_{t-1} + c_t, h_0 = 0, over dim 1 of [B, T, H]; float32, one step at a time
    (a product and a sum, each rounded: no fused multiply-add)."""
    h = torch.zeros_like(c[:, 0])
    out = []
    for t in range(c.shape[1]):
        h = f[:, t] * h + c[:, t]
        out.append(h)
    return torch.stack(out, dim=1)


def recurrence_parallel(f, c):
    """The same recurrence by a Hillis-Steele inclusive scan over (f, c) pairs: log2(T) elementwise
    steps, each composing a window with the window d steps earlier:
    (a_t, b_t) <- (a_t * a_{t-d}, a_t * b_{t-d} + b_t), identity (1, 0) before the start."""
    a, b = f, c
    T = c.shape[1]
    d = 1
    while d < T:
        a_prev = F.pad(a[:, :-d], (0, 0, d, 0), value=1.0)
        b_prev = F.pad(b[:, :-d], (0, 0, d, 0), value=0.0)
        b = a * b_prev + b
        a = a * a_prev
        d *= 2
    return b


def recurrence_chunked(f, c, chunk=16):
    """The same recurrence in chunks of `chunk` steps: a sequential scan inside every chunk (all
    chunks at once, starting from 0), the cumulative products of f inside every chunk, then a
    sequential carry across chunks: h = local + cumprod(f) * h_before_chunk. Few small ops; used
    for training speed."""
    B, T, H = c.shape
    if T % chunk:
        return recurrence_parallel(f, c)
    n = T // chunk
    fc, cc = f.view(B, n, chunk, H), c.view(B, n, chunk, H)
    h = cc[:, :, 0]
    local = [h]
    for t in range(1, chunk):
        h = fc[:, :, t] * h + cc[:, :, t]
        local.append(h)
    local = torch.stack(local, dim=2)
    a = torch.cumprod(fc, dim=2)
    carry = torch.zeros_like(c[:, 0])
    carries = []
    for k in range(n):
        carries.append(carry)
        carry = a[:, k, -1] * carry + local[:, k, -1]
    carries = torch.stack(carries, dim=1)
    return (local + a * carries[:, :, None]).view(B, T, H)


class HGRNBitAttention(nn.Module):
    def __init__(self, c: Config, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.i_proj = BitLinear(c.hidden, c.hidden)
        self.f_proj = BitLinear(c.hidden, c.hidden)
        self.g_proj = BitLinear(c.hidden, c.hidden)
        self.g_norm = RMSNorm(c.hidden, c.eps)
        self.o_proj = BitLinear(c.hidden, c.hidden)

    def gates(self, a, lower_bound):
        """(f, c) of the recurrence for the normed input a."""
        i = self.i_proj(a)
        f = torch.sigmoid(self.f_proj(a))
        if self.layer_idx > 0:
            f = lower_bound + (1 - lower_bound) * f
        return f, F.silu(i) * (1 - f)

    def forward(self, a, lower_bound, scan):
        f, c = self.gates(a, lower_bound)
        h = {"sequential": recurrence_sequential, "parallel": recurrence_parallel,
             "chunked": recurrence_chunked}[scan](f, c)
        o = self.g_norm(self.g_proj(a)) * F.silu(h)
        return self.o_proj(o)


class HGRNBitMLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.intermediate = c.intermediate
        self.gate_proj = BitLinear(c.hidden, 2 * c.intermediate)
        self.down_proj = BitLinear(c.intermediate, c.hidden)

    def forward(self, m):
        gate, up = self.gate_proj(m).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class HGRNBitBlock(nn.Module):
    def __init__(self, c: Config, layer_idx: int):
        super().__init__()
        self.attn_norm = RMSNorm(c.hidden, c.eps)
        self.attn = HGRNBitAttention(c, layer_idx)
        self.mlp_norm = RMSNorm(c.hidden, c.eps)
        self.mlp = HGRNBitMLP(c)

    def forward(self, x, lower_bound, scan):
        x = x + self.attn(self.attn_norm(x), lower_bound, scan)
        return x + self.mlp(self.mlp_norm(x))


class HGRNBitModel(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.embeddings = nn.Embedding(c.vocab_size, c.hidden)
        self.lower_bounds = nn.Parameter(torch.zeros(c.layers, c.hidden))
        self.layers = nn.ModuleList(HGRNBitBlock(c, l) for l in range(c.layers))
        self.norm = RMSNorm(c.hidden, c.eps)

    def lower_bound_schedule(self):
        """lb = softmax(lower_bounds, dim=0); lb = cumsum(lb, dim=0) - lb[0]  -> [L, H], lb[0] == 0."""
        lb = self.lower_bounds.softmax(0)
        return lb.cumsum(0) - lb[0]


class HGRNBitForCausalLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.model = HGRNBitModel(c)
        self.lm_head = BitLinear(c.hidden, c.vocab_size)
        # HGRNBitPreTrainedModel._init_weights: normal(0.02) for linears and the embedding, o_proj and
        # down_proj divided by sqrt(2 * layers); norms ones, lower_bounds zeros.
        for name, p in self.named_parameters():
            if p.dim() < 2 or name == "model.lower_bounds":
                continue
            std = 0.02
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                std = 0.02 / math.sqrt(2 * c.layers)
            nn.init.normal_(p, std=std)

    def projections(self):
        """(name, BitLinear) for every ternary projection and the head, names as in the state dict."""
        return [(n, m) for n, m in self.named_modules() if isinstance(m, BitLinear)]

    scan = "sequential"   # the reference; hgrn_bit_train.py sets "parallel" for speed

    def forward(self, ids, scan=None):
        scan = scan or self.scan
        lb = self.model.lower_bound_schedule()
        x = self.model.embeddings(ids)
        for l, layer in enumerate(self.model.layers):
            x = layer(x, lb[l], scan)
        return self.lm_head(self.model.norm(x))
