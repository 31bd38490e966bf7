#include "quant/paired_q8_rows.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "quant/block_formats.h"

namespace tern::quant {
namespace {

void place_row(PairedQ8Rows& m, size_t r, std::span<const std::byte> row_blocks) {
    int8_t* quants = m.quants.data() + m.row_quants_offset(r);
    uint16_t* scales = m.scales.data() + m.row_scales_offset(r);
    for (size_t b = 0; b < m.blocks_per_row(); ++b) {
        const std::byte* block = row_blocks.data() + b * kQ8_0BlockBytes;
        std::memcpy(&scales[2 * b], block, 2);
        std::memcpy(quants + b * kPairedQ8LineBytes, block + 2, kPairedQ8BlockElems);
    }
}

}  // namespace

Result<PairedQ8Rows> pair_q8_0_rows(size_t rows, size_t cols, const Q8RowSource& source, int threads) {
    if (rows == 0 || cols == 0 || cols % kPairedQ8BlockElems != 0)
        return Error(str_cat("Q8_0 matrix of ", rows, " x ", cols, ": needs rows > 0 and cols a positive multiple of 32"));
    PairedQ8Rows m;
    m.rows = rows;
    m.cols = cols;
    const size_t blocks = m.blocks_per_row();
    m.quants = AlignedBuffer<int8_t>(m.n_pairs() * blocks * kPairedQ8LineBytes);   // zeros pad an odd last row
    m.scales = AlignedBuffer<uint16_t>(m.n_pairs() * blocks * 2);
    std::mutex error_mutex;
    std::optional<std::pair<size_t, Error>> first_error;
    ThreadPool pool(std::max(1, threads));
    pool.parallel_for(rows, 64, [&](size_t begin, size_t end) {
        std::vector<std::byte> row_blocks(blocks * kQ8_0BlockBytes);
        for (size_t r = begin; r < end; ++r) {
            if (Status s = source(r, row_blocks); !s.ok()) {
                const std::lock_guard lock(error_mutex);
                if (!first_error || r < first_error->first) first_error.emplace(r, s.error());
                return;
            }
            place_row(m, r, row_blocks);
        }
    });
    if (first_error) return first_error->second;
    return m;
}

void unpair_q8_0_row(const PairedQ8Rows& matrix, size_t row, std::span<std::byte> blocks) {
    const int8_t* quants = matrix.row_quants(row);
    const uint16_t* scales = matrix.row_scales(row);
    for (size_t b = 0; b < matrix.blocks_per_row(); ++b) {
        std::byte* block = blocks.data() + b * kQ8_0BlockBytes;
        std::memcpy(block, &scales[2 * b], 2);
        std::memcpy(block + 2, quants + b * kPairedQ8LineBytes, kPairedQ8BlockElems);
    }
}

}  // namespace tern::quant
