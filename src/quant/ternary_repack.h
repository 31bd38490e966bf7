// Builds tern's packed ternary matrices (packed_ternary.h) from every ternary storage format
// a model file can hold. Each function validates the bytes it is given (sizes, codes, scales)
// and names the offending row/block in its error. Matrices are rows (outputs) x cols (inputs),
// i.e. GGUF ne = (cols, rows) and safetensors shape [rows, cols].
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "format/ggml_types.h"
#include "quant/packed_ternary.h"
#include "tern/status.h"

namespace tern::quant {

// TQ2_0, TQ1_0 (cols a multiple of 256) or I2_S (rows * cols a multiple of 128) tensor data.
// TQ blocks carry their own fp16 scale d; tern keeps one multiplier per row, so the blocks of a
// row that hold any nonzero weight must agree on d (true of every ternary model's file; a
// float model quantised block-wise to TQ2_0 is refused with the row and the two scales).
// `extra_multiplier` folds in a separate per-tensor scale (llama.cpp `bitnet` `.scale`).
Result<PackedTernary> repack_ggml_ternary(format::GgmlType type, std::span<const std::byte> data, size_t rows,
                                          size_t cols, float extra_multiplier = 1.0f);

// Hugging Face `quant_method: bitnet` packed uint8 [ceil(rows/4), cols]: bits 2i..2i+1 of
// packed[r, c] hold code w + 1 of row i * ceil(rows/4) + r (formats.md §5.1). `multiplier` is
// the resolved per-tensor m (weight_scale or 1 / weight_scale by linear_class).
Result<PackedTernary> repack_hf_packed(std::span<const uint8_t> packed, size_t rows, size_t cols, float multiplier);

// Float weights that are already ternary times one per-tensor scale (values exactly -s, 0, +s),
// e.g. a dequantised ternary checkpoint. Errors on the first value that breaks the pattern.
Result<PackedTernary> pack_exact_ternary(std::span<const float> weights, size_t rows, size_t cols);

// Latent full-precision weights, ternarised with BitNet's absmean rule (formats.md §5.3):
// s = 1 / max(mean|W|, 1e-5), T = clamp(round_half_even(W * s), -1, 1), multiplier 1 / s.
// mean|W| is accumulated in double and rounded to float, as the reference code's float32
// cast would give for these sizes up to the last bit.
Result<PackedTernary> ternarize_absmean(std::span<const float> weights, size_t rows, size_t cols);

// Float weights ternarised with a threshold (the seed's rule): a = mean|W| (double, rounded to
// float), T = +1 where W > a/2, -1 where W < -a/2, else 0; multiplier the mean |W| over the
// nonzero T (least squares for that pattern; a when none). With a as the multiplier this would
// be absmean up to ties.
Result<PackedTernary> ternarize_threshold(std::span<const float> weights, size_t rows, size_t cols);

}  // namespace tern::quant
