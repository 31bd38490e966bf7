// What `tern convert` and `tern quantize` share: the storage-type and method flags, a progress
// bar for the ternarising pass, and writing the file (temporary name, then rename).
#pragma once

#include <functional>
#include <string>

#include "model/model.h"
#include "model/model_gguf_writer.h"
#include "tokenizer/vocabulary.h"
#include "tern/status.h"

namespace tern::cli {

// --type (i2_s, tq2_0, tq1_0; "" = the family's default) and --head (f32, f16, bf16, q8_0, or
// "keep" for the source's type; "" = Q8_0 for ternary transformers, whose measured quality
// cost is nil (docs/quantization.md), and the family's own head otherwise).
Result<model::ModelFileTypes> parse_file_types(const std::string& type, const std::string& head,
                                               const model::Model* model = nullptr);

// --method: absmean or threshold (post-training ternarisation), "" for none.
Result<model::PostTrainingMethod> parse_post_training_method(const std::string& method);

// "loading NAME: 41% 1.2 GB / 2.9 GB, 12 s left" on stderr when it is a terminal.
model::LoadProgress conversion_progress(const std::string& what);

// Writes `model` to `output` in `types` (`more_metadata` adds keys after tern's own), then one
// line saying what was written. Returns the process exit code; on failure nothing is left
// under `output`.
int write_model_file(const model::Model& model, const tokenizer::Vocabulary& vocab, const std::string& name,
                     const model::ModelFileTypes& types, const std::string& output, const std::string& command,
                     const std::function<void(format::GgufWriter&)>& more_metadata = {});

}  // namespace tern::cli
