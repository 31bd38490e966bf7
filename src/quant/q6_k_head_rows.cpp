#include "quant/q6_k_head_rows.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <utility>

#include "core/str_cat.h"
#include "core/thread_pool.h"

namespace tern::quant {

namespace {

Status check_shape(size_t rows, size_t cols) {
    if (rows == 0 || cols == 0 || cols % Q6KRows::kBlockElems != 0)
        return Error(str_cat("Q6_K matrix of ", rows, " x ", cols, ": needs rows > 0 and cols a positive multiple of 256"));
    return {};
}

}  // namespace

Result<Q6KRows> gather_q6_k_rows(size_t rows, size_t cols, const BlockRowSource& source, int threads) {
    TERN_TRY(check_shape(rows, cols));
    Q6KRows m;
    m.rows = rows;
    m.cols = cols;
    const size_t row_bytes = m.row_bytes();
    m.owned = AlignedBuffer<std::byte>(rows * row_bytes, AlignedBuffer<std::byte>::kLeaveUninitialized);
    m.first = m.owned.data();
    std::mutex error_mutex;
    std::optional<std::pair<size_t, Error>> first_error;
    ThreadPool pool(std::max(1, threads));
    pool.parallel_for(rows, 64, [&](size_t begin, size_t end) {
        for (size_t r = begin; r < end; ++r) {
            if (Status s = source(r, {m.owned.data() + r * row_bytes, row_bytes}); !s.ok()) {
                const std::lock_guard lock(error_mutex);
                if (!first_error || r < first_error->first) first_error.emplace(r, s.error());
                return;
            }
        }
    });
    if (first_error) return first_error->second;
    return m;
}

Result<Q6KRows> borrow_q6_k_rows(const std::byte* blocks, size_t rows, size_t cols) {
    TERN_TRY(check_shape(rows, cols));
    if (blocks == nullptr) return Error(str_cat("Q6_K matrix of ", rows, " x ", cols, ": no bytes to borrow"));
    Q6KRows m;
    m.rows = rows;
    m.cols = cols;
    m.first = blocks;
    return m;
}

}  // namespace tern::quant
