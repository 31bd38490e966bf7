// Runs a ternary matmul on a thread pool: row tiles are split into one contiguous range per
// thread (never the reduction dimension), so the result is the same for any thread count.
#pragma once

#include <cstddef>
#include <span>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"

namespace tern::kernels {

// out[t * out_stride + r] for all tokens of `acts` and all rows of `weights`; GEMV when there
// is one token, GEMM otherwise. Preconditions: acts.cols == weights.cols and
// weights.layout == table.ternary_layout (see quant::convert_layout).
void ternary_matmul(const KernelTable& table, ThreadPool& pool, const quant::PackedTernary& weights,
                    const quant::Int8Activations& acts, float* out, size_t out_stride);

// One weight matrix of a group that multiplies the same activations.
struct TernaryProduct {
    const quant::PackedTernary* weights;
    float* out;
    size_t out_stride;
};

// Several matrices times the same activations (q, k and v; gate and up) as one job on the
// pool: the row tiles of all of them are split over the threads together, so there is one
// synchronisation instead of one per matrix. Each output is what ternary_matmul gives.
void ternary_matmuls(const KernelTable& table, ThreadPool& pool, std::span<const TernaryProduct> products,
                     const quant::Int8Activations& acts);

// One complex weight matrix of a group that multiplies the same complex activations
// (complex_matmul.h): token t's real outputs at out[t * out_stride + r], its imaginary outputs
// at out[t * out_stride + im_offset + r].
struct ComplexProduct {
    const quant::PackedComplex* weights;
    float* out;
    size_t out_stride;   // >= im_offset + weights->rows
    size_t im_offset;    // >= weights->rows
};

// Complex matrices times the same complex activations (acts.n_tokens = 2 x tokens: re and im
// rows), as one job on the pool like ternary_matmuls: GEMV for one token, GEMM otherwise.
// Preconditions: acts.cols == weights.cols for each product.
void complex_matmuls(const KernelTable& table, ThreadPool& pool, std::span<const ComplexProduct> products,
                     const quant::Int8Activations& acts);
void complex_matmul(const KernelTable& table, ThreadPool& pool, const quant::PackedComplex& weights,
                    const quant::Int8Activations& acts, float* out, size_t out_stride, size_t im_offset);

// Fairy2i's widely-linear projection over the pool (row tiles split as for the ternary GEMM):
// int8 activations (2 rows per token) or float rows [x_re | x_im] of x_stride floats.
void widely_linear_int8(const KernelTable& table, ThreadPool& pool, const quant::PackedWidelyLinear& weights,
                        const quant::Int8Activations& acts, float* out, size_t out_stride, size_t im_offset);
void widely_linear_float(const KernelTable& table, ThreadPool& pool, const quant::PackedWidelyLinear& weights,
                         const float* x, size_t x_stride, size_t n_tokens, float* out, size_t out_stride,
                         size_t im_offset);

}  // namespace tern::kernels

namespace tern::kernels {

// out[t * out_stride + r] = dot(row r of the float matrix, x_t) for all rows, split over the
// pool by rows (each output is computed by exactly one thread, in the kernel's fixed order).
void float_matmul(const KernelTable& table, ThreadPool& pool, const FloatMatmulArgs& whole_matrix);
void q8_matmul(const KernelTable& table, ThreadPool& pool, const Q8MatmulArgs& whole_matrix);
void q4_matmul(const KernelTable& table, ThreadPool& pool, const Q4MatmulArgs& whole_matrix);
void q6_k_matmul(const KernelTable& table, ThreadPool& pool, const Q6KMatmulArgs& whole_matrix);

}  // namespace tern::kernels
