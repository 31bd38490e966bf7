#include "quant/packed_ternary.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/str_cat.h"

namespace tern::quant {
namespace {

uint8_t* row_chunk(PackedTernary& m, size_t row, size_t chunk) {
    return m.codes.data() + (row / kRowTile) * m.tile_bytes() + chunk * kRowTile * kChunkBytes + (row % kRowTile) * kChunkBytes;
}

// The five codes of a base-3 byte, plane 0 first (packed_ternary.h).
int base3_code(uint8_t q, size_t plane) {
    uint8_t m = q;
    for (size_t i = 0; i < plane; ++i) m = static_cast<uint8_t>(m * 3);
    return (m * 3) >> 8;
}

uint8_t base3_byte(const int8_t* v, size_t b) {
    unsigned value = 0;
    for (size_t i = 0; i < 5; ++i) value = value * 3 + static_cast<unsigned>(v[64 * i + b] + 1);
    return static_cast<uint8_t>((value * 256 + 242) / 243);
}
// The index of the first value outside {-1, 0, +1}, or values.size(). The scan without an
// early exit vectorises; load time is mostly this kind of loop.
size_t first_non_ternary(std::span<const int8_t> values) {
    uint8_t any_bad = 0;
    for (const int8_t v : values) any_bad |= static_cast<uint8_t>(static_cast<uint8_t>(v + 1) > 2);
    if (!any_bad) return values.size();
    return static_cast<size_t>(std::find_if(values.begin(), values.end(), [](int8_t v) { return v < -1 || v > 1; }) -
                               values.begin());
}

const uint8_t* row_chunk(const PackedTernary& m, size_t row, size_t chunk) {
    return row_chunk(const_cast<PackedTernary&>(m), row, chunk);
}

int chunk_value(TernaryLayout layout, const uint8_t* bytes, size_t c) {
    if (layout == TernaryLayout::kCodes) return ((bytes[c % 64] >> (2 * (c / 64))) & 3) - 1;
    if (layout == TernaryLayout::kBase3) return base3_code(bytes[c % 64], c / 64) - 1;
    const int plus = (bytes[c / 8] >> (c % 8)) & 1, minus = (bytes[32 + c / 8] >> (c % 8)) & 1;
    return plus - minus;
}

void encode_chunk(TernaryLayout layout, const int8_t* v, uint8_t* out) {
    if (layout == TernaryLayout::kCodes) {
        for (size_t b = 0; b < kChunkBytes; ++b) {
            out[b] = static_cast<uint8_t>((v[b] + 1) | (v[64 + b] + 1) << 2 | (v[128 + b] + 1) << 4 | (v[192 + b] + 1) << 6);
        }
        return;
    }
    if (layout == TernaryLayout::kBase3) {
        for (size_t b = 0; b < kChunkBytes; ++b) out[b] = base3_byte(v, b);
        return;
    }
    std::memset(out, 0, kChunkBytes);
    for (size_t c = 0; c < kChunkCols; ++c) {
        if (v[c] > 0) out[c / 8] |= static_cast<uint8_t>(1 << (c % 8));
        if (v[c] < 0) out[32 + c / 8] |= static_cast<uint8_t>(1 << (c % 8));
    }
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
    m.codes = AlignedBuffer<uint8_t>(m.n_tiles() * m.tile_bytes());
    m.row_scale = AlignedBuffer<float>(m.rows_padded);
    std::memset(m.codes.data(), 0x55, m.codes.size());  // code 1 (weight 0) in all four slots

    std::vector<int8_t> values(m.cols_padded, 0);
    for (size_t row = 0; row < rows; ++row) {
        TERN_ASSIGN_OR_RETURN(const float scale, source(row, std::span(values).first(cols)));
        if (!std::isfinite(scale)) return Error(str_cat("row ", row, ": weight scale is ", scale));
        m.row_scale[row] = scale;
        if (const size_t col = first_non_ternary(std::span(values).first(cols)); col < cols) {
            return Error(str_cat("row ", row, " column ", col, ": value ", int{values[col]}, " is not ternary"));
        }
        for (size_t chunk = 0; chunk < m.n_chunks(); ++chunk) {
            encode_chunk(m.layout, values.data() + chunk * kChunkCols, row_chunk(m, row, chunk));
        }
    }
    return m;
}

namespace {

// The padding changes with the chunk width: decode each row whole and encode it afresh.
void convert_to_new_buffer(PackedTernary& m, TernaryLayout layout) {
    PackedTernary out;
    out.layout = layout;
    out.rows = m.rows;
    out.cols = m.cols;
    out.rows_padded = m.rows_padded;
    const size_t chunk_cols = layout_chunk_cols(layout);
    out.cols_padded = (m.cols + chunk_cols - 1) / chunk_cols * chunk_cols;
    out.codes = AlignedBuffer<uint8_t>(out.n_tiles() * out.tile_bytes());
    out.row_scale = std::move(m.row_scale);
    // Padding columns hold weight 0 in every layout, so each row overwrites [0, m.cols_padded)
    // and the columns past it stay 0.
    std::vector<int8_t> values(std::max(m.cols_padded, out.cols_padded), 0);
    for (size_t row = 0; row < m.rows_padded; ++row) {
        packed_ternary_row(m, row, std::span(values).first(m.cols_padded));
        for (size_t chunk = 0; chunk < out.n_chunks(); ++chunk)
            encode_chunk(layout, values.data() + chunk * chunk_cols, row_chunk(out, row, chunk));
    }
    m = std::move(out);
}

void fill_sign_planes_bias(PackedTernary& m) {
    m.sign_planes_bias = AlignedBuffer<uint32_t>(m.rows_padded);
    for (size_t row = 0; row < m.rows_padded; ++row) {
        uint32_t bias = 0;
        for (size_t chunk = 0; chunk < m.n_chunks(); ++chunk) {
            const uint8_t* planes = row_chunk(m, row, chunk);
            for (size_t b = 0; b < 32; ++b) {
                bias += 128u * static_cast<uint32_t>(std::popcount(planes[b]));
                bias += 127u * static_cast<uint32_t>(std::popcount(planes[32 + b]));
            }
        }
        m.sign_planes_bias[row] = bias;
    }
}

void convert_in_place(PackedTernary& m, TernaryLayout layout) {
    int8_t values[kChunkCols];
    for (size_t row = 0; row < m.rows_padded; ++row) {
        for (size_t chunk = 0; chunk < m.n_chunks(); ++chunk) {
            uint8_t* bytes = row_chunk(m, row, chunk);
            for (size_t c = 0; c < kChunkCols; ++c) values[c] = static_cast<int8_t>(chunk_value(m.layout, bytes, c));
            encode_chunk(layout, values, bytes);
        }
    }
    m.layout = layout;
}

}  // namespace

void convert_layout(PackedTernary& m, TernaryLayout layout) {
    if (m.layout == layout) return;
    if (m.chunk_cols() != layout_chunk_cols(layout)) {
        convert_to_new_buffer(m, layout);
    } else {
        convert_in_place(m, layout);
    }
    if (layout == TernaryLayout::kSignPlanes) {
        fill_sign_planes_bias(m);
    } else {
        m.sign_planes_bias = AlignedBuffer<uint32_t>();
    }
}

void packed_ternary_row(const PackedTernary& m, size_t row, std::span<int8_t> values) {
    TERN_CHECK(row < m.rows_padded && values.size() <= m.cols_padded);
    for (size_t chunk = 0; chunk * m.chunk_cols() < values.size(); ++chunk) {
        const uint8_t* bytes = row_chunk(m, row, chunk);
        const size_t end = std::min(m.chunk_cols(), values.size() - chunk * m.chunk_cols());
        for (size_t c = 0; c < end; ++c) values[chunk * m.chunk_cols() + c] = static_cast<int8_t>(chunk_value(m.layout, bytes, c));
    }
}

int packed_ternary_value(const PackedTernary& m, size_t row, size_t col) {
    TERN_CHECK(row < m.rows_padded && col < m.cols_padded);
    return chunk_value(m.layout, row_chunk(m, row, col / m.chunk_cols()), col % m.chunk_cols());
}

}  // namespace tern::quant
