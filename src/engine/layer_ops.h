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

// One query head against positions 0..n_keys-1: out = softmax(q.k / sqrt(d)) . v, with the
// keys transposed (row i of `keys_t`, key_row_stride apart, holds dimension i of every
// position) and value rows value_stride apart. Scores accumulate over i in order.
// `scores` has room for n_keys floats.
void attend(const float* q, const float* keys_t, size_t key_row_stride, const float* values, size_t value_stride,
            size_t n_keys, size_t head_dim, float* scores, float* out);

}  // namespace tern::engine
