#include "model/model.h"

#include "core/str_cat.h"
#include "quant/block_formats.h"
#include "quant/dequantize.h"

namespace tern::model {

std::vector<float>* LayerWeights::norm(TensorRole role) {
    switch (role) {
        case TensorRole::kAttnNorm: return &attn_norm;
        case TensorRole::kAttnSubNorm: return &attn_sub_norm;
        case TensorRole::kFfnNorm: return &ffn_norm;
        case TensorRole::kFfnSubNorm: return &ffn_sub_norm;
        default: return nullptr;
    }
}

quant::PackedTernary* LayerWeights::projection(TensorRole role) {
    switch (role) {
        case TensorRole::kAttnQ: return &q;
        case TensorRole::kAttnK: return &k;
        case TensorRole::kAttnV: return &v;
        case TensorRole::kAttnOutput: return &o;
        case TensorRole::kFfnGate: return &gate;
        case TensorRole::kFfnUp: return &up;
        case TensorRole::kFfnDown: return &down;
        default: return nullptr;
    }
}

size_t Model::decode_weight_bytes() const {
    size_t bytes = output.bytes();
    for (const LayerWeights& w : layers)
        for (const quant::PackedTernary* m : {&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down})
            bytes += m->weight_bytes();
    return bytes;
}

Status convert_head_to_q8_0(Model& model) {
    FloatMatrix& head = model.output;
    if (head.type == format::GgmlType::kQ8_0) return {};
    if (head.cols % 32 != 0)
        return Error(str_cat("--head q8_0: rows of ", head.cols, " values are not a multiple of 32"));
    const size_t row_bytes = head.cols / 32 * 34;
    std::vector<std::byte> q8(head.rows * row_bytes);
    std::vector<float> row(head.cols);
    for (size_t r = 0; r < head.rows; ++r) {
        TERN_TRY(quant::dequantize(head.type, {head.row(r), head.row_bytes}, row));
        quant::quantize_row_q8_0(row.data(), q8.data() + r * row_bytes, head.cols);
    }
    FloatMatrix converted;
    converted.type = format::GgmlType::kQ8_0;
    converted.rows = head.rows;
    converted.cols = head.cols;
    converted.row_bytes = row_bytes;
    converted.owned_bytes = std::move(q8);
    converted.data = converted.owned_bytes.data();
    head = std::move(converted);
    model.tied_head = false;   // the head is now its own matrix
    return {};
}

}  // namespace tern::model
