// `tern convert`: a Hugging Face folder to a GGUF file that loads as a mapping plus a re-tiling.
// Ternary transformers (BitNet b1.58, 1bitLLM bitnet, ternary Llama) keep their ternary values
// and multipliers exactly; float LLaMA-family folders are ternarised post-training (--method);
// iFairy and Fairy2i keep their PhaseQuant codes (TERN_C2), HGRN-Bit its absmean codes (I2_S).
#include <cstdio>
#include <filesystem>
#include <optional>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/model_file_writing.h"
#include "core/mapped_file.h"
#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "engine/calibrated_ternarization.h"
#include "model/hf_model_loader.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocabulary_files.h"

namespace tern::cli {

namespace {

std::optional<quant::CalibratedMethod> calibrated_method(const std::string& method) {
    if (method == "rowfit") return quant::CalibratedMethod::kRowFit;
    if (method == "gptq") return quant::CalibratedMethod::kGptq;
    return std::nullopt;
}

Result<model::LoadOptions> convert_load_options(const ConvertOptions& options) {
    model::LoadOptions load{.threads = options.threads > 0 ? options.threads : default_thread_count(),
                            .progress = conversion_progress("converting")};
    if (!options.weights.empty() && !options.method.empty() && options.weights != options.method)
        return Error(str_cat("--weights '", options.weights, "' and --method '", options.method, "' disagree"));
    const std::string method = options.method.empty() ? options.weights : options.method;
    const bool calibrated = calibrated_method(method).has_value();
    if (calibrated != !options.calibration.empty())
        return Error(options.calibration.empty() ? str_cat("--method ", method, " needs --calibration FILE (text)")
                                                 : "--calibration is used by --method rowfit or gptq only");
    if (method == "fairy2i-w1" || method == "fairy2i-w2") {
        load.fairy2i_stages = method == "fairy2i-w1" ? 1 : 2;
        return load;
    }
    if (!options.weights.empty())
        return Error(str_cat("--weights '", options.weights, "' is not supported (fairy2i-w1 or fairy2i-w2)"));
    // Calibrated methods start from the threshold rule, then replace every projection.
    Result<model::PostTrainingMethod> post_training = parse_post_training_method(calibrated ? "threshold" : method);
    if (!post_training.ok())
        return Error(str_cat("--method '", method, "' is not supported (absmean, threshold, rowfit, gptq, fairy2i-w1, fairy2i-w2)"));
    load.post_training = post_training.value();
    return load;
}

// The calibration text as sequences of at most min(context, 512) tokens, each opened by BOS
// as a prompt would be, `max_tokens` in all.
Result<std::vector<std::vector<int32_t>>> calibration_sequences(const ConvertOptions& options,
                                                                const tokenizer::Vocabulary& vocab, size_t context) {
    TERN_ASSIGN_OR_RETURN(const std::string text, read_text_file(options.calibration, size_t{1} << 30));
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer tok, tokenizer::Tokenizer::from_vocabulary(vocab));
    const std::vector<int32_t> ids = tok.encode(text, /*add_special=*/false, /*parse_special=*/false);
    const size_t length = std::min<size_t>(context, 512), body = vocab.bos >= 0 ? length - 1 : length;
    std::vector<std::vector<int32_t>> sequences;
    size_t used = 0;
    for (size_t at = 0; at < ids.size() && used < options.calibration_tokens; at += body) {
        std::vector<int32_t> s;
        if (vocab.bos >= 0) s.push_back(vocab.bos);
        s.insert(s.end(), ids.begin() + static_cast<std::ptrdiff_t>(at),
                 ids.begin() + static_cast<std::ptrdiff_t>(std::min({ids.size(), at + body, at + options.calibration_tokens - used})));
        used += s.size();
        sequences.push_back(std::move(s));
    }
    if (sequences.empty()) return Error(str_cat(options.calibration, ": no tokens"));
    return sequences;
}

Status calibrate(model::Model& model, const ConvertOptions& options, const tokenizer::Vocabulary& vocab, int threads) {
    TERN_ASSIGN_OR_RETURN(const auto sequences, calibration_sequences(options, vocab, model.hp.n_ctx_train));
    size_t tokens = 0;
    for (const auto& s : sequences) tokens += s.size();
    ThreadPool pool(threads);
    const bool tty = isatty(STDERR_FILENO);
    TERN_TRY(engine::calibrate_projections(model, options.folder, sequences, *calibrated_method(options.method), pool,
                                           [tty](size_t done, size_t total) {
                                               if (tty) std::fprintf(stderr, "\rcalibrating: layer %zu / %zu   %s", done,
                                                                     total, done == total ? "\n" : "");
                                           }));
    model.ternary_type = str_cat(model.ternary_type.substr(0, model.ternary_type.find(' ')), " (", options.method,
                                 " post-training, ", tokens, " calibration tokens)");
    return {};
}

}  // namespace

int run_convert(const ConvertOptions& options) {
    Result<model::LoadOptions> load = convert_load_options(options);
    if (!load.ok()) return report_failure(str_cat("convert: ", load.error().message()));
    if (Result<model::ModelFileTypes> types = parse_file_types(options.type, options.head); !types.ok())
        return report_failure(str_cat("convert: ", types.error().message()));
    Result<model::Model> model = model::load_hf_model(options.folder, load.value());
    if (!model.ok()) return report_failure(str_cat("convert: ", model.error().message()));
    Result<tokenizer::Vocabulary> vocab = tokenizer::vocabulary_from_path(options.folder);
    if (!vocab.ok()) return report_failure(str_cat("convert: ", vocab.error().message()));
    const std::string name =
        options.name.empty() ? std::filesystem::path(options.folder).lexically_normal().filename().string() : options.name;
    if (calibrated_method(options.method)) {
        if (Status s = calibrate(model.value(), options, vocab.value(), load.value().threads); !s.ok())
            return report_failure(str_cat("convert: ", s.error().message()));
    }
    Result<model::ModelFileTypes> types = parse_file_types(options.type, options.head, &model.value());
    // Calibrated multipliers differ row by row: TQ2_0 holds them (as fp16 numbers, exactly).
    if (calibrated_method(options.method) && options.type.empty()) types.value().projections = format::GgmlType::kTQ2_0;
    return write_model_file(model.value(), vocab.value(), name, types.value(), options.output, "convert");
}

}  // namespace tern::cli
