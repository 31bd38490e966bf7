// What every model-running command does first: resolve -m, load it (engine/model_loading.h)
// with a progress line on a terminal, and the flags that shape the request.
#pragma once

#include <optional>
#include <string>

#include "engine/model_loading.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "sampling/sampler.h"
#include "tern/status.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tern::cli {

using engine::ChatModel;
using engine::describe;
using engine::LoadedModel;
using engine::ModelRequest;

// -m as every command takes it: a GGUF file or Hugging Face folder, or ORG/NAME[:FILE] from the
// Hub cache (fetched first when missing); a progress line on a terminal while large models load.
Result<LoadedModel> load_model_for_run(const std::string& model, const ModelRequest& request);
Result<LoadedModel> load_synthetic_model(const std::string& shape, const std::string& ternary_type,
                                         const ModelRequest& request);
// load_model_for_run(), then the chat template: --chat-template's built-in name or Jinja file,
// else the model's own (a warning on stderr when it does not parse and a built-in replaces it).
Result<ChatModel> load_chat_model(const std::string& model, const ModelRequest& request,
                                  const std::string& template_name);

}  // namespace tern::cli
