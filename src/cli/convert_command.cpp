// `tern convert`: a Hugging Face folder to a GGUF file that loads as a mapping plus a re-tiling.
// So far for complex (iFairy, ComplexNetLM; LLaMA as Fairy2i) folders, whose master weights are
// PhaseQuant-ed exactly as at load and kept as codes (TERN_C2), and for HGRN-Bit folders,
// whose absmean ternary codes are kept as I2_S: the folder and the file run bit-identically.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/str_cat.h"
#include "model/complex_gguf_writer.h"
#include "model/hf_model_loader.h"
#include "model/recurrent_gguf_writer.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/spm_model_file.h"

namespace tern::cli {

void add_convert_command(CLI::App& app, ConvertOptions& options) {
    CLI::App* convert = app.add_subcommand("convert", "Convert a Hugging Face model folder to GGUF (iFairy ComplexNetLM, HGRN-Bit, or LLaMA as Fairy2i)");
    convert->add_option("folder", options.folder, "Hugging Face model folder (config.json, safetensors, tokenizer)")->required();
    convert->add_option("-o,--output", options.output, "Output GGUF file")->required();
    convert->add_option("--name", options.name, "general.name to write (default: the folder's name)");
    convert->add_option("--weights", options.weights,
                        "fairy2i-w1 or fairy2i-w2: convert a LlamaForCausalLM folder to Fairy2i (post-training unless "
                        "its weights come from Fairy2i QAT)");
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

}  // namespace

int run_convert(const ConvertOptions& options) {
    const int threads = options.threads > 0 ? options.threads : default_thread_count();
    model::LoadOptions load{.threads = threads, .progress = {}};
    if (options.weights == "fairy2i-w1" || options.weights == "fairy2i-w2")
        load.fairy2i_stages = options.weights == "fairy2i-w1" ? 1 : 2;
    else if (!options.weights.empty())
        return report_failure(str_cat("convert: --weights '", options.weights, "' is not supported (fairy2i-w1 or fairy2i-w2)"));
    Result<model::Model> model = model::load_hf_model(options.folder, load);
    if (!model.ok()) return report_failure(str_cat("convert: ", model.error().message()));
    const model::Model& m = model.value();
    if (!m.complex() && !m.widely_linear() && !m.recurrent())
        return report_failure(str_cat("convert: ", options.folder, ": architecture '", m.arch->name,
                                      "' cannot be converted yet (ComplexNetLM, HGRNBitForCausalLM, or LLaMA as "
                                      "Fairy2i with --weights); tern runs the folder directly"));
    Result<tokenizer::Vocabulary> vocab = folder_vocabulary(options.folder);
    if (!vocab.ok()) return report_failure(str_cat("convert: ", vocab.error().message()));
    const std::string name =
        options.name.empty() ? std::filesystem::path(options.folder).lexically_normal().filename().string() : options.name;
    auto writer = m.recurrent() ? model::recurrent_model_gguf(m, vocab.value(), name)
                                : model::complex_model_gguf(m, vocab.value(), name);
    if (!writer.ok()) return report_failure(str_cat("convert: ", writer.error().message()));
    if (Status s = writer.value().write_to_file(options.output); !s.ok())
        return report_failure(str_cat("convert: ", s.error().message()));
    std::fprintf(stderr, "%s\n", str_cat("wrote ", options.output, " (", m.arch->name, ", ", m.hp.n_layer, " layers, ",
                                         m.recurrent() ? "absmean ternary codes as I2_S" : "PhaseQuant codes as TERN_C2",
                                         ")")
                                     .c_str());
    return 0;
}

}  // namespace tern::cli
