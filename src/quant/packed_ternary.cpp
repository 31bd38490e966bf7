#include "quant/packed_ternary.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/str_cat.h"

namespace tern::quant {
namespace {

size_t code_offset(const PackedTernary& m, size_t row, size_t col, int& shift) {
    const size_t chunk = col / kChunkCols, in_chunk = col % kChunkCols;
    shift = static_cast<int>(2 * (in_chunk / 64));
    return (row / kRowTile) * m.tile_bytes() + chunk * kRowTile * kChunkBytes + (row % kRowTile) * kChunkBytes + in_chunk % 64;
}

}  // namespace

Result<PackedTernary> pack_ternary(size_t rows, size_t cols, const TernaryRowSource& source) {
    if (rows == 0 || cols == 0) return Error(str_cat("ternary matrix ", rows, "x", cols, " is empty"));
    if (cols > kMaxPackedCols) {
        return Error(str_cat("ternary matrix has ", cols, " columns; at most ", kMaxPackedCols, " keep int32 sums exact"));
    }
    PackedTernary m;
    m.rows = rows;
    m.cols = cols;
    m.rows_padded = (rows + kRowTile - 1) / kRowTile * kRowTile;
    m.cols_padded = (cols + kChunkCols - 1) / kChunkCols * kChunkCols;
    m.codes = AlignedBuffer<uint8_t>(m.rows_padded * m.cols_padded / 4);
    m.row_scale = AlignedBuffer<float>(m.rows_padded);
    std::memset(m.codes.data(), 0x55, m.codes.size());  // code 1 (weight 0) in all four slots

    std::vector<int8_t> values(m.cols_padded, 0);
    for (size_t row = 0; row < rows; ++row) {
        TERN_ASSIGN_OR_RETURN(const float scale, source(row, std::span(values).first(cols)));
        if (!std::isfinite(scale)) return Error(str_cat("row ", row, ": weight scale is ", scale));
        m.row_scale[row] = scale;
        for (size_t col = 0; col < cols; ++col) {
            if (values[col] < -1 || values[col] > 1) {
                return Error(str_cat("row ", row, " column ", col, ": value ", int{values[col]}, " is not ternary"));
            }
        }
        uint8_t* out = m.codes.data() + (row / kRowTile) * m.tile_bytes() + (row % kRowTile) * kChunkBytes;
        for (size_t chunk = 0; chunk < m.n_chunks(); ++chunk, out += kRowTile * kChunkBytes) {
            const int8_t* v = values.data() + chunk * kChunkCols;
            for (size_t b = 0; b < kChunkBytes; ++b) {
                out[b] = static_cast<uint8_t>((v[b] + 1) | (v[64 + b] + 1) << 2 | (v[128 + b] + 1) << 4 | (v[192 + b] + 1) << 6);
            }
        }
    }
    return m;
}

int packed_ternary_value(const PackedTernary& m, size_t row, size_t col) {
    TERN_CHECK(row < m.rows_padded && col < m.cols_padded);
    int shift;
    return ((m.codes[code_offset(m, row, col, shift)] >> shift) & 3) - 1;
}

}  // namespace tern::quant
