#include "kernels/matmul_driver.h"

#include <algorithm>
#include <functional>

#include "core/check.h"

namespace tern::kernels {
namespace {

// Splits [0, total_tiles) of a group of products over the pool. A prefill GEMM is
// compute-bound and long enough that a thread slowed by a neighbour would keep the others
// waiting at the end of an even split: hand out blocks of tiles instead. Decode and small
// batches stream memory and keep the fixed split.
void split_tiles(ThreadPool& pool, size_t total_tiles, size_t n_tokens, const std::function<void(size_t, size_t)>& run_tiles) {
    constexpr size_t kTokensForDynamicSplit = 16, kTilesPerBlock = 8;
    if (n_tokens >= kTokensForDynamicSplit)
        pool.parallel_for_dynamic(total_tiles, kTilesPerBlock, [&](int, size_t begin, size_t end) { run_tiles(begin, end); });
    else
        pool.parallel_for(total_tiles, 1, run_tiles);
}

}  // namespace

void ternary_matmul(const KernelTable& table, ThreadPool& pool, const quant::PackedTernary& weights,
                    const quant::Int8Activations& acts, float* out, size_t out_stride) {
    const TernaryProduct product{.weights = &weights, .out = out, .out_stride = out_stride};
    ternary_matmuls(table, pool, std::span(&product, 1), acts);
}

void ternary_matmuls(const KernelTable& table, ThreadPool& pool, std::span<const TernaryProduct> products,
                     const quant::Int8Activations& acts) {
    size_t total_tiles = 0;
    for (const TernaryProduct& p : products) {
        const quant::PackedTernary& w = *p.weights;
        TERN_CHECK(acts.cols == w.cols && acts.cols_padded == w.cols_padded && p.out_stride >= w.rows);
        TERN_CHECK(w.layout == table.ternary_layout);
        total_tiles += w.n_tiles();
    }
    TernaryMatmulFn fn = acts.n_tokens == 1 ? table.ternary_gemv : table.ternary_gemm;
    if (table.ternary_gemm_wide != nullptr && acts.n_tokens >= kWideGemmTokens) fn = table.ternary_gemm_wide;
    // [begin, end) of the concatenated tiles, cut at matrix boundaries.
    const auto run_tiles = [&](size_t begin, size_t end) {
        size_t first = 0;
        for (const TernaryProduct& p : products) {
            const size_t n = p.weights->n_tiles();
            const size_t lo = std::max(begin, first), hi = std::min(end, first + n);
            if (lo < hi)
                fn({.weights = p.weights, .acts = &acts, .out = p.out, .out_stride = p.out_stride,
                    .tile_begin = lo - first, .tile_end = hi - first});
            first += n;
        }
    };
    split_tiles(pool, total_tiles, acts.n_tokens, run_tiles);
}

void complex_matmul(const KernelTable& table, ThreadPool& pool, const quant::PackedComplex& weights,
                    const quant::Int8Activations& acts, float* out, size_t out_stride, size_t im_offset) {
    const ComplexProduct product{.weights = &weights, .out = out, .out_stride = out_stride, .im_offset = im_offset};
    complex_matmuls(table, pool, std::span(&product, 1), acts);
}

void complex_matmuls(const KernelTable& table, ThreadPool& pool, std::span<const ComplexProduct> products,
                     const quant::Int8Activations& acts) {
    size_t total_tiles = 0;
    for (const ComplexProduct& p : products) {
        const quant::PackedComplex& w = *p.weights;
        TERN_CHECK(acts.cols == w.cols && acts.cols_padded == w.cols_padded && acts.n_tokens % 2 == 0);
        TERN_CHECK(p.im_offset >= w.rows && p.out_stride >= p.im_offset + w.rows);
        total_tiles += w.n_tiles();
    }
    const size_t n_tokens = acts.n_tokens / 2;   // a re row and an im row each
    const ComplexMatmulFn fn = n_tokens == 1 ? table.complex_gemv : table.complex_gemm;
    const auto run_tiles = [&](size_t begin, size_t end) {
        size_t first = 0;
        for (const ComplexProduct& p : products) {
            const size_t n = p.weights->n_tiles();
            const size_t lo = std::max(begin, first), hi = std::min(end, first + n);
            if (lo < hi)
                fn({.weights = p.weights, .acts = &acts, .out = p.out, .out_stride = p.out_stride, .im_offset = p.im_offset,
                    .tile_begin = lo - first, .tile_end = hi - first});
            first += n;
        }
    };
    split_tiles(pool, total_tiles, n_tokens, run_tiles);
}

void widely_linear_int8(const KernelTable& table, ThreadPool& pool, const quant::PackedWidelyLinear& weights,
                        const quant::Int8Activations& acts, float* out, size_t out_stride, size_t im_offset) {
    TERN_CHECK(acts.cols == weights.cols && acts.cols_padded == weights.cols_padded && acts.n_tokens % 2 == 0);
    TERN_CHECK(im_offset >= weights.rows && out_stride >= im_offset + weights.rows);
    const WidelyLinearInt8Fn fn = acts.n_tokens == 2 ? table.widely_linear_int8_gemv : table.widely_linear_int8_gemm;
    split_tiles(pool, weights.n_tiles(), acts.n_tokens / 2, [&](size_t begin, size_t end) {
        fn({.weights = &weights, .acts = &acts, .out = out, .out_stride = out_stride,
                                  .im_offset = im_offset, .tile_begin = begin, .tile_end = end});
    });
}

void widely_linear_float(const KernelTable& table, ThreadPool& pool, const quant::PackedWidelyLinear& weights,
                         const float* x, size_t x_stride, size_t n_tokens, float* out, size_t out_stride,
                         size_t im_offset) {
    TERN_CHECK(x_stride >= 2 * weights.cols && im_offset >= weights.rows && out_stride >= im_offset + weights.rows);
    const WidelyLinearFloatFn fn = n_tokens == 1 ? table.widely_linear_float_gemv : table.widely_linear_float_gemm;
    split_tiles(pool, weights.n_tiles(), n_tokens, [&](size_t begin, size_t end) {
        fn({.weights = &weights, .x = x, .x_stride = x_stride, .n_tokens = n_tokens, .out = out,
                                   .out_stride = out_stride, .im_offset = im_offset, .tile_begin = begin,
                                   .tile_end = end});
    });
}

}  // namespace tern::kernels

