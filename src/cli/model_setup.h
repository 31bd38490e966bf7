// What every model-running command does first: choose the kernels (--isa / TERN_ISA), then
// load a model file or Hugging Face folder, or build a synthetic model, repacked for those
// kernels, with the head converted if asked (--head q8_0).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "engine/kernel_autotune.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "sampling/sampler.h"
#include "tern/status.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tern::cli {

struct ModelRequest {
    std::string isa;    // "" = TERN_ISA or the best this CPU runs (then kernels are autotuned)
    int threads = 1;    // for repacking and autotuning: the count the engine will run
    std::string head;   // "" keeps the file's head type; "q8_0" converts it at load
    std::string packing = "2bit";   // "2bit" or "base3" (kernels::Packing)
    std::string weights;            // "" or "fairy2i-w1" / "fairy2i-w2": read a LLaMA folder as Fairy2i
    std::string activations = "int8";   // Fairy2i projections: "int8" (exact sums) or "float"
};

struct LoadedModel {
    // The ISA's table; when the ISA was not forced (--isa, TERN_ISA), its ternary GEMV and
    // GEMM are the fastest of the tables sharing its layout, timed at load (`autotune`).
    kernels::KernelTable kernels{};
    engine::AutotuneReport autotune;
    model::Model model;
    std::optional<tokenizer::Tokenizer> tokenizer;   // absent when the file has none tern reads
    std::string tokenizer_problem;                   // why it is absent
    double load_seconds = 0.0;

    // The tokenizer, or an error saying why there is none.
    Result<const tokenizer::Tokenizer*> require_tokenizer() const;
};

// A GGUF file, or a directory holding a Hugging Face checkpoint.
Result<LoadedModel> load_model_for_run(const std::string& path, const ModelRequest& request);

// A random model of a named shape (model/synthetic_model.h) built in memory.
Result<LoadedModel> load_synthetic_model(const std::string& shape, const std::string& ternary_type,
                                         const ModelRequest& request);

// Only the tokenizer of a GGUF file (for `tern tokenize`).
Result<tokenizer::Tokenizer> load_tokenizer(const std::string& path);

// "bitnet-b1.58, 2560 x 30 layers, I2_S ternary, tied F16 head, 1.19 GB; kernels avx512vnni",
// then what autotuning picked, if it ran.
std::string describe(const LoadedModel& loaded);

// A model to converse with (tern chat, tern serve): its tokenizer is required, and its chat
// template is the one named by --chat-template, or the model's own when the name is empty.
struct ChatModel {
    LoadedModel loaded;
    tokenizer::ChatTemplate chat_template;

    const tokenizer::Tokenizer& tokenizer() const { return *loaded.tokenizer; }
};
// The template to chat with: --chat-template's built-in name or Jinja file when given, else the
// model's own Jinja template (falling back, with a warning, to the closest built-in format when
// it does not parse), else the closest built-in format.
Result<tokenizer::ChatTemplate> pick_chat_template(std::string_view architecture, const tokenizer::Vocabulary& vocab,
                                                  const std::string& requested);
Result<ChatModel> load_chat_model(const std::string& path, const ModelRequest& request,
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
