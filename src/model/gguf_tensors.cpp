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
    if (b.rows == 0) return add_float_matrix_as(w, name, a, a.type);
    if (b.rows != a.rows) return Error(str_cat("tensor '", name, "': parts have ", a.rows, " and ", b.rows, " rows"));
    const size_t cols = a.cols + b.cols;
    if (a.type == b.type) {
        const size_t row_bytes = a.row_bytes + b.row_bytes;
        std::vector<std::byte> bytes(a.rows * row_bytes);
        for (size_t r = 0; r < a.rows; ++r) {
            std::memcpy(bytes.data() + r * row_bytes, a.row(r), a.row_bytes);
            std::memcpy(bytes.data() + r * row_bytes + a.row_bytes, b.row(r), b.row_bytes);
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

// Row `row`'s codes (w + 1) with its multiplier's sign folded in, as the files keep a scale >= 0.
float row_codes(const quant::PackedTernary& m, size_t row, std::vector<int8_t>& values, std::vector<uint8_t>& codes) {
    const float multiplier = m.row_scale.data()[row];
    quant::packed_ternary_row(m, row, values);
    for (size_t c = 0; c < m.cols; ++c) codes[c] = static_cast<uint8_t>((multiplier < 0 ? -values[c] : values[c]) + 1);
    return std::fabs(multiplier);
}

void encode_ternary(const quant::PackedTernary& m, GgmlType type, const std::vector<size_t>& row_order,
                    std::span<std::byte> dest) {
    std::vector<int8_t> values(m.cols);
    std::vector<uint8_t> codes(m.cols);
    const size_t row_bytes = type == GgmlType::kI2_S ? m.cols / 4 : ternary_bytes(type, 1, m.cols);
    float scale = 0;
    for (size_t r = 0; r < m.rows; ++r) {
        scale = row_codes(m, row_order.empty() ? r : row_order[r], values, codes);
        std::byte* out = dest.data() + r * row_bytes;
        if (type == GgmlType::kI2_S) {
            for (size_t g = 0; g < m.cols / quant::kI2sGroupElems; ++g)
                quant::i2_s_group_from_codes(codes.data() + g * quant::kI2sGroupElems, out + g * quant::kI2sGroupElems / 4);
        } else {
            // Each block's d is |multiplier| (as fp16): the values come back exactly up to that rounding.
            for (size_t b = 0; b < m.cols / quant::kTq2BlockElems; ++b) {
                if (type == GgmlType::kTQ2_0)
                    quant::tq2_0_block_from_codes(codes.data() + b * quant::kTq2BlockElems, scale, out + b * quant::kTq2BlockBytes);
                else
                    quant::tq1_0_block_from_codes(codes.data() + b * quant::kTq1BlockElems, scale, out + b * quant::kTq1BlockBytes);
            }
        }
    }
    if (type == GgmlType::kI2_S) {   // one scale for the tensor (check_ternary_encoding made sure), then padding
        std::byte* trailer = dest.data() + m.rows * row_bytes;
        std::memset(trailer, 0, quant::kI2sTrailerBytes);
        std::memcpy(trailer, &scale, sizeof scale);
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

Result<TernaryEncoding> add_ternary(format::GgufWriter& w, const std::string& name, const quant::PackedTernary& m,
                                    GgmlType type, std::vector<size_t> row_order) {
    TERN_ASSIGN_OR_RETURN(const TernaryEncoding encoding, check_ternary_encoding(m, type, name));
    TERN_TRY(w.add_tensor(name, type, std::vector<uint64_t>{m.cols, m.rows}, encoding.bytes,
                          [&m, type, order = std::move(row_order)](std::span<std::byte> dest) {
                              encode_ternary(m, type, order, dest);
                          }));
    return encoding;
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
