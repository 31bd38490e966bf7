"""A BitNet b1.58 decoder with exactly the 2B4T architecture, at a tiny size.

Per layer: attn_norm -> ternary q/k/v (int8 activations) -> NEOX rope -> causal GQA attention ->
attn_sub_norm -> ternary o -> residual; ffn_norm -> ternary gate/up -> relu(g)^2 * u ->
ffn_sub_norm -> ternary down -> residual. Final norm, head tied to the embedding.

Quantization-aware training: the forward pass uses absmean-ternarized weights and per-token int8
absmax activations (straight-through estimator for both), so the exported ternary model computes
what was trained. torch.round rounds half to even, as tern does.
"""
import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclasses.dataclass
class Config:
    vocab_size: int = 2048
    hidden: int = 256      # a multiple of 256 so that I2_S and TQ2_0 rows hold whole blocks
    layers: int = 6
    heads: int = 8
    kv_heads: int = 2      # GQA group of 4, as in 2B4T
    ffn: int = 512
    context: int = 256
    rope_theta: float = 10000.0
    eps: float = 1e-5

    @property
    def head_dim(self):
        return self.hidden // self.heads


def ternary_weight(w):
    """Returns (T, m): T in {-1, 0, 1} and the multiplier m = mean|W| (BitNet absmean)."""
    m = w.abs().mean().clamp(min=1e-5)
    return (w / m).round().clamp(-1, 1), m


def quantize_activations(x):
    """Per-token int8 absmax: returns x_q / a_s, i.e. the value the int8 kernel represents."""
    a_s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    return (x * a_s).round().clamp(-128, 127) / a_s


class BitLinear(nn.Linear):
    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x):
        t, m = ternary_weight(self.weight)
        w = self.weight + (t * m - self.weight).detach()
        x = x + (quantize_activations(x) - x).detach()
        return F.linear(x, w)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_neox(x, positions, theta):
    """x: [batch, heads, seq, d]; rotates pairs (x[i], x[i + d/2])."""
    d = x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, d // 2, dtype=torch.float32) * 2.0 / d)
    angle = positions.float()[:, None] * inv_freq[None, :]
    cos, sin = angle.cos(), angle.sin()
    a, b = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        d = c.head_dim
        self.attn_norm = RMSNorm(c.hidden, c.eps)
        self.q = BitLinear(c.hidden, c.heads * d)
        self.k = BitLinear(c.hidden, c.kv_heads * d)
        self.v = BitLinear(c.hidden, c.kv_heads * d)
        self.attn_sub_norm = RMSNorm(c.heads * d, c.eps)
        self.o = BitLinear(c.heads * d, c.hidden)
        self.ffn_norm = RMSNorm(c.hidden, c.eps)
        self.gate = BitLinear(c.hidden, c.ffn)
        self.up = BitLinear(c.hidden, c.ffn)
        self.ffn_sub_norm = RMSNorm(c.ffn, c.eps)
        self.down = BitLinear(c.ffn, c.hidden)

    def attention(self, h, positions):
        c = self.c
        b, s, _ = h.shape
        q = self.q(h).view(b, s, c.heads, c.head_dim).transpose(1, 2)
        k = self.k(h).view(b, s, c.kv_heads, c.head_dim).transpose(1, 2)
        v = self.v(h).view(b, s, c.kv_heads, c.head_dim).transpose(1, 2)
        q, k = rope_neox(q, positions, c.rope_theta), rope_neox(k, positions, c.rope_theta)
        group = c.heads // c.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(c.head_dim)
        causal = torch.ones(s, s, dtype=torch.bool).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        out = scores.softmax(dim=-1) @ v
        return out.transpose(1, 2).reshape(b, s, c.heads * c.head_dim)

    def forward(self, x, positions):
        x = x + self.o(self.attn_sub_norm(self.attention(self.attn_norm(x), positions)))
        h = self.ffn_norm(x)
        m = F.relu(self.gate(h)).square() * self.up(h)
        return x + self.down(self.ffn_sub_norm(m))


class BitNet(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c.vocab_size, c.hidden)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = RMSNorm(c.hidden, c.eps)
        nn.init.normal_(self.embed.weight, std=0.02)
        for name, p in self.named_parameters():
            if name.endswith(("q.weight", "k.weight", "v.weight", "gate.weight", "up.weight")):
                nn.init.normal_(p, std=0.02)
            elif name.endswith(("o.weight", "down.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * c.layers))

    def forward(self, ids):
        positions = torch.arange(ids.shape[1])
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x, positions)
        return self.norm(x) @ self.embed.weight.t()
