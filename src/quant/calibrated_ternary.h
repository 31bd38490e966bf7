// Ternarisation that looks at the inputs a projection sees (docs/quantization.md): both methods
// minimise the output error ||X (W - Q)^T||^2 over calibration activations X through their
// Gram matrix H = X^T X (cols x cols), never X itself.
//   kRowFit: per row, T from the threshold rule (|w| > half the row's mean |w|), then the
//            multiplier s = (w^T H t) / (t^T H t), the least-squares fit of the row's outputs.
//   kGptq:   GPTQ's error feedback (Frantar et al., 2023) on the ternary grid {-s, 0, +s} of
//            each row (s the row fit's multiplier): columns are rounded in order of decreasing
//            input energy (GPTQ's act order), each rounding error spread over the columns
//            still to come through the Cholesky factor of H^-1; then the multiplier is
//            refitted as in kRowFit.
// Multipliers are rounded to fp16, so TQ2_0 / TQ1_0 files hold them exactly.
#pragma once

#include <cstddef>
#include <span>

#include "core/thread_pool.h"
#include "quant/packed_ternary.h"
#include "tern/status.h"

namespace tern::quant {

enum class CalibratedMethod { kRowFit, kGptq };

// weights: rows x cols row-major; gram: cols x cols (symmetric, positive semi-definite).
// Errors: sizes that disagree, non-finite weights.
Result<PackedTernary> ternarize_calibrated(std::span<const float> weights, size_t rows, size_t cols,
                                          std::span<const double> gram, CalibratedMethod method, ThreadPool& pool);

// ||X (W - Q)^T||^2 / ||X W^T||^2 through the Gram matrix: how much of the outputs' energy the
// ternary matrix `q` loses (for tests and reports).
double relative_output_error(std::span<const float> weights, const PackedTernary& q, std::span<const double> gram);

}  // namespace tern::quant
