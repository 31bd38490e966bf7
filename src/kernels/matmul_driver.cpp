#include "kernels/matmul_driver.h"

#include "core/check.h"

namespace tern::kernels {

void ternary_matmul(const KernelTable& table, ThreadPool& pool, const quant::PackedTernary& weights,
                    const quant::Int8Activations& acts, float* out, size_t out_stride) {
    TERN_CHECK(acts.cols == weights.cols && acts.cols_padded == weights.cols_padded && out_stride >= weights.rows);
    TERN_CHECK(weights.layout == table.ternary_layout);
    const TernaryMatmulFn fn = acts.n_tokens == 1 ? table.ternary_gemv : table.ternary_gemm;
    pool.parallel_for(weights.n_tiles(), 1, [&](size_t tile_begin, size_t tile_end) {
        fn({.weights = &weights, .acts = &acts, .out = out, .out_stride = out_stride,
            .tile_begin = tile_begin, .tile_end = tile_end});
    });
}

}  // namespace tern::kernels

namespace tern::kernels {
namespace {

// Splits a row-range kernel call over the pool. 16 rows per granule keeps the per-thread
// split cache-line aligned for any row size; each output is computed by one thread only.
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
    split_rows(pool, whole_matrix, table.q8_matmul);
}

}  // namespace tern::kernels
