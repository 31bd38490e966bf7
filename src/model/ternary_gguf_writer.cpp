#include "model/ternary_gguf_writer.h"

#include "core/str_cat.h"
#include "model/gguf_metadata.h"
#include "model/gguf_tensors.h"

namespace tern::model {

using format::GgmlType;

std::vector<size_t> interleaved_rope_rows(size_t heads, size_t head_dim) {
    std::vector<size_t> rows(heads * head_dim);
    const size_t half = head_dim / 2;
    for (size_t h = 0; h < heads; ++h)
        for (size_t i = 0; i < half; ++i)
            for (size_t j = 0; j < 2; ++j) rows[h * head_dim + 2 * i + j] = h * head_dim + i + j * half;
    return rows;
}

namespace {

// Rows for a projection: permuted where the file's rope pairing differs from the model's.
std::vector<size_t> row_order(const Model& model, TensorRole role) {
    if (model.rope == model.arch->gguf_rope || model.arch->gguf_rope != RopePairing::kNorm) return {};
    if (role == TensorRole::kAttnQ) return interleaved_rope_rows(model.hp.n_head, model.hp.head_dim);
    if (role == TensorRole::kAttnK) return interleaved_rope_rows(model.hp.n_head_kv, model.hp.head_dim);
    return {};
}

}  // namespace

Result<ModelGguf> ternary_model_gguf(const Model& model, const tokenizer::Vocabulary& vocab, std::string_view name,
                                     const ModelFileTypes& types) {
    if (model.arch->family != ModelFamily::kTernaryTransformer)
        return Error(str_cat("architecture '", model.arch->name, "' is not a ternary transformer"));
    if (model.rope != model.arch->gguf_rope && model.arch->gguf_rope == RopePairing::kNeox)
        return Error(str_cat("architecture '", model.arch->name, "': a model in interleaved rope order cannot be written"));
    const GgmlType head_type = types.head.value_or(model.output.type);
    const std::string_view arch = model.arch->gguf_names.front();
    const GgmlType projection_type = types.projections.value_or(GgmlType::kI2_S);
    ModelGguf file;
    file.description = str_cat(format::ggml_type_name(static_cast<uint32_t>(projection_type)), " projections, ",
                               model.tied_head ? "tied " : "", format::ggml_type_name(static_cast<uint32_t>(head_type)),
                               " head");
    format::GgufWriter& w = file.writer;
    write_hparams_metadata(w, arch, name, model.hp);
    write_vocabulary_metadata(w, vocab);
    for (const TensorSpec& spec : model.arch->tensors) {
        for (size_t l = 0; l < (spec.per_layer ? model.hp.n_layer : 1); ++l) {
            const std::string tensor = tensor_name(spec.gguf_name, l);
            switch (spec.role) {
                case TensorRole::kTokenEmbd:
                    TERN_TRY(add_float_matrix_as(w, tensor, model.token_embd,
                                                 model.tied_head ? head_type : model.token_embd.type));
                    break;
                case TensorRole::kOutput:
                    if (!model.tied_head) TERN_TRY(add_float_matrix_as(w, tensor, model.output, head_type));
                    break;
                case TensorRole::kOutputNorm: TERN_TRY(add_float_tensor(w, tensor, model.output_norm)); break;
                default: {
                    const LayerWeights& layer = model.layers[l];
                    if (const std::vector<float>* norm = layer.norm(spec.role)) {
                        TERN_TRY(add_float_tensor(w, tensor, *norm));
                        break;
                    }
                    const quant::PackedTernary& m = *layer.projection(spec.role);
                    TERN_ASSIGN_OR_RETURN(const TernaryEncoding encoding,
                                          add_ternary(w, tensor, m, projection_type, row_order(model, spec.role)));
                    file.rounded_multipliers += encoding.rounded_multipliers;
                }
            }
        }
    }
    return file;
}

}  // namespace tern::model
