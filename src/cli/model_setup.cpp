#include "cli/model_setup.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>

#include "cli/download_progress.h"

namespace tern::cli {
namespace {

constexpr size_t kShowProgressAbove = size_t{64} << 20;

// A percentage on stderr while a large model repacks, when stderr is a terminal.
ModelRequest with_progress_line(ModelRequest request, const std::string& what) {
    if (!isatty(STDERR_FILENO)) return request;
    request.progress = [what](size_t done, size_t total) {
        if (total < kShowProgressAbove) return;
        std::fprintf(stderr, "\rloading %s: %3d%%", what.c_str(), static_cast<int>(100.0 * done / total));
        if (done == total) std::fprintf(stderr, "\r%*s\r", static_cast<int>(what.size()) + 16, "");
    };
    return request;
}

}  // namespace

Result<tokenizer::Tokenizer> load_tokenizer(const std::string& model) {
    TERN_ASSIGN_OR_RETURN(const std::string path, local_model_path(model));
    return engine::load_tokenizer(path);
}

Result<LoadedModel> load_model_for_run(const std::string& model, const ModelRequest& request) {
    TERN_ASSIGN_OR_RETURN(const std::string path, local_model_path(model));
    return engine::load_model(path, with_progress_line(request, path));
}

Result<LoadedModel> load_synthetic_model(const std::string& shape, const std::string& ternary_type,
                                         const ModelRequest& request) {
    return engine::build_synthetic_model(shape, ternary_type, with_progress_line(request, "synthetic " + shape));
}

Result<ChatModel> load_chat_model(const std::string& model, const ModelRequest& request,
                                  const std::string& template_name) {
    TERN_ASSIGN_OR_RETURN(LoadedModel loaded, load_model_for_run(model, request));
    TERN_ASSIGN_OR_RETURN(ChatModel chat, engine::chat_model_from(std::move(loaded), template_name));
    if (!chat.template_warning.empty()) std::fprintf(stderr, "tern: warning: %s\n", chat.template_warning.c_str());
    return chat;
}

void add_head_option(CLI::App* command, std::string& head) {
    command->add_option("--head", head, "Convert the LM head at load: q8_0 (default: keep the file's type)");
}

void add_kv_type_option(CLI::App* command, kernels::KvType& kv_type) {
    command
        ->add_option_function<std::string>(
            "--kv-type",
            [&kv_type](const std::string& name) { kv_type = name == "f16" ? kernels::KvType::kF16 : kernels::KvType::kF32; },
            "KV cache element type: f32, or f16 (half the memory and cache reads)")
        ->check(CLI::IsMember({"f32", "f16"}))
        ->default_str("f32");
}

void add_packing_option(CLI::App* command, std::string& packing) {
    command->add_option("--packing", packing,
                        "Ternary weights in memory: 2bit, or base3 (1.6 bits per weight; scalar, avx2 and avx512vnni kernels)")
        ->capture_default_str();
}

void add_weights_options(CLI::App* command, std::string& weights, std::string& activations) {
    command->add_option("--weights", weights,
                        "Read a LlamaForCausalLM folder as Fairy2i: fairy2i-w1 or fairy2i-w2 (PhaseQuant stages); "
                        "folders whose quantization_config says fairy2i need no flag");
    command->add_option("--activations", activations, "Fairy2i projections: int8 (exact integer sums) or float")
        ->capture_default_str();
}

void add_sampling_options(CLI::App* command, sampling::SamplerOptions& sampler) {
    command->add_option("--temp", sampler.temperature, "Temperature (0: greedy)")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    command->add_option("--top-k", sampler.top_k, "Top-k (0: off)")->capture_default_str();
    command->add_option("--top-p", sampler.top_p, "Top-p (1: off)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
    command->add_option("--min-p", sampler.min_p, "Min-p (0: off)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
    command->add_option("--typical", sampler.typical_p, "Locally typical sampling p (1: off)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    command->add_option("--repeat-penalty", sampler.repeat_penalty, "Penalty for tokens in the window (1: off)")
        ->check(CLI::Range(0.0, 10.0))
        ->capture_default_str();
    command->add_option("--repeat-last-n", sampler.penalty_last_n, "Window of the penalties, in tokens")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    command->add_option("--frequency-penalty", sampler.frequency_penalty, "Subtracted per occurrence in the window")
        ->capture_default_str();
    command->add_option("--presence-penalty", sampler.presence_penalty, "Subtracted once if in the window")
        ->capture_default_str();
    command->add_option_function<std::vector<std::string>>(
        "--logit-bias",
        [&sampler](const std::vector<std::string>& items) {
            for (const std::string& item : items) {
                const size_t eq = item.find('=');
                size_t used_id = 0, used_bias = 0;
                int32_t id = -1;
                float bias = 0;
                try {
                    id = std::stoi(item.substr(0, eq), &used_id);
                    bias = std::stof(item.substr(eq + 1), &used_bias);
                } catch (const std::exception&) {
                    used_id = 0;
                }
                if (eq == std::string::npos || used_id != eq || used_bias != item.size() - eq - 1 || id < 0)
                    throw CLI::ValidationError("--logit-bias", "'" + item + "' is not ID=BIAS (e.g. 13=-inf or 2=1.5)");
                sampler.logit_bias[id] = bias;
            }
        },
        "Add a bias to a token's logit: ID=BIAS (repeatable, -inf bans a token)")
        ->delimiter(',');
    command->add_option("-s,--seed", sampler.seed, "Random seed")->capture_default_str();
}

}  // namespace tern::cli
