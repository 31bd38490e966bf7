#include "model/gguf_tensors.h"

#include <cstring>

#include "core/str_cat.h"
#include "quant/dequantize.h"
#include "quant/ternary_formats.h"

namespace tern::model {

using format::GgmlType;

Status add_float_tensor(format::GgufWriter& w, const std::string& name, const std::vector<float>& values,
                        std::vector<uint64_t> dims) {
    if (dims.empty()) dims = {values.size()};
    std::vector<std::byte> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return w.add_tensor(name, GgmlType::kF32, dims, std::move(bytes));
}

Status add_float_matrix(format::GgufWriter& w, const std::string& name, const FloatMatrix& a, const FloatMatrix& b) {
    const bool two = b.rows != 0;
    if (two && b.rows != a.rows) return Error(str_cat("tensor '", name, "': parts have ", a.rows, " and ", b.rows, " rows"));
    const size_t cols = a.cols + (two ? b.cols : 0);
    if (!two || a.type == b.type) {
        const size_t row_bytes = a.row_bytes + (two ? b.row_bytes : 0);
        std::vector<std::byte> bytes(a.rows * row_bytes);
        for (size_t r = 0; r < a.rows; ++r) {
            std::memcpy(bytes.data() + r * row_bytes, a.row(r), a.row_bytes);
            if (two) std::memcpy(bytes.data() + r * row_bytes + a.row_bytes, b.row(r), b.row_bytes);
        }
        return w.add_tensor(name, a.type, std::vector<uint64_t>{cols, a.rows}, std::move(bytes));
    }
    std::vector<float> row(cols);
    std::vector<std::byte> bytes(a.rows * cols * sizeof(float));
    for (size_t r = 0; r < a.rows; ++r) {
        TERN_TRY(quant::dequantize(a.type, {a.row(r), a.row_bytes}, std::span(row).first(a.cols)));
        TERN_TRY(quant::dequantize(b.type, {b.row(r), b.row_bytes}, std::span(row).subspan(a.cols)));
        std::memcpy(bytes.data() + r * cols * sizeof(float), row.data(), cols * sizeof(float));
    }
    return w.add_tensor(name, GgmlType::kF32, std::vector<uint64_t>{cols, a.rows}, std::move(bytes));
}

Status add_ternary_i2_s(format::GgufWriter& w, const std::string& name, const quant::PackedTernary& m) {
    const size_t n = m.rows * m.cols;
    if (m.cols % quant::kI2sGroupElems != 0)
        return Error(str_cat("tensor '", name, "': I2_S needs rows of a multiple of ", quant::kI2sGroupElems,
                             " weights, got ", m.cols));
    const float multiplier = m.row_scale.data()[0];
    for (size_t r = 1; r < m.rows; ++r)
        if (m.row_scale.data()[r] != multiplier)
            return Error(str_cat("tensor '", name, "': row ", r, " has multiplier ", m.row_scale.data()[r], ", row 0 ",
                                 multiplier, " (I2_S holds one per tensor)"));
    std::vector<float> values(n);
    for (size_t r = 0; r < m.rows; ++r)
        for (size_t c = 0; c < m.cols; ++c)
            values[r * m.cols + c] = static_cast<float>(quant::packed_ternary_value(m, r, c)) * multiplier;
    std::vector<std::byte> bytes(quant::i2_s_tensor_bytes(n));
    quant::quantize_i2_s(values, bytes);   // its scale is max |w| = the multiplier (0 if every weight is 0)
    return w.add_tensor(name, GgmlType::kI2_S, std::vector<uint64_t>{m.cols, m.rows}, std::move(bytes));
}

std::string scale_tensor_name(const std::string& weight_name) {
    return weight_name.substr(0, weight_name.size() - std::string_view(".weight").size()) + ".scale";
}

}  // namespace tern::model
