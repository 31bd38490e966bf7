#include "model/complex_gguf_writer.h"

#include <cstring>
#include <vector>

#include "core/str_cat.h"
#include "model/gguf_metadata.h"
#include "model/gguf_tensors.h"
#include "quant/complex_repack.h"

namespace tern::model {
namespace {

using format::GgmlType;

Status add_complex(format::GgufWriter& w, const std::string& name, const quant::PackedComplex& m) {
    std::vector<uint8_t> codes(m.rows * m.cols);
    for (size_t r = 0; r < m.rows; ++r)
        for (size_t c = 0; c < m.cols; ++c) codes[r * m.cols + c] = quant::packed_complex_code(m, r, c);
    const std::vector<uint8_t> encoded = quant::encode_tern_c2(codes, m.rows, m.cols);
    std::vector<std::byte> bytes(encoded.size());
    std::memcpy(bytes.data(), encoded.data(), encoded.size());
    TERN_TRY(w.add_tensor(name, GgmlType::kTernC2, std::vector<uint64_t>{m.cols, m.rows}, std::move(bytes)));
    return add_float_tensor(w, scale_tensor_name(name), {m.scale_re, m.scale_im});
}

// Fairy2i: matrices j = 0.. stacked by rows, [m, n * matrices], and their scale pairs.
Status add_widely_linear(format::GgufWriter& w, const std::string& name, const quant::PackedWidelyLinear& m) {
    if (m.cols % 4 != 0) return Error(str_cat("tensor '", name, "': TERN_C2 needs rows of a multiple of 4, got ", m.cols));
    std::vector<std::byte> bytes;
    std::vector<float> scales;
    for (size_t j = 0; j < m.n_matrices; ++j) {
        std::vector<uint8_t> codes(m.rows * m.cols);
        for (size_t r = 0; r < m.rows; ++r)
            for (size_t c = 0; c < m.cols; ++c) codes[r * m.cols + c] = quant::widely_linear_code(m, j, r, c);
        const std::vector<uint8_t> encoded = quant::encode_tern_c2(codes, m.rows, m.cols);
        const auto* p = reinterpret_cast<const std::byte*>(encoded.data());
        bytes.insert(bytes.end(), p, p + encoded.size());
        scales.push_back(m.scale_re[j]);
        scales.push_back(m.scale_im[j]);
    }
    TERN_TRY(w.add_tensor(name, GgmlType::kTernC2, std::vector<uint64_t>{m.cols, m.rows * m.n_matrices}, std::move(bytes)));
    return add_float_tensor(w, scale_tensor_name(name), scales);
}

Result<format::GgufWriter> widely_linear_model_gguf(const Model& model, const tokenizer::Vocabulary& vocab,
                                                    std::string_view name) {
    format::GgufWriter w;
    write_hparams_metadata(w, "fairy2i", name, model.hp);
    (void)w.add_metadata("fairy2i.phasequant_stages",
                         format::GgufValue::u32(static_cast<uint32_t>(model.output_widely_linear.stages())));
    write_vocabulary_metadata(w, vocab);
    for (const TensorSpec& spec : model.arch->tensors) {
        for (size_t l = 0; l < (spec.per_layer ? model.hp.n_layer : 1); ++l) {
            const std::string tensor = tensor_name(spec.gguf_name, l);
            switch (spec.role) {
                case TensorRole::kTokenEmbd: TERN_TRY(add_float_matrix(w, tensor, model.token_embd)); break;
                case TensorRole::kOutput: TERN_TRY(add_widely_linear(w, tensor, model.output_widely_linear)); break;
                case TensorRole::kOutputNorm: TERN_TRY(add_float_tensor(w, tensor, model.output_norm)); break;
                default: {
                    const LayerWeights& layer = model.layers[l];
                    if (const std::vector<float>* norm = layer.norm(spec.role)) TERN_TRY(add_float_tensor(w, tensor, *norm));
                    else TERN_TRY(add_widely_linear(w, tensor, *layer.widely_linear_projection(spec.role)));
                }
            }
        }
    }
    return w;
}

}  // namespace

Result<format::GgufWriter> complex_model_gguf(const Model& model, const tokenizer::Vocabulary& vocab,
                                              std::string_view name) {
    if (model.widely_linear()) return widely_linear_model_gguf(model, vocab, name);
    if (!model.complex()) return Error(str_cat("architecture '", model.arch->name, "' is not a complex model"));
    if (model.hp.n_embd % 4 != 0 || model.hp.n_ff % 4 != 0 || model.hp.q_dim() % 4 != 0)
        return Error(str_cat("TERN_C2 needs widths that are multiples of 4 (n_embd ", model.hp.n_embd, ", n_ff ",
                             model.hp.n_ff, ")"));
    format::GgufWriter w;
    write_hparams_metadata(w, "ifairy", name, model.hp);
    write_vocabulary_metadata(w, vocab);
    const Architecture& arch = *model.arch;
    for (const TensorSpec& spec : arch.tensors) {
        for (size_t l = 0; l < (spec.per_layer ? model.hp.n_layer : 1); ++l) {
            const std::string tensor = tensor_name(spec.gguf_name, l);
            switch (spec.role) {
                case TensorRole::kTokenEmbd: TERN_TRY(add_float_matrix(w, tensor, model.token_embd, model.token_embd_imag)); break;
                case TensorRole::kOutput: TERN_TRY(add_float_matrix(w, tensor, model.output)); break;
                case TensorRole::kOutputNorm: TERN_TRY(add_float_tensor(w, tensor, model.output_norm)); break;
                default: {
                    const LayerWeights& layer = model.layers[l];
                    if (const std::vector<float>* norm = layer.norm(spec.role)) TERN_TRY(add_float_tensor(w, tensor, *norm));
                    else TERN_TRY(add_complex(w, tensor, *layer.complex_projection(spec.role)));
                }
            }
        }
    }
    return w;
}

}  // namespace tern::model
