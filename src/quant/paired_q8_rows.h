// tern's in-memory layout for a Q8_0 matrix (the LM head as `--head q8_0` makes it, or a Q8_0
// head read from a file), regrouped at load for the head kernels. Values and scales are the
// Q8_0 rows' own, bit for bit; only their places change.
//
//   rows go in pairs (2p, 2p + 1); quants are [pair][block][64 bytes]: row 2p's 32 quants of
//   block b, then row 2p + 1's; the fp16 scales are apart, [pair][block][2].
//
// In the file's layout a 34-byte block straddles cache lines and a 512-bit load of two rows'
// blocks needs two masked loads; here each block pair is one aligned 64-byte line, and one
// 32-bit load gives both rows' scales. An odd last row is paired with a row of zeros (scale 0)
// whose results the kernels never write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "core/aligned_buffer.h"
#include "tern/status.h"

namespace tern::quant {

inline constexpr size_t kPairedQ8BlockElems = 32;
inline constexpr size_t kPairedQ8LineBytes = 64;   // one block of both rows of a pair

struct PairedQ8Rows {
    size_t rows = 0;
    size_t cols = 0;                 // a multiple of 32
    AlignedBuffer<int8_t> quants;    // n_pairs() * blocks_per_row() * 64
    AlignedBuffer<uint16_t> scales;  // n_pairs() * blocks_per_row() * 2, fp16 bits

    size_t blocks_per_row() const { return cols / kPairedQ8BlockElems; }
    size_t n_pairs() const { return (rows + 1) / 2; }
    const int8_t* pair_quants(size_t pair) const { return quants.data() + pair * blocks_per_row() * kPairedQ8LineBytes; }
    const uint16_t* pair_scales(size_t pair) const { return scales.data() + pair * blocks_per_row() * 2; }
    // Where row `row`'s block 0 starts; its block b is kPairedQ8LineBytes (quants) or 2
    // (scales) further.
    size_t row_quants_offset(size_t row) const { return row / 2 * blocks_per_row() * kPairedQ8LineBytes + row % 2 * kPairedQ8BlockElems; }
    size_t row_scales_offset(size_t row) const { return row / 2 * blocks_per_row() * 2 + row % 2; }
    const int8_t* row_quants(size_t row) const { return quants.data() + row_quants_offset(row); }
    const uint16_t* row_scales(size_t row) const { return scales.data() + row_scales_offset(row); }
    // Bytes a kernel streams for the whole matrix (quants plus scales).
    size_t bytes() const { return quants.size_bytes() + scales.size_bytes(); }
};

// Writes row `row`'s Q8_0 blocks (cols / 32 blocks of 34 bytes) into `blocks`.
using Q8RowSource = std::function<Status(size_t row, std::span<std::byte> blocks)>;

// Calls `source` once for each row, from `threads` threads at once (so it must be safe to
// call concurrently for different rows). Errors: zero rows, cols not a positive multiple of
// 32, or what the source reports for the lowest failing row.
Result<PairedQ8Rows> pair_q8_0_rows(size_t rows, size_t cols, const Q8RowSource& source, int threads = 1);

// Row `row`'s Q8_0 blocks back in the file layout; for tests and reference code.
void unpair_q8_0_row(const PairedQ8Rows& matrix, size_t row, std::span<std::byte> blocks);

}  // namespace tern::quant
