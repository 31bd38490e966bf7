#include "model/model_gguf_writer.h"

#include "core/str_cat.h"
#include "model/complex_gguf_writer.h"
#include "model/recurrent_gguf_writer.h"
#include "model/ternary_gguf_writer.h"

namespace tern::model {

using format::GgmlType;

Result<ModelGguf> model_gguf(const Model& model, const tokenizer::Vocabulary& vocab, std::string_view name,
                             const ModelFileTypes& types) {
    if (model.arch->family == ModelFamily::kTernaryTransformer) return ternary_model_gguf(model, vocab, name, types);
    if (types.head)
        return Error(str_cat("--head: a ", model.arch->name, " head is ",
                             model.recurrent() ? "a ternary BitLinear (I2_S)" : "stored as the family stores it"));
    ModelGguf file;
    if (model.recurrent()) {
        if (types.projections && *types.projections != GgmlType::kI2_S)
            return Error(str_cat("--type: ", model.arch->name, " files hold I2_S projections (the absmean codes)"));
        TERN_ASSIGN_OR_RETURN(file.writer, recurrent_model_gguf(model, vocab, name));
        file.description = "absmean ternary codes as I2_S, ternary head";
        return file;
    }
    if (types.projections)
        return Error(str_cat("--type: ", model.arch->name, " files hold TERN_C2 PhaseQuant codes"));
    TERN_ASSIGN_OR_RETURN(file.writer, complex_model_gguf(model, vocab, name));
    file.description = "PhaseQuant codes as TERN_C2";
    return file;
}

}  // namespace tern::model
