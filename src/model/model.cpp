#include "model/model.h"

#include "core/str_cat.h"
#include "quant/block_formats.h"
#include "quant/dequantize.h"

namespace tern::model {

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
