#include "model/gguf_tensors.h"

#include <cmath>
#include <cstring>

#include "core/float16.h"
#include "core/str_cat.h"
#include "quant/block_formats.h"
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

namespace {

uint64_t ternary_bytes(GgmlType type, size_t rows, size_t cols) {
    switch (type) {
        case GgmlType::kI2_S: return quant::i2_s_tensor_bytes(rows * cols);
        case GgmlType::kTQ2_0: return rows * (cols / quant::kTq2BlockElems) * quant::kTq2BlockBytes;
        default: return rows * (cols / quant::kTq1BlockElems) * quant::kTq1BlockBytes;
    }
}

// Row `row` of m as floats: its ternary values times its multiplier.
void ternary_row(const quant::PackedTernary& m, size_t row, float* out) {
    const float multiplier = m.row_scale.data()[row];
    for (size_t c = 0; c < m.cols; ++c) out[c] = static_cast<float>(quant::packed_ternary_value(m, row, c)) * multiplier;
}

void encode_ternary(const quant::PackedTernary& m, GgmlType type, const std::vector<size_t>& row_order,
                    std::span<std::byte> dest) {
    const auto source_row = [&](size_t r) { return row_order.empty() ? r : row_order[r]; };
    if (type == GgmlType::kI2_S) {
        // Its scale is max |w|: the multiplier (0 if every weight is 0).
        std::vector<float> values(m.rows * m.cols);
        for (size_t r = 0; r < m.rows; ++r) ternary_row(m, source_row(r), values.data() + r * m.cols);
        quant::quantize_i2_s(values, dest);
        return;
    }
    const size_t row_bytes = ternary_bytes(type, 1, m.cols);
    std::vector<float> row(m.cols);
    for (size_t r = 0; r < m.rows; ++r) {
        ternary_row(m, source_row(r), row.data());
        // Each block's d is max |w| = |multiplier|, so codes and values come back exactly up to d's fp16.
        if (type == GgmlType::kTQ2_0) quant::quantize_row_tq2_0(row.data(), dest.data() + r * row_bytes, m.cols);
        else quant::quantize_row_tq1_0(row.data(), dest.data() + r * row_bytes, m.cols);
    }
}

}  // namespace

Result<TernaryEncoding> check_ternary_encoding(const quant::PackedTernary& m, GgmlType type, const std::string& name) {
    if (type != GgmlType::kI2_S && type != GgmlType::kTQ2_0 && type != GgmlType::kTQ1_0)
        return Error(str_cat("tensor '", name, "': ", format::ggml_type_name(static_cast<uint32_t>(type)),
                             " is not a ternary type tern writes (I2_S, TQ2_0, TQ1_0)"));
    const size_t block = type == GgmlType::kI2_S ? quant::kI2sGroupElems : quant::kTq2BlockElems;
    if (m.cols % block != 0)
        return Error(str_cat("tensor '", name, "': ", format::ggml_type_name(static_cast<uint32_t>(type)),
                             " needs rows of a multiple of ", block, " weights, got ", m.cols));
    TernaryEncoding encoding{.bytes = ternary_bytes(type, m.rows, m.cols), .rounded_multipliers = 0};
    const float first = m.row_scale.data()[0];
    for (size_t r = 0; r < m.rows; ++r) {
        const float multiplier = m.row_scale.data()[r];
        if (type == GgmlType::kI2_S && multiplier != first)
            return Error(str_cat("tensor '", name, "': row ", r, " has multiplier ", multiplier, ", row 0 ", first,
                                 " (I2_S holds one per tensor; TQ2_0 and TQ1_0 hold one per row)"));
        if (type != GgmlType::kI2_S && fp16_to_fp32(fp32_to_fp16(std::fabs(multiplier))) != std::fabs(multiplier))
            ++encoding.rounded_multipliers;
    }
    return encoding;
}

Status add_ternary(format::GgufWriter& w, const std::string& name, const quant::PackedTernary& m, GgmlType type,
                   std::vector<size_t> row_order) {
    TERN_ASSIGN_OR_RETURN(const TernaryEncoding encoding, check_ternary_encoding(m, type, name));
    return w.add_tensor(name, type, std::vector<uint64_t>{m.cols, m.rows}, encoding.bytes,
                        [&m, type, order = std::move(row_order)](std::span<std::byte> dest) {
                            encode_ternary(m, type, order, dest);
                        });
}

Status add_float_matrix_as(format::GgufWriter& w, const std::string& name, const FloatMatrix& m, GgmlType type) {
    const std::vector<uint64_t> dims{m.cols, m.rows};
    if (type == m.type) return w.add_tensor(name, type, dims, std::span<const std::byte>(m.data, m.bytes()));
    size_t row_bytes = 0;
    switch (type) {
        case GgmlType::kF32: row_bytes = m.cols * 4; break;
        case GgmlType::kF16:
        case GgmlType::kBF16: row_bytes = m.cols * 2; break;
        case GgmlType::kQ8_0:
            if (m.cols % quant::kQ8_0BlockElems != 0)
                return Error(str_cat("tensor '", name, "': Q8_0 needs rows of a multiple of 32 values, got ", m.cols));
            row_bytes = m.cols / quant::kQ8_0BlockElems * quant::kQ8_0BlockBytes;
            break;
        default:
            return Error(str_cat("tensor '", name, "': ", format::ggml_type_name(static_cast<uint32_t>(type)),
                                 " is not a type tern writes float matrices in (F32, F16, BF16, Q8_0)"));
    }
    // Validated here, since the filler cannot fail: every row of the source decodes.
    std::vector<float> probe(m.cols);
    TERN_TRY(quant::dequantize(m.type, {m.row(0), m.row_bytes}, probe));
    return w.add_tensor(name, type, dims, m.rows * row_bytes, [&m, type, row_bytes](std::span<std::byte> dest) {
        std::vector<float> row(m.cols);
        for (size_t r = 0; r < m.rows; ++r) {
            (void)quant::dequantize(m.type, {m.row(r), m.row_bytes}, row);
            std::byte* out = dest.data() + r * row_bytes;
            switch (type) {
                case GgmlType::kF32: std::memcpy(out, row.data(), row_bytes); break;
                case GgmlType::kQ8_0: quant::quantize_row_q8_0(row.data(), out, m.cols); break;
                default:
                    for (size_t c = 0; c < m.cols; ++c) {
                        const uint16_t bits = type == GgmlType::kF16 ? fp32_to_fp16(row[c]) : fp32_to_bf16(row[c]);
                        std::memcpy(out + 2 * c, &bits, 2);
                    }
            }
        }
    });
}

std::string scale_tensor_name(const std::string& weight_name) {
    return weight_name.substr(0, weight_name.size() - std::string_view(".weight").size()) + ".scale";
}

}  // namespace tern::model
