// Loads a model from a GGUF file: picks the architecture from general.architecture, checks
// every tensor against the architecture's table (all problems reported in one error), then
// repacks the ternary projections in parallel.
#pragma once

#include <memory>
#include <string>

#include "format/gguf_reader.h"
#include "model/model.h"

namespace tern::model {

Result<Model> load_gguf_model(const std::string& path, const LoadOptions& options);

// For bytes already parsed (an in-memory file); `storage` must own the bytes `gguf` views.
Result<Model> load_gguf_model(const format::GgufContents& gguf, std::shared_ptr<const void> storage,
                              const std::string& source, const LoadOptions& options);

}  // namespace tern::model
