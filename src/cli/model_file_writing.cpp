#include "cli/model_file_writing.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/str_cat.h"

namespace tern::cli {

using format::GgmlType;

Result<model::ModelFileTypes> parse_file_types(const std::string& type, const std::string& head,
                                               const model::Model* model) {
    model::ModelFileTypes types;
    if (type == "i2_s") types.projections = GgmlType::kI2_S;
    else if (type == "tq2_0") types.projections = GgmlType::kTQ2_0;
    else if (type == "tq1_0") types.projections = GgmlType::kTQ1_0;
    else if (!type.empty()) return Error(str_cat("--type '", type, "' is not supported (i2_s, tq2_0, tq1_0)"));
    if (head == "f32") types.head = GgmlType::kF32;
    else if (head == "f16") types.head = GgmlType::kF16;
    else if (head == "bf16") types.head = GgmlType::kBF16;
    else if (head == "q8_0") types.head = GgmlType::kQ8_0;
    else if (head.empty() && model != nullptr && model->arch->family == model::ModelFamily::kTernaryTransformer &&
             model->output.cols % 32 == 0)
        types.head = GgmlType::kQ8_0;
    else if (!head.empty() && head != "keep")
        return Error(str_cat("--head '", head, "' is not supported (f32, f16, bf16, q8_0, keep)"));
    return types;
}

Result<model::PostTrainingMethod> parse_post_training_method(const std::string& method) {
    if (method.empty()) return model::PostTrainingMethod::kNone;
    if (method == "absmean") return model::PostTrainingMethod::kAbsmean;
    if (method == "threshold") return model::PostTrainingMethod::kThreshold;
    return Error(str_cat("--method '", method, "' is not supported (absmean, threshold)"));
}

model::LoadProgress conversion_progress(const std::string& what) {
    if (!isatty(STDERR_FILENO)) return {};
    const auto start = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
    return [what, start](size_t done, size_t total) {
        if (total == 0) return;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
        const double left = done > 0 ? seconds * static_cast<double>(total - done) / static_cast<double>(done) : 0.0;
        std::fprintf(stderr, "\r%s: %3d%% %.2f / %.2f GB, %.0f s left   ", what.c_str(),
                     static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)), done / 1e9,
                     total / 1e9, left);
        if (done == total) std::fprintf(stderr, "\n");
    };
}

int write_model_file(const model::Model& model, const tokenizer::Vocabulary& vocab, const std::string& name,
                     const model::ModelFileTypes& types, const std::string& output, const std::string& command,
                     const std::function<void(format::GgufWriter&)>& more_metadata) {
    Result<model::ModelGguf> file = model::model_gguf(model, vocab, name, types);
    if (!file.ok()) return report_failure(str_cat(command, ": ", file.error().message()));
    if (more_metadata) more_metadata(file.value().writer);
    if (Status s = file.value().writer.write_to_file(output); !s.ok())
        return report_failure(str_cat(command, ": ", s.error().message()));
    std::string note = str_cat("wrote ", output, " (", model.arch->name, ", ", model.hp.n_layer, " layers, ",
                               file.value().description, ")");
    if (file.value().rounded_multipliers != 0)
        note += str_cat("; ", file.value().rounded_multipliers,
                        " row multipliers rounded to the fp16 block scales (i2_s keeps them exactly)");
    std::fprintf(stderr, "%s\n", note.c_str());
    return 0;
}

}  // namespace tern::cli
