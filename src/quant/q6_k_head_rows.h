// tern's in-memory LM head in ggml's Q6_K blocks (`--head q6_k`, or a Q6_K head in the file):
// rows of cols / 256 super-blocks of 210 bytes each, stored as ggml stores them (128 bytes of
// low nibbles, 64 of high bit pairs, 16 int8 group scales, the fp16 super-block scale;
// docs/formats.md §3), one row after another in one cache-line-aligned buffer. Unlike Q8_0 and
// Q4_0 (paired_head_rows.h) the blocks are not regrouped: a super-block is already 256 values
// long, so its loads are long runs, and the kernels take one row at a time.
#pragma once

#include <cstddef>

#include "core/aligned_buffer.h"
#include "quant/paired_head_rows.h"
#include "tern/status.h"

namespace tern::quant {

struct Q6KRows {
    static constexpr size_t kBlockElems = 256;
    static constexpr size_t kBlockBytes = 210;

    size_t rows = 0;
    size_t cols = 0;                  // a multiple of 256
    AlignedBuffer<std::byte> owned;   // the blocks when built here; empty when borrowed
    const std::byte* first = nullptr; // owned.data(), or the borrowed bytes (a mapped file's tensor)

    size_t blocks_per_row() const { return cols / kBlockElems; }
    size_t row_bytes() const { return blocks_per_row() * kBlockBytes; }
    const std::byte* row_blocks(size_t row) const { return first + row * row_bytes(); }
    size_t bytes() const { return rows * row_bytes(); }
    bool borrowed() const { return first != nullptr && owned.size() == 0; }
};

// Calls `source` once for each row (Q6_K blocks in the file layout), from `threads` threads at
// once. Errors: zero rows, cols not a positive multiple of 256, or what the source reports for
// the lowest failing row.
Result<Q6KRows> gather_q6_k_rows(size_t rows, size_t cols, const BlockRowSource& source, int threads = 1);

// Rows that read `blocks` (rows * cols / 256 * 210 bytes, already in this layout, such as a Q6_K
// tensor of a mapped GGUF file) in place; the caller keeps those bytes alive and unchanged.
// Errors as gather_q6_k_rows, or a null `blocks`.
Result<Q6KRows> borrow_q6_k_rows(const std::byte* blocks, size_t rows, size_t cols);

}  // namespace tern::quant