namespace tern::kernels {
namespace {

// Splits a row-range kernel call over the pool. 16 rows per granule keeps the per-thread
// split cache-line aligned for any row size, and even; each output is computed by one thread only.
template <class Args, class Fn>
void split_rows(ThreadPool& pool, const Args& whole_matrix, Fn kernel) {
    pool.parallel_for(whole_matrix.row_end - whole_matrix.row_begin, 16, [&](size_t begin, size_t end) {
        Args part = whole_matrix;
        part.row_begin = whole_matrix.row_begin + begin;
        part.row_end = whole_matrix.row_begin + end;
        kernel(part);
    });
}

}  // namespace

void float_matmul(const KernelTable& table, ThreadPool& pool, const FloatMatmulArgs& whole_matrix) {
    split_rows(pool, whole_matrix, table.float_matmul);
}

void q8_matmul(const KernelTable& table, ThreadPool& pool, const Q8MatmulArgs& whole_matrix) {
    // The kernels take whole row pairs: every part must start on an even row.
    TERN_CHECK(whole_matrix.row_begin % 2 == 0 && whole_matrix.row_end <= whole_matrix.weights->rows);
    split_rows(pool, whole_matrix, table.q8_matmul);
}

void q4_matmul(const KernelTable& table, ThreadPool& pool, const Q4MatmulArgs& whole_matrix) {
    TERN_CHECK(whole_matrix.row_begin % 2 == 0 && whole_matrix.row_end <= whole_matrix.weights->rows);
    split_rows(pool, whole_matrix, table.q4_matmul);
}

void q6_k_matmul(const KernelTable& table, ThreadPool& pool, const Q6KMatmulArgs& whole_matrix) {
    TERN_CHECK(whole_matrix.row_end <= whole_matrix.weights->rows);
    split_rows(pool, whole_matrix, table.q6_k_matmul);
}

}  // namespace tern::kernels
