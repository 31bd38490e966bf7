// Calibrated post-training ternarisation of a float LLaMA-family folder (tern convert --method
// rowfit|gptq --calibration FILE; docs/quantization.md). The float model runs over the
// calibration tokens one layer at a time, as GPTQ does: each projection is ternarised from the
// Gram matrix of the inputs it sees (quant/calibrated_ternary.h), and those inputs are computed
// with the projections before it already ternarised, so later ones absorb earlier errors.
// Activations stay float here (tern's int8 rounding is far below the ternary error).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"
#include "quant/calibrated_ternary.h"
#include "tern/status.h"

namespace tern::engine {

// Called after each layer: layers done and in all.
using CalibrationProgress = std::function<void(size_t done, size_t total)>;

// Replaces every projection of `model` (loaded from `folder` as a kTernaryTransformer with any
// post-training method) by its calibrated ternarisation. `sequences` are token ids, each
// starting at position 0. Errors: a model of another family, unreadable float weights, ids
// outside the vocabulary, no tokens.
Status calibrate_projections(model::Model& model, const std::string& folder,
                             std::span<const std::vector<int32_t>> sequences, quant::CalibratedMethod method,
                             ThreadPool& pool, const CalibrationProgress& progress = {});

}  // namespace tern::engine
