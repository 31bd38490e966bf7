// Fairy2i's widely-linear layers (complex-and-recurrent.md §1.3-1.4): a real matrix A of
// 2n x 2m read as complex, y = U x + W conj(x), with U and W PhaseQuant-ed in one stage (W1)
// or two (W2: the second stage quantises the residual). The codes of all 2 * stages
// matrices (U1, W1, U2, W2) of a row chunk sit side by side, so one pass over the row reads
// every code of that row once (FairyFuse's fusion).
//
// Split, in float32 as the reference computes it (A11 = A[:n, :m], A12 = A[:n, m:],
// A21 = A[n:, :m], A22 = A[n:, m:]):
//   Re U = 0.5 * (A11 + A22)   Im U = 0.5 * (A21 - A12)
//   Re W = 0.5 * (A11 - A22)   Im W = 0.5 * (A12 + A21)
// Stage 2 quantises (Re U - s_re * P1, Im U - s_im * Q1) and the same for W.
//
// Layout: rows (complex outputs) in tiles of kRowTile, columns (complex inputs) in chunks of
// 256, [row tile][chunk][row in tile][matrix][64 bytes], each 64-byte block coded as
// PackedComplex's row chunks (packed_complex.h). Padding holds code 0 (+1) against zero
// activations, so it adds nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/aligned_buffer.h"
#include "quant/packed_ternary.h"
#include "tern/status.h"

namespace tern::quant {

inline constexpr size_t kMaxWidelyLinearMatrices = 4;   // U1, W1, U2, W2

struct PackedWidelyLinear {
    size_t rows = 0;          // n: complex outputs (2n real outputs: [Re | Im])
    size_t cols = 0;          // m: complex inputs (2m real inputs: [x_re | x_im])
    size_t rows_padded = 0;
    size_t cols_padded = 0;   // multiple of kChunkCols
    size_t n_matrices = 0;    // 2 * stages: U1, W1 (, U2, W2)
    float scale_re[kMaxWidelyLinearMatrices] = {};
    float scale_im[kMaxWidelyLinearMatrices] = {};
    AlignedBuffer<uint8_t> codes;

    size_t stages() const { return n_matrices / 2; }
    size_t n_tiles() const { return rows_padded / kRowTile; }
    size_t n_chunks() const { return cols_padded / kChunkCols; }
    size_t row_chunk_bytes() const { return n_matrices * kChunkBytes; }
    size_t tile_bytes() const { return kRowTile * n_chunks() * row_chunk_bytes(); }
    const uint8_t* tile(size_t tile_idx) const { return codes.data() + tile_idx * tile_bytes(); }
    size_t weight_bytes() const { return codes.size_bytes(); }
};

// Code (0..3, ComplexUnit) of matrix `matrix` at (row, col); for tests and reference code.
uint8_t widely_linear_code(const PackedWidelyLinear& m, size_t matrix, size_t row, size_t col);

// PhaseQuant of a real [2n][2m] row-major matrix as Fairy2i's complex_phase_v1 (stages 1) or
// v2 (stages 2), scales floored at 1e-6. Errors: an odd dimension, stages not 1 or 2, a
// non-finite weight (named by row and column of A).
Result<PackedWidelyLinear> fairy2i_quantize(std::span<const float> a, size_t out_rows, size_t in_cols, size_t stages);

// Builds the packed matrix from codes already computed: codes[j] holds matrix j's n x m
// codes row-major. Errors: shapes, a code above 3, a scale not finite and positive.
Result<PackedWidelyLinear> pack_widely_linear(size_t rows, size_t cols, std::span<const std::span<const uint8_t>> codes,
                                              std::span<const float> scale_re, std::span<const float> scale_im);

}  // namespace tern::quant
