// tern's in-memory layout for a block-quantised LM head (Q8_0, or Q4_0 with `--head q4_0`, as
// converted at load or read from a file), regrouped at load for the head kernels. Values and
// scales are the rows' own, bit for bit; only their places change.
//
//   rows go in pairs (2p, 2p + 1); quants are [pair][block][line]: row 2p's quants of block b,
//   then row 2p + 1's (Q8_0: 32 int8, a 64-byte line; Q4_0: ggml's 16 bytes of nibbles, byte j
//   holding element j low and element j + 16 high, a 32-byte line); the fp16 scales are apart,
//   [pair][block][2].
//
// In the file's layout a block straddles cache lines (34 or 18 bytes) and a 512-bit load of
// two rows' blocks needs two masked loads; here each block pair is one aligned line, and one
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
inline constexpr size_t kPairedQ8LineBytes = 64;   // one Q8_0 block of both rows of a pair
inline constexpr size_t kPairedQ4LineBytes = 32;   // one Q4_0 block of both rows of a pair

// Quant: how a row's block stores its 32 values; QuantBytes: bytes of one row's block.
template <class Quant, size_t QuantBytes>
struct PairedBlockRows {
    static constexpr size_t kBlockElems = 32;
    static constexpr size_t kLineBytes = 2 * QuantBytes;

    size_t rows = 0;
    size_t cols = 0;                 // a multiple of 32
    AlignedBuffer<Quant> quants;     // n_pairs() * blocks_per_row() * kLineBytes
    AlignedBuffer<uint16_t> scales;  // n_pairs() * blocks_per_row() * 2, fp16 bits

    size_t blocks_per_row() const { return cols / kBlockElems; }
    size_t n_pairs() const { return (rows + 1) / 2; }
    const Quant* pair_quants(size_t pair) const { return quants.data() + pair * blocks_per_row() * kLineBytes; }
    const uint16_t* pair_scales(size_t pair) const { return scales.data() + pair * blocks_per_row() * 2; }
    // Where row `row`'s block 0 starts; its block b is kLineBytes (quants) or 2 (scales) further.
    size_t row_quants_offset(size_t row) const { return row / 2 * blocks_per_row() * kLineBytes + row % 2 * QuantBytes; }
    size_t row_scales_offset(size_t row) const { return row / 2 * blocks_per_row() * 2 + row % 2; }
    const Quant* row_quants(size_t row) const { return quants.data() + row_quants_offset(row); }
    const uint16_t* row_scales(size_t row) const { return scales.data() + row_scales_offset(row); }
    // Bytes a kernel streams for the whole matrix (quants plus scales).
    size_t bytes() const { return quants.size_bytes() + scales.size_bytes(); }
};

using PairedQ8Rows = PairedBlockRows<int8_t, 32>;
using PairedQ4Rows = PairedBlockRows<uint8_t, 16>;

// Writes row `row`'s blocks in the file layout (Q8_0: cols / 32 blocks of 34 bytes; Q4_0: of
// 18 bytes) into `blocks`.
using BlockRowSource = std::function<Status(size_t row, std::span<std::byte> blocks)>;

// Calls `source` once for each row, from `threads` threads at once (so it must be safe to
// call concurrently for different rows). Errors: zero rows, cols not a positive multiple of
// 32, or what the source reports for the lowest failing row.
Result<PairedQ8Rows> pair_q8_0_rows(size_t rows, size_t cols, const BlockRowSource& source, int threads = 1);
Result<PairedQ4Rows> pair_q4_0_rows(size_t rows, size_t cols, const BlockRowSource& source, int threads = 1);

// Row `row`'s blocks back in the file layout; for tests and reference code.
void unpair_q8_0_row(const PairedQ8Rows& matrix, size_t row, std::span<std::byte> blocks);
void unpair_q4_0_row(const PairedQ4Rows& matrix, size_t row, std::span<std::byte> blocks);

}  // namespace tern::quant
