#include "model/recurrent_gguf_writer.h"

#include "core/str_cat.h"
#include "model/gguf_metadata.h"
#include "model/gguf_tensors.h"

namespace tern::model {

Result<format::GgufWriter> recurrent_model_gguf(const Model& model, const tokenizer::Vocabulary& vocab,
                                                std::string_view name) {
    if (!model.recurrent()) return Error(str_cat("architecture '", model.arch->name, "' is not a recurrent model"));
    const std::string_view arch = model.arch->gguf_names.front();
    format::GgufWriter w;
    write_hparams_metadata(w, arch, name, model.hp);
    (void)w.add_metadata(str_cat(arch, ".use_lower_bound"), format::GgufValue::boolean(!model.lower_bounds.empty()));
    write_vocabulary_metadata(w, vocab);
    for (const TensorSpec& spec : model.arch->tensors) {
        for (size_t l = 0; l < (spec.per_layer ? model.hp.n_layer : 1); ++l) {
            const std::string tensor = tensor_name(spec.gguf_name, l);
            switch (spec.role) {
                case TensorRole::kTokenEmbd: TERN_TRY(add_float_matrix(w, tensor, model.token_embd)); break;
                case TensorRole::kOutput: TERN_TRY(add_ternary(w, tensor, model.output_ternary, format::GgmlType::kI2_S)); break;
                case TensorRole::kOutputNorm: TERN_TRY(add_float_tensor(w, tensor, model.output_norm)); break;
                case TensorRole::kOutputInNorm: TERN_TRY(add_float_tensor(w, tensor, model.output_in_norm)); break;
                case TensorRole::kLowerBounds:
                    if (!model.lower_bounds.empty())
                        TERN_TRY(add_float_tensor(w, tensor, model.lower_bounds, {model.hp.n_embd, model.hp.n_layer}));
                    break;
                default: {
                    const LayerWeights& layer = model.layers[l];
                    if (const std::vector<float>* norm = layer.norm(spec.role)) TERN_TRY(add_float_tensor(w, tensor, *norm));
                    else TERN_TRY(add_ternary(w, tensor, *layer.projection(spec.role), format::GgmlType::kI2_S));
                }
            }
        }
    }
    return w;
}

}  // namespace tern::model
