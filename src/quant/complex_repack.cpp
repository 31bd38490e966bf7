#include "quant/complex_repack.h"

#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/str_cat.h"
#include "quant/phase_quant.h"

namespace tern::quant {

Result<PackedComplex> phase_quantize_matrix(std::span<const float> re, std::span<const float> im, size_t rows,
                                            size_t cols, float min_scale) {
    if (re.size() != rows * cols || im.size() != rows * cols)
        return Error(str_cat("complex matrix ", rows, "x", cols, " has ", re.size(), " real and ", im.size(),
                             " imaginary values"));
    Result<PhaseQuantized> q = phase_quantize(re, im, min_scale);
    if (!q.ok()) {
        // Name the weight by position rather than by flat index.
        for (size_t i = 0; i < re.size(); ++i)
            if (!std::isfinite(re[i]) || !std::isfinite(im[i]))
                return Error(str_cat("weight at row ", i / cols, " column ", i % cols, " is not finite (re ", re[i], ", im ", im[i], ")"));
        return q.error();
    }
    const std::vector<uint8_t>& codes = q.value().codes;
    return pack_complex(rows, cols, q.value().scale_re, q.value().scale_im, [&](size_t row, std::span<uint8_t> out) -> Status {
        std::memcpy(out.data(), codes.data() + row * cols, cols);
        return {};
    });
}

Result<std::vector<uint8_t>> decode_tern_c2(std::span<const std::byte> bytes, size_t rows, size_t cols) {
    if (cols % 4 != 0) return Error(str_cat("TERN_C2 rows of ", cols, " codes are not a multiple of 4"));
    if (bytes.size() != rows * cols / 4)
        return Error(str_cat("TERN_C2 data is ", bytes.size(), " bytes, expected ", rows * cols / 4, " for ", rows, "x",
                             cols));
    std::vector<uint8_t> codes(rows * cols);
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    for (size_t j = 0; j < bytes.size(); ++j)
        for (size_t i = 0; i < 4; ++i) codes[4 * j + i] = static_cast<uint8_t>((data[j] >> (2 * i)) & 3);
    return codes;
}

Result<PackedComplex> repack_tern_c2(std::span<const std::byte> bytes, size_t rows, size_t cols, float scale_re,
                                     float scale_im) {
    TERN_ASSIGN_OR_RETURN(const std::vector<uint8_t> codes, decode_tern_c2(bytes, rows, cols));
    return pack_complex(rows, cols, scale_re, scale_im, [&](size_t row, std::span<uint8_t> out) -> Status {
        std::memcpy(out.data(), codes.data() + row * cols, cols);
        return {};
    });
}

std::vector<uint8_t> encode_tern_c2(std::span<const uint8_t> codes, size_t rows, size_t cols) {
    TERN_CHECK(cols % 4 == 0 && codes.size() == rows * cols);
    std::vector<uint8_t> bytes(rows * cols / 4);
    for (size_t j = 0; j < bytes.size(); ++j)
        bytes[j] = static_cast<uint8_t>((codes[4 * j] & 3) | (codes[4 * j + 1] & 3) << 2 | (codes[4 * j + 2] & 3) << 4 |
                                        (codes[4 * j + 3] & 3) << 6);
    return bytes;
}

}  // namespace tern::quant
