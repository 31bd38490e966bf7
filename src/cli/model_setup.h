// What every model-running command does first: resolve -m, load it (engine/model_loading.h)
// with a progress line on a terminal, and the flags that shape the request.
#pragma once

#include <CLI/CLI.hpp>

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
// Only the tokenizer (for `tern tokenize`): of a GGUF file, a tokenizer file or a folder.
Result<tokenizer::Tokenizer> load_tokenizer(const std::string& model);
// load_model_for_run(), then the chat template: --chat-template's built-in name or Jinja file,
// else the model's own (a warning on stderr when it does not parse and a built-in replaces it).
Result<ChatModel> load_chat_model(const std::string& model, const ModelRequest& request,
                                  const std::string& template_name);

// Registers --head on a command.
void add_head_option(CLI::App* command, std::string& head);
void add_packing_option(CLI::App* command, std::string& packing);
void add_weights_options(CLI::App* command, std::string& weights, std::string& activations);
// Registers --kv-type (f32 or f16; a bad value is a usage error).
void add_kv_type_option(CLI::App* command, kernels::KvType& kv_type);

// Registers --temp, --top-k, --top-p, --min-p and -s/--seed.
void add_sampling_options(CLI::App* command, sampling::SamplerOptions& sampler);

}  // namespace tern::cli
