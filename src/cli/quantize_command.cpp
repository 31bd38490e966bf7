// `tern quantize`: GGUF to GGUF. Repacks the ternary projections into another ternary type
// (values and multipliers kept; TQ blocks round the multiplier to fp16), re-quantises the head,
// or ternarises the float projections of an ordinary model's file post-training (--method).
// Metadata tern does not write itself (licence, author, ...) is carried over.
#include <string_view>

#include "cli/commands.h"
#include "cli/model_file_writing.h"
#include "core/str_cat.h"
#include "format/gguf_reader.h"
#include "model/gguf_model_loader.h"
#include "tokenizer/vocabulary.h"

namespace tern::cli {

namespace {

// Keys whose value the new file's types make stale.
bool describes_old_storage(std::string_view key) {
    return key == "general.file_type" || key == "general.quantization_version";
}

}  // namespace

int run_quantize(const QuantizeOptions& options) {
    Result<model::PostTrainingMethod> method = parse_post_training_method(options.method);
    if (!method.ok()) return report_failure(str_cat("quantize: ", method.error().message()));
    if (Result<model::ModelFileTypes> types = parse_file_types(options.type, options.head); !types.ok())
        return report_failure(str_cat("quantize: ", types.error().message()));
    Result<format::GgufFile> file = format::GgufFile::open(options.input);
    if (!file.ok()) return report_failure(str_cat("quantize: ", file.error().message()));
    const format::GgufContents& contents = file.value().contents();
    const model::LoadOptions load{.threads = options.threads > 0 ? options.threads : default_thread_count(),
                                  .progress = conversion_progress("quantizing"),
                                  .post_training = method.value()};
    // The path loader maps the file itself and drops each ternary tensor's pages once repacked,
    // so the input and its repacked copy are never both resident.
    Result<model::Model> model = model::load_gguf_model(options.input, load);
    if (!model.ok()) return report_failure(str_cat("quantize: ", model.error().message()));
    Result<tokenizer::Vocabulary> vocab = tokenizer::vocabulary_from_gguf(contents);
    if (!vocab.ok()) return report_failure(str_cat("quantize: ", options.input, ": ", vocab.error().message()));
    std::string name = options.name;
    if (name.empty()) {
        const format::GgufValue* general_name = contents.find("general.name");
        name = general_name != nullptr && general_name->as_string() ? *general_name->as_string() : "";
    }
    Result<model::ModelFileTypes> types = parse_file_types(options.type, options.head, &model.value());
    return write_model_file(model.value(), vocab.value(), name, types.value(), options.output, "quantize",
                            [&contents](format::GgufWriter& w) {
                                for (const format::GgufKv& kv : contents.metadata)
                                    if (!describes_old_storage(kv.key) && !kv.key.starts_with("general.alignment"))
                                        (void)w.add_metadata(kv.key, kv.value);   // tern's own keys come first and stay
                            });
}

}  // namespace tern::cli
