// `tern convert`: a Hugging Face folder to a GGUF file that loads as a mapping plus a re-tiling.
// Ternary transformers (BitNet b1.58, 1bitLLM bitnet, ternary Llama) keep their ternary values
// and multipliers exactly; float LLaMA-family folders are ternarised post-training (--method);
// iFairy and Fairy2i keep their PhaseQuant codes (TERN_C2), HGRN-Bit its absmean codes (I2_S).
#include <filesystem>

#include "cli/commands.h"
#include "cli/model_file_writing.h"
#include "core/str_cat.h"
#include "model/hf_model_loader.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/spm_model_file.h"

namespace tern::cli {

void add_convert_command(CLI::App& app, ConvertOptions& options) {
    CLI::App* convert = app.add_subcommand(
        "convert", "Convert a Hugging Face model folder to GGUF (BitNet, ternary or float LLaMA/Mistral, iFairy, "
                   "Fairy2i, HGRN-Bit)");
    convert->add_option("folder", options.folder, "Hugging Face model folder (config.json, safetensors, tokenizer)")->required();
    convert->add_option("-o,--output", options.output, "Output GGUF file")->required();
    convert->add_option("--name", options.name, "general.name to write (default: the folder's name)");
    convert->add_option("--type", options.type, "Ternary storage: i2_s (default), tq2_0 or tq1_0");
    convert->add_option("--head", options.head,
                        "Head (and tied embedding) type: q8_0 (default), f16, bf16, f32, or keep the folder's");
    convert->add_option("--method", options.method,
                        "For float LlamaForCausalLM/MistralForCausalLM folders: absmean or threshold (post-training "
                        "ternarisation), or fairy2i-w1 / fairy2i-w2 (widely-linear PhaseQuant)");
    convert->add_option("--weights", options.weights, "Same as --method fairy2i-w1 / fairy2i-w2");
    convert->add_option("-t,--threads", options.threads, "Threads quantising the weights (default: all cores)")
        ->check(CLI::Range(1, 512));
}

namespace {

Result<tokenizer::Vocabulary> folder_vocabulary(const std::string& dir) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json", ec))
        return tokenizer::vocabulary_from_hf_folder(dir);
    if (std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.model", ec))
        return tokenizer::vocabulary_from_spm_folder(dir);
    return Error(str_cat(dir, ": no tokenizer.json or tokenizer.model"));
}

Result<model::LoadOptions> convert_load_options(const ConvertOptions& options) {
    model::LoadOptions load{.threads = options.threads > 0 ? options.threads : default_thread_count(),
                            .progress = conversion_progress("converting")};
    if (!options.weights.empty() && !options.method.empty() && options.weights != options.method)
        return Error(str_cat("--weights '", options.weights, "' and --method '", options.method, "' disagree"));
    const std::string method = options.method.empty() ? options.weights : options.method;
    if (method == "fairy2i-w1" || method == "fairy2i-w2") {
        load.fairy2i_stages = method == "fairy2i-w1" ? 1 : 2;
        return load;
    }
    if (!options.weights.empty())
        return Error(str_cat("--weights '", options.weights, "' is not supported (fairy2i-w1 or fairy2i-w2)"));
    TERN_ASSIGN_OR_RETURN(load.post_training, parse_post_training_method(method));
    return load;
}

}  // namespace

int run_convert(const ConvertOptions& options) {
    Result<model::LoadOptions> load = convert_load_options(options);
    if (!load.ok()) return report_failure(str_cat("convert: ", load.error().message()));
    if (Result<model::ModelFileTypes> types = parse_file_types(options.type, options.head); !types.ok())
        return report_failure(str_cat("convert: ", types.error().message()));
    Result<model::Model> model = model::load_hf_model(options.folder, load.value());
    if (!model.ok()) return report_failure(str_cat("convert: ", model.error().message()));
    Result<tokenizer::Vocabulary> vocab = folder_vocabulary(options.folder);
    if (!vocab.ok()) return report_failure(str_cat("convert: ", vocab.error().message()));
    const std::string name =
        options.name.empty() ? std::filesystem::path(options.folder).lexically_normal().filename().string() : options.name;
    Result<model::ModelFileTypes> types = parse_file_types(options.type, options.head, &model.value());
    return write_model_file(model.value(), vocab.value(), name, types.value(), options.output, "convert");
}

}  // namespace tern::cli
