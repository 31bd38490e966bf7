#include "quant/paired_head_rows.h"

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

// A file block is the fp16 scale followed by the row's QuantBytes of quants.
template <class Quant, size_t QuantBytes>
constexpr size_t kFileBlockBytes = 2 + QuantBytes;

template <class Quant, size_t QuantBytes>
void place_row(PairedBlockRows<Quant, QuantBytes>& m, size_t r, std::span<const std::byte> row_blocks) {
    Quant* quants = m.quants.data() + m.row_quants_offset(r);
    uint16_t* scales = m.scales.data() + m.row_scales_offset(r);
    for (size_t b = 0; b < m.blocks_per_row(); ++b) {
        const std::byte* block = row_blocks.data() + b * kFileBlockBytes<Quant, QuantBytes>;
        std::memcpy(&scales[2 * b], block, 2);
        std::memcpy(quants + b * m.kLineBytes, block + 2, QuantBytes);
    }
}

template <class Quant, size_t QuantBytes>
Result<PairedBlockRows<Quant, QuantBytes>> pair_rows(const char* type, size_t rows, size_t cols, const BlockRowSource& source,
                                                     int threads) {
    using Rows = PairedBlockRows<Quant, QuantBytes>;
    if (rows == 0 || cols == 0 || cols % Rows::kBlockElems != 0)
        return Error(str_cat(type, " matrix of ", rows, " x ", cols, ": needs rows > 0 and cols a positive multiple of 32"));
    Rows m;
    m.rows = rows;
    m.cols = cols;
    const size_t blocks = m.blocks_per_row();
    m.quants = AlignedBuffer<Quant>(m.n_pairs() * blocks * Rows::kLineBytes);   // zeros pad an odd last row
    m.scales = AlignedBuffer<uint16_t>(m.n_pairs() * blocks * 2);
    std::mutex error_mutex;
    std::optional<std::pair<size_t, Error>> first_error;
    ThreadPool pool(std::max(1, threads));
    pool.parallel_for(rows, 64, [&](size_t begin, size_t end) {
        std::vector<std::byte> row_blocks(blocks * kFileBlockBytes<Quant, QuantBytes>);
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

template <class Quant, size_t QuantBytes>
void unpair_row(const PairedBlockRows<Quant, QuantBytes>& matrix, size_t row, std::span<std::byte> blocks) {
    const Quant* quants = matrix.row_quants(row);
    const uint16_t* scales = matrix.row_scales(row);
    for (size_t b = 0; b < matrix.blocks_per_row(); ++b) {
        std::byte* block = blocks.data() + b * kFileBlockBytes<Quant, QuantBytes>;
        std::memcpy(block, &scales[2 * b], 2);
        std::memcpy(block + 2, quants + b * matrix.kLineBytes, QuantBytes);
    }
}

static_assert(kFileBlockBytes<int8_t, 32> == kQ8_0BlockBytes && kFileBlockBytes<uint8_t, 16> == kQ4_0BlockBytes);

}  // namespace

Result<PairedQ8Rows> pair_q8_0_rows(size_t rows, size_t cols, const BlockRowSource& source, int threads) {
    return pair_rows<int8_t, 32>("Q8_0", rows, cols, source, threads);
}

Result<PairedQ4Rows> pair_q4_0_rows(size_t rows, size_t cols, const BlockRowSource& source, int threads) {
    return pair_rows<uint8_t, 16>("Q4_0", rows, cols, source, threads);
}

void unpair_q8_0_row(const PairedQ8Rows& matrix, size_t row, std::span<std::byte> blocks) { unpair_row(matrix, row, blocks); }

void unpair_q4_0_row(const PairedQ4Rows& matrix, size_t row, std::span<std::byte> blocks) { unpair_row(matrix, row, blocks); }

}  // namespace tern::quant
