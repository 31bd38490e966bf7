#include "quant/packed_complex.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"
#include "core/str_cat.h"

namespace tern::quant {
namespace {

uint8_t* row_chunk(PackedComplex& m, size_t row, size_t chunk) {
    return m.codes.data() + (row / kRowTile) * m.tile_bytes() + chunk * kRowTile * kChunkBytes +
           (row % kRowTile) * kChunkBytes;
}

const uint8_t* row_chunk(const PackedComplex& m, size_t row, size_t chunk) {
    return row_chunk(const_cast<PackedComplex&>(m), row, chunk);
}

void encode_chunk(const uint8_t* codes, uint8_t* out) {
    for (size_t b = 0; b < kChunkBytes; ++b)
        out[b] = static_cast<uint8_t>(codes[b] | codes[64 + b] << 2 | codes[128 + b] << 4 | codes[192 + b] << 6);
}

// 128 * n(+1) + 127 * n(-1) and 128 * n(+i) + 127 * n(-i) over a padded row's codes.
void set_sign_bias(PackedComplex& m, size_t row, std::span<const uint8_t> codes) {
    uint32_t count[4] = {};
    for (const uint8_t c : codes) ++count[c & 3];
    m.sign_bias[2 * row] = 128u * count[0] + 127u * count[2];
    m.sign_bias[2 * row + 1] = 128u * count[1] + 127u * count[3];
}

}  // namespace

Result<PackedComplex> pack_complex(size_t rows, size_t cols, float scale_re, float scale_im,
                                   const ComplexRowSource& source) {
    if (rows == 0 || cols == 0) return Error(str_cat("complex matrix ", rows, "x", cols, " is empty"));
    if (cols > kMaxPackedCols)
        return Error(str_cat("complex matrix has ", cols, " columns; at most ", kMaxPackedCols, " keep int32 sums exact"));
    for (const float s : {scale_re, scale_im})
        if (!std::isfinite(s) || s <= 0.0f) return Error(str_cat("complex matrix scale is ", s, ", not finite and positive"));
    PackedComplex m;
    m.rows = rows;
    m.cols = cols;
    m.rows_padded = (rows + kRowTile - 1) / kRowTile * kRowTile;
    m.cols_padded = (cols + kChunkCols - 1) / kChunkCols * kChunkCols;
    m.scale_re = scale_re;
    m.scale_im = scale_im;
    m.codes = AlignedBuffer<uint8_t>(m.n_tiles() * m.tile_bytes());   // zero: code +1 everywhere
    m.sign_bias = AlignedBuffer<uint32_t>(2 * m.rows_padded);
    std::vector<uint8_t> codes(m.cols_padded, 0);
    for (size_t row = 0; row < rows; ++row) {
        TERN_TRY(source(row, std::span(codes).first(cols)));
        uint8_t any_bad = 0;
        for (size_t c = 0; c < cols; ++c) any_bad |= static_cast<uint8_t>(codes[c] > 3);
        if (any_bad) {
            for (size_t c = 0; c < cols; ++c)
                if (codes[c] > 3) return Error(str_cat("row ", row, " column ", c, ": code ", int{codes[c]}, " is not 0..3"));
        }
        for (size_t chunk = 0; chunk < m.n_chunks(); ++chunk)
            encode_chunk(codes.data() + chunk * kChunkCols, row_chunk(m, row, chunk));
        set_sign_bias(m, row, codes);
    }
    std::fill(codes.begin(), codes.end(), uint8_t{0});
    for (size_t row = rows; row < m.rows_padded; ++row) set_sign_bias(m, row, codes);
    return m;
}

uint8_t packed_complex_code(const PackedComplex& m, size_t row, size_t col) {
    TERN_CHECK(row < m.rows_padded && col < m.cols_padded);
    const uint8_t* bytes = row_chunk(m, row, col / kChunkCols);
    const size_t c = col % kChunkCols;
    return static_cast<uint8_t>((bytes[c % 64] >> (2 * (c / 64))) & 3);
}

}  // namespace tern::quant
