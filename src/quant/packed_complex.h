// Complex weight matrices whose every entry is a scale times one of the four units
// {+1, +i, -1, -i} (iFairy's and Fairy2i's PhaseQuant codes), packed for the kernels.
//
// A weight's 2-bit code is axis | sign << 1 (axis 1: imaginary, sign 1: negative), so
//   +1 -> 0,  +i -> 1,  -1 -> 2,  -i -> 3.
// Writing the matrix as W = s_re * P + i * s_im * Q with P, Q in {-1, 0, +1} (disjoint
// supports), the code says which of P and Q is non-zero and its sign.
//
// Layout: as kCodes ternary (packed_ternary.h): rows in tiles of kRowTile = 4, columns in
// chunks of 256, [row tile][chunk][row in tile][64 bytes], and byte b of a 64-byte row chunk
// holds in bits 2p..2p+1 (p = 0..3) the code of column 64p + b of the chunk. Shifting a vector
// of row-chunk bytes right by 2p and masking with 3 yields the codes of 64 (or 32)
// consecutive columns, which a byte shuffle turns into P + 1 and Q + 1 in {0, 1, 2}.
//
// Padding rows and columns hold code 0 (+1); padding activations are 0, so padding columns
// add nothing, and padding rows are never written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "core/aligned_buffer.h"
#include "quant/packed_ternary.h"
#include "tern/status.h"

namespace tern::quant {

enum class ComplexUnit : uint8_t { kPlusOne = 0, kPlusI = 1, kMinusOne = 2, kMinusI = 3 };

struct PackedComplex {
    size_t rows = 0;          // complex output rows
    size_t cols = 0;          // complex input columns
    size_t rows_padded = 0;   // multiple of kRowTile
    size_t cols_padded = 0;   // multiple of kChunkCols
    float scale_re = 0.0f;    // s_re: the magnitude of the real-axis weights
    float scale_im = 0.0f;    // s_im: the magnitude of the imaginary-axis weights
    AlignedBuffer<uint8_t> codes;   // rows_padded * n_chunks() * 64 bytes, layout above
    // [rows_padded][2], for the multiplication-free kernel (complex_matmul.h): over all
    // cols_padded columns of the row, 128 * n(+1) + 127 * n(-1), then 128 * n(+i) + 127 * n(-i).
    AlignedBuffer<uint32_t> sign_bias;

    size_t n_tiles() const { return rows_padded / kRowTile; }
    size_t n_chunks() const { return cols_padded / kChunkCols; }
    size_t tile_bytes() const { return kRowTile * n_chunks() * kChunkBytes; }
    const uint8_t* tile(size_t tile_idx) const { return codes.data() + tile_idx * tile_bytes(); }
    // Bytes a kernel streams for the whole matrix.
    size_t weight_bytes() const { return codes.size_bytes() + sign_bias.size_bytes(); }
};

// Fills `codes` (cols entries, each a ComplexUnit value 0..3) for one row.
using ComplexRowSource = std::function<Status(size_t row, std::span<uint8_t> codes)>;

// Calls `source` for rows 0..rows-1 in order. Errors: a zero or too large shape, a code
// above 3, a scale that is not finite and positive, or whatever the source reports.
Result<PackedComplex> pack_complex(size_t rows, size_t cols, float scale_re, float scale_im,
                                   const ComplexRowSource& source);

// The code (0..3) at (row, col); for tests and reference code.
uint8_t packed_complex_code(const PackedComplex& matrix, size_t row, size_t col);

// P and Q of a code: the real and imaginary unit factors in {-1, 0, +1}.
constexpr int complex_code_re(uint8_t code) { return (code & 1) ? 0 : ((code & 2) ? -1 : 1); }
constexpr int complex_code_im(uint8_t code) { return (code & 1) ? ((code & 2) ? -1 : 1) : 0; }

}  // namespace tern::quant
