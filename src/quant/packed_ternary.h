// tern's own in-memory layout for ternary weight matrices, built once at load from whatever
// the file holds (TQ2_0, TQ1_0, I2_S, HF packed uint8, float) and shaped for the kernels,
// not for any file format. Bit layout (docs/kernels.md):
//
//   rows are grouped in tiles of kRowTile = 4, columns in chunks of 256; the matrix is
//   [row tile][chunk][row in tile][64 bytes], so one thread streams one contiguous range.
//   Byte b of a 64-byte row chunk holds, in bits 2p..2p+1 (p = 0..3), the code w + 1 in
//   {0, 1, 2} of column 64p + b of that chunk.
//
// Shifting a 64-byte vector right by 2p and masking with 3 therefore yields 64 codes for
// 64 consecutive columns (a 32-byte half for AVX2), which lines up with contiguous int8
// activations (layout kCodes, for dot-product kernels).
//
// Layout kSignPlanes (for the multiplication-free kernel) keeps the same tiling and 64 bytes
// per row chunk, but as two bit planes: bit c of bytes 0..31 is set when column c of the
// chunk is +1, bit c of bytes 32..63 when it is -1. A 32-bit load from either plane is a
// ready-made mask for 32 consecutive columns.
//
// Layout kBase3 stores five weights per byte (1.6 bits per weight, as TQ1_0 does) in chunks of
// kBase3ChunkCols = 320 columns, still 64 bytes per row chunk: byte b holds the codes
// c_i = w + 1 of columns 64i + b (i = 0..4) as q = ceil(v * 256 / 243) with
// v = sum c_i * 3^(4 - i). Then c_i = floor(3 * (q * 3^i mod 256) / 256): byte-wise
// multiplies by 3 (two wrapping adds) walk through the planes, and plane i lines up with 64
// contiguous activations as in kCodes.
//
// Padding rows and columns hold weight 0 and scale 0 in every layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "core/aligned_buffer.h"
#include "tern/status.h"

namespace tern::quant {

inline constexpr size_t kRowTile = 4;
inline constexpr size_t kChunkCols = 256;
inline constexpr size_t kBase3ChunkCols = 320;
inline constexpr size_t kChunkBytes = 64;               // per row
inline constexpr size_t kMaxPackedCols = size_t{1} << 24;  // |sum| <= 128 * K stays below 2^31

enum class TernaryLayout { kCodes, kSignPlanes, kBase3 };

// Columns per 64-byte row chunk: the padding granule of the matrix and of its activations.
constexpr size_t layout_chunk_cols(TernaryLayout layout) { return layout == TernaryLayout::kBase3 ? kBase3ChunkCols : kChunkCols; }

struct PackedTernary {
    TernaryLayout layout = TernaryLayout::kCodes;
    size_t rows = 0;
    size_t cols = 0;
    size_t rows_padded = 0;   // multiple of kRowTile
    size_t cols_padded = 0;   // multiple of chunk_cols()
    AlignedBuffer<uint8_t> codes;      // rows_padded * n_chunks() * 64 bytes, layout above
    AlignedBuffer<float> row_scale;    // [rows_padded] weight multiplier m per row
    // kSignPlanes only, [rows_padded]: 128 * (count of +1) + 127 * (count of -1) in the row,
    // modulo 2^32. The multiplication-free kernel sums activations biased to unsigned bytes;
    // subtracting this leaves the exact dot product (ternary_matmul_avx512.cpp).
    AlignedBuffer<uint32_t> sign_planes_bias;

    size_t n_tiles() const { return rows_padded / kRowTile; }
    size_t chunk_cols() const { return layout_chunk_cols(layout); }
    size_t n_chunks() const { return cols_padded / chunk_cols(); }
    size_t tile_bytes() const { return kRowTile * n_chunks() * kChunkBytes; }
    const uint8_t* tile(size_t tile_idx) const { return codes.data() + tile_idx * tile_bytes(); }
    // Bytes a kernel streams for the whole matrix (codes, scales, bias).
    size_t weight_bytes() const { return codes.size_bytes() + row_scale.size_bytes() + sign_planes_bias.size_bytes(); }
};

// Fills `values` (cols entries, each -1, 0 or +1) for one row and returns that row's weight
// multiplier, or an error naming what is wrong in the source.
using TernaryRowSource = std::function<Result<float>(size_t row, std::span<int8_t> values)>;

// Calls `source` for rows 0..rows-1 in order. Errors: a zero or too large shape, a value
// outside {-1, 0, +1}, a non-finite scale, or whatever the source reports.
Result<PackedTernary> pack_ternary(size_t rows, size_t cols, const TernaryRowSource& source);

// Re-encodes the matrix in `layout`; values and scales are unchanged. Between kCodes and
// kSignPlanes in place; to or from kBase3 the column padding changes, so into a new buffer.
// Fills sign_planes_bias for kSignPlanes and empties it otherwise.
void convert_layout(PackedTernary& matrix, TernaryLayout layout);

// The first values.size() weights (at most cols_padded) of a row, each -1, 0 or +1.
void packed_ternary_row(const PackedTernary& matrix, size_t row, std::span<int8_t> values);

// The weight in {-1, 0, +1} at (row, col), in either layout; for tests and reference code.
int packed_ternary_value(const PackedTernary& matrix, size_t row, size_t col);

}  // namespace tern::quant
