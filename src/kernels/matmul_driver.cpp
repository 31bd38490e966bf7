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

void float_matmul(const KernelTable& table, ThreadPool& pool, const FloatMatmulArgs& whole_matrix) {
    // 16 rows per granule keeps the per-thread split cache-line aligned for any row size.
    pool.parallel_for(whole_matrix.row_end - whole_matrix.row_begin, 16, [&](size_t begin, size_t end) {
        FloatMatmulArgs part = whole_matrix;
        part.row_begin = whole_matrix.row_begin + begin;
        part.row_end = whole_matrix.row_begin + end;
        table.float_matmul(part);
    });
}

}  // namespace tern::kernels

namespace tern::kernels {

void q8_matmul(const KernelTable& table, ThreadPool& pool, const Q8MatmulArgs& whole_matrix) {
    pool.parallel_for(whole_matrix.row_end - whole_matrix.row_begin, 16, [&](size_t begin, size_t end) {
        Q8MatmulArgs part = whole_matrix;
        part.row_begin = whole_matrix.row_begin + begin;
        part.row_end = whole_matrix.row_begin + end;
        table.q8_matmul(part);
    });
}

}  // namespace tern::kernels
