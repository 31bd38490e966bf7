// Loading a model to run, for every front (the CLI, the server, the public library): choose the
// kernels (an ISA by name or TERN_ISA, else the best this CPU runs, then autotuned on the model),
// then read a GGUF file or a Hugging Face folder, repacked for those kernels, with the head
// converted if asked. Paths here are local; the Hub (ORG/NAME) is resolved by the caller.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "engine/kernel_autotune.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "tern/status.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tern::engine {

struct ModelRequest {
    std::string isa;    // "" = TERN_ISA or the best this CPU runs (then kernels are autotuned)
    int threads = 1;    // for repacking and autotuning: the count the engine will run
    std::string head;   // "" or "auto": model::HeadConversion::kAuto; "keep" the file's type; "q8_0"; "q4_0"; "q6_k"
    std::string packing = "2bit";   // "2bit" or "base3" (kernels::Packing)
    std::string weights;            // "" or "fairy2i-w1" / "fairy2i-w2": read a LLaMA folder as Fairy2i
    std::string activations = "int8";   // Fairy2i projections: "int8" (exact sums) or "float"
    model::LoadProgress progress = {};   // called as tensors are repacked; may be empty
    // Under --split: the share of the model this process repacks (model::LoadOptions).
    std::function<bool(size_t layer, size_t n_layer)> keep_layer = {};
    std::function<model::RowRange(model::TensorRole role, const model::Hparams& hp)> keep_rows = {};
};

struct LoadedModel {
    // The ISA's table; when the ISA was not forced, its ternary GEMV and GEMM are the fastest of
    // the tables sharing its layout, timed at load (`autotune`).
    kernels::KernelTable kernels{};
    AutotuneReport autotune;
    std::string kernel_warning;   // why a faster kernel (AMX) was found here but not used; "" when none
    model::Model model;
    std::optional<tokenizer::Tokenizer> tokenizer;   // absent when the file has none tern reads
    std::string tokenizer_problem;                   // why it is absent
    double load_seconds = 0.0;

    // The tokenizer, or an error saying why there is none.
    Result<const tokenizer::Tokenizer*> require_tokenizer() const;
};

// A GGUF file, or a directory holding a Hugging Face checkpoint.
Result<LoadedModel> load_model(const std::string& path, const ModelRequest& request);

// A random model of a named shape (model/synthetic_model.h) built in memory.
Result<LoadedModel> build_synthetic_model(const std::string& shape, const std::string& ternary_type,
                                         const ModelRequest& request);

// Only the tokenizer: of a GGUF file, a tokenizer.json or tokenizer.model, or a folder.
Result<tokenizer::Tokenizer> load_tokenizer(const std::string& path);

// "bitnet-b1.58, 2560 x 30 layers, I2_S ternary, tied F16 head, 1.19 GB; kernels avx512vnni",
// then what autotuning picked, if it ran.
std::string describe(const LoadedModel& loaded);

struct PickedTemplate {
    tokenizer::ChatTemplate chat_template;
    std::string warning;   // set when the model's own Jinja template did not parse
};
// The template to chat with: a built-in name or Jinja file when requested, else the model's own
// Jinja template (falling back, with a warning, to the closest built-in format when it does not
// parse), else the closest built-in format.
Result<PickedTemplate> pick_chat_template(std::string_view architecture, const tokenizer::Vocabulary& vocab,
                                          const std::string& requested);

}  // namespace tern::engine
