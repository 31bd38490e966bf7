// Loads a Hugging Face model folder (config.json + safetensors) directly, no conversion
// step: the architecture from config.json's `architectures`, every tensor checked against the
// architecture's table (all problems in one error), ternary projections repacked from
// transformers' packed uint8 (+ weight_scale, direction from quantization_config.linear_class),
// from exact ternary floats, or from latent weights with BitNet's absmean rule.
#pragma once

#include <string>

#include "format/hf_checkpoint.h"
#include "model/model.h"

namespace tern::model {

Result<Model> load_hf_model(const std::string& dir, const LoadOptions& options);

// A float (F32, F16, BF16) tensor of a checkpoint widened to F32. Errors: another dtype.
Result<std::vector<float>> read_hf_floats(const format::HfCheckpoint::TensorRef& tensor);

}  // namespace tern::model
