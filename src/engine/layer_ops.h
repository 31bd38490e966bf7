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

// Rotates n_heads heads of head_dim values at position `pos` in place.
void apply_rope(float* x, size_t n_heads, size_t head_dim, size_t pos, float theta, model::RopePairing pairing);

// gate[i] = act(gate[i]) * up[i].
void gated_activation(float* gate, const float* up, size_t n, model::FfnActivation activation);

}  // namespace tern::engine
