// The float parts of a decoder layer (norms, rope, attention, FFN gating). Plain scalar code
// compiled for the baseline ISA, with a fixed summation order, so logits do not depend on the
// ISA the ternary kernels were dispatched to.
#pragma once

#include <cstddef>

#include "model/architecture.h"

namespace tern::engine {

// Dot product with 8 interleaved partial sums combined pairwise (vectorisable, deterministic).
float dot(const float* a, const float* b, size_t n);

// out = w * (x / sqrt(mean(x^2) + eps)); out may alias x.
void rms_norm(const float* x, const float* w, size_t n, float eps, float* out);

// cos and sin of pos * theta^(-2i / head_dim) for i < head_dim / 2: the rotation of one
// position, computed once per token and shared by every layer's queries and keys.
void rope_angles(size_t pos, size_t head_dim, float theta, float* cos, float* sin);

// Rotates n_heads heads of head_dim values in place by the angles of rope_angles().
void apply_rope(float* x, size_t n_heads, size_t head_dim, const float* cos, const float* sin, model::RopePairing pairing);

// gate[i] = act(gate[i]) * up[i].
void gated_activation(float* gate, const float* up, size_t n, model::FfnActivation activation);

}  // namespace tern::engine
