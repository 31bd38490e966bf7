#include "quant/ternary_repack.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/checked_math.h"
#include "core/float16.h"
#include "core/str_cat.h"
#include "quant/ternary_formats.h"

namespace tern::quant {
namespace {

using format::GgmlType;

Status check_code(uint8_t code, size_t row, size_t col) {
    if (code > 2) return Error(str_cat("row ", row, " column ", col, ": code 3 is not a ternary value"));
    return {};
}

// One row of a TQ1_0/TQ2_0 tensor: codes to values, and the row's common block scale.
Result<float> tq_row(GgmlType type, std::span<const std::byte> data, size_t row, size_t cols,
                     std::span<int8_t> values) {
    const bool tq2 = type == GgmlType::kTQ2_0;
    const size_t block_bytes = tq2 ? kTq2BlockBytes : kTq1BlockBytes;
    const size_t n_blocks = cols / 256;
    const std::byte* row_data = data.data() + row * n_blocks * block_bytes;
    uint8_t codes[256];
    float row_d = 0.0f;
    size_t row_d_block = 0;
    for (size_t b = 0; b < n_blocks; ++b) {
        const std::byte* block = row_data + b * block_bytes;
        if (tq2) tq2_0_block_codes(block, codes); else tq1_0_block_codes(block, codes);
        const float d = load_fp16(block + block_bytes - 2);
        uint8_t any_nonzero = 0, any_code_3 = 0;   // bytes, not bools: GCC vectorises these reductions
        for (size_t e = 0; e < 256; ++e) {
            any_code_3 |= static_cast<uint8_t>(codes[e] == 3);
            any_nonzero |= static_cast<uint8_t>(codes[e] ^ 1);
        }
        if (any_code_3) {
            for (size_t e = 0; e < 256; ++e) TERN_TRY(check_code(codes[e], row, b * 256 + e));
        }
        if (!std::isfinite(d)) return Error(str_cat("row ", row, " block ", b, ": scale d is ", d));
        const bool contributes = any_nonzero && d != 0.0f;
        for (size_t e = 0; e < 256; ++e) values[b * 256 + e] = contributes ? static_cast<int8_t>(codes[e] - 1) : 0;
        if (!contributes) continue;
        if (row_d == 0.0f) {
            row_d = d;
            row_d_block = b;
        } else if (d != row_d) {
            return Error(str_cat("row ", row, ": block ", row_d_block, " has scale ", row_d, " but block ", b, " has ",
                                 d, "; tern needs one ternary scale per row (a block-wise quantised float model?)"));
        }
    }
    return row_d;
}

Result<PackedTernary> repack_i2_s(std::span<const std::byte> data, size_t rows, size_t cols, float extra) {
    const size_t n = rows * cols;
    const float scale = i2_s_tensor_scale(data, n);
    if (!std::isfinite(scale) || scale < 0.0f) return Error(str_cat("I2_S tensor scale is ", scale));
    if (cols % kI2sGroupElems == 0) {
        // Every row is whole groups (all real models): decode straight from the bytes.
        return pack_ternary(rows, cols, [&](size_t row, std::span<int8_t> values) -> Result<float> {
            const uint8_t* bytes = reinterpret_cast<const uint8_t*>(data.data()) + row * (cols / 4);
            for (size_t col = 0; col < cols; col += kI2sGroupElems, bytes += kI2sGroupElems / 4) {
                uint8_t code_3 = 0;   // bit 2q of byte j: weight 32q + j has code 3
                for (size_t j = 0; j < kI2sGroupElems / 4; ++j) code_3 |= bytes[j] & (bytes[j] >> 1) & 0x55;
                if (code_3 != 0) {
                    uint8_t codes[kI2sGroupElems];
                    i2_s_group_codes(reinterpret_cast<const std::byte*>(bytes), codes);
                    for (size_t i = 0; i < kI2sGroupElems; ++i) TERN_TRY(check_code(codes[i], row, col + i));
                }
                for (size_t q = 0; q < 4; ++q)
                    for (size_t j = 0; j < kI2sGroupElems / 4; ++j)
                        values[col + 32 * q + j] = static_cast<int8_t>(((bytes[j] >> (6 - 2 * q)) & 3) - 1);
            }
            return scale * extra;
        });
    }
    uint8_t group_codes[kI2sGroupElems];
    size_t decoded_group = SIZE_MAX;
    return pack_ternary(rows, cols, [&](size_t row, std::span<int8_t> values) -> Result<float> {
        // Groups of 128 run over the flattened tensor, so a row may start inside one.
        for (size_t col = 0; col < cols;) {
            const size_t e = row * cols + col, group = e / kI2sGroupElems, offset = e % kI2sGroupElems;
            if (group != decoded_group) {
                i2_s_group_codes(data.data() + group * (kI2sGroupElems / 4), group_codes);
                decoded_group = group;
            }
            const size_t count = std::min(kI2sGroupElems - offset, cols - col);
            uint8_t any_code_3 = 0;
            for (size_t i = 0; i < count; ++i) {
                const uint8_t code = group_codes[offset + i];
                any_code_3 |= static_cast<uint8_t>(code == 3);
                values[col + i] = static_cast<int8_t>(code - 1);
            }
            if (any_code_3) {
                for (size_t i = 0; i < count; ++i) TERN_TRY(check_code(group_codes[offset + i], row, col + i));
            }
            col += count;
        }
        return scale * extra;
    });
}

}  // namespace

Result<PackedTernary> repack_ggml_ternary(GgmlType type, std::span<const std::byte> data, size_t rows, size_t cols,
                                          float extra_multiplier) {
    if (rows == 0 || cols == 0) return Error(str_cat("ternary tensor ", cols, "x", rows, " is empty"));
    if (!std::isfinite(extra_multiplier)) return Error(str_cat("tensor multiplier is ", extra_multiplier));
    const auto n = checked_mul(rows, cols);
    if (!n) return Error(str_cat("ternary tensor ", cols, "x", rows, " overflows"));
    size_t want_bytes = 0;
    switch (type) {
        case GgmlType::kTQ2_0:
        case GgmlType::kTQ1_0: {
            if (cols % 256 != 0) return Error(str_cat(format::ggml_type_name(static_cast<uint32_t>(type)), " rows of ", cols, " elements are not whole 256-element blocks"));
            want_bytes = *n / 256 * (type == GgmlType::kTQ2_0 ? kTq2BlockBytes : kTq1BlockBytes);
            break;
        }
        case GgmlType::kI2_S:
            if (*n % kI2sGroupElems != 0) return Error(str_cat("I2_S tensor of ", *n, " elements is not whole 128-element groups"));
            want_bytes = i2_s_tensor_bytes(*n);
            break;
        default:
            return Error(str_cat("type ", format::ggml_type_name(static_cast<uint32_t>(type)), " is not a ternary type (expected TQ1_0, TQ2_0 or I2_S)"));
    }
    if (data.size() != want_bytes) {
        return Error(str_cat(format::ggml_type_name(static_cast<uint32_t>(type)), " tensor ", cols, "x", rows, " needs ", want_bytes, " bytes, got ", data.size()));
    }
    if (type == GgmlType::kI2_S) return repack_i2_s(data, rows, cols, extra_multiplier);
    return pack_ternary(rows, cols, [&](size_t row, std::span<int8_t> values) -> Result<float> {
        TERN_ASSIGN_OR_RETURN(const float d, tq_row(type, data, row, cols, values));
        return d * extra_multiplier;
    });
}

Result<PackedTernary> repack_hf_packed(std::span<const uint8_t> packed, size_t rows, size_t cols, float multiplier) {
    if (!std::isfinite(multiplier)) return Error(str_cat("weight multiplier is ", multiplier));
    const size_t plane_rows = (rows + 3) / 4;
    const auto want = checked_mul(plane_rows, cols);
    if (!want || packed.size() != *want) {
        return Error(str_cat("packed uint8 weight for ", rows, "x", cols, " needs shape [", plane_rows, ", ", cols,
                             "] (", plane_rows * cols, " bytes), got ", packed.size(), " bytes"));
    }
    return pack_ternary(rows, cols, [&](size_t row, std::span<int8_t> values) -> Result<float> {
        const size_t plane = row / plane_rows;
        const uint8_t* src = packed.data() + (row % plane_rows) * cols;
        for (size_t col = 0; col < cols; ++col) {
            const uint8_t code = (src[col] >> (2 * plane)) & 3;
            TERN_TRY(check_code(code, row, col));
            values[col] = static_cast<int8_t>(code - 1);
        }
        return multiplier;
    });
}

Result<PackedTernary> pack_exact_ternary(std::span<const float> weights, size_t rows, size_t cols) {
    if (weights.size() != rows * cols) return Error(str_cat(weights.size(), " weights cannot fill ", rows, "x", cols));
    float scale = 0.0f;
    for (const float w : weights) {
        if (w != 0.0f) {
            scale = std::fabs(w);
            break;
        }
    }
    return pack_ternary(rows, cols, [&](size_t row, std::span<int8_t> values) -> Result<float> {
        const float* src = weights.data() + row * cols;
        for (size_t col = 0; col < cols; ++col) {
            const float w = src[col];
            if (w != 0.0f && std::fabs(w) != scale) {
                return Error(str_cat("row ", row, " column ", col, ": ", w, " is not 0 or +-", scale,
                                     " (not a ternary tensor with one scale)"));
            }
            values[col] = w == 0.0f ? 0 : (w > 0.0f ? 1 : -1);
        }
        return scale;
    });
}

namespace {

// mean |W| of a rows x cols matrix of finite weights: summed in double, rounded once to float.
Result<float> mean_abs(std::span<const float> weights, size_t rows, size_t cols) {
    if (weights.size() != rows * cols || weights.empty()) {
        return Error(str_cat(weights.size(), " weights cannot fill ", rows, "x", cols));
    }
    double abs_sum = 0.0;
    for (const float w : weights) {
        if (!std::isfinite(w)) return Error(str_cat("weight ", w, " is not finite"));
        abs_sum += std::fabs(w);
    }
    return static_cast<float>(abs_sum / static_cast<double>(weights.size()));
}

}  // namespace

Result<PackedTernary> ternarize_absmean(std::span<const float> weights, size_t rows, size_t cols) {
    TERN_ASSIGN_OR_RETURN(const float mean, mean_abs(weights, rows, cols));
    const float s = 1.0f / std::max(mean, 1e-5f);
    return pack_ternary(rows, cols, [&](size_t row, std::span<int8_t> values) -> Result<float> {
        const float* src = weights.data() + row * cols;
        for (size_t col = 0; col < cols; ++col) {
            values[col] = static_cast<int8_t>(std::clamp(std::lrint(src[col] * s), -1L, 1L));
        }
        return 1.0f / s;
    });
}

Result<PackedTernary> ternarize_threshold(std::span<const float> weights, size_t rows, size_t cols) {
    TERN_ASSIGN_OR_RETURN(const float mean, mean_abs(weights, rows, cols));
    const float half = 0.5f * mean;
    double kept_sum = 0.0;
    size_t kept = 0;
    for (const float w : weights)
        if (std::fabs(w) > half) kept_sum += std::fabs(w), ++kept;
    const float multiplier = kept != 0 ? static_cast<float>(kept_sum / static_cast<double>(kept)) : 2.0f * half;
    return pack_ternary(rows, cols, [&](size_t row, std::span<int8_t> values) -> Result<float> {
        const float* src = weights.data() + row * cols;
        for (size_t col = 0; col < cols; ++col) values[col] = static_cast<int8_t>(src[col] > half ? 1 : src[col] < -half ? -1 : 0);
        return multiplier;
    });
}

}  // namespace tern::quant
