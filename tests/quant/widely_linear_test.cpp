// Fairy2i's widely-linear quantisation and the reference kernels: a real matrix built from
// known U, W codes comes back as those codes; both activation paths compute the real matrix
// that the codes rebuild (A_q11 = Re W + Re U, ...), times x; bad input gets one-line errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/widely_linear_matmul.h"
#include "quant/int8_activations.h"
#include "quant/packed_complex.h"
#include "quant/phase_quant.h"
#include "quant/widely_linear.h"

namespace tern::quant {
namespace {

// A real 2n x 2m matrix whose U and W are exactly s * unit codes.
std::vector<float> matrix_of(const std::vector<uint8_t>& u, const std::vector<uint8_t>& w, float a, float b, float c,
                             float d, size_t n, size_t m) {
    std::vector<float> out(4 * n * m);
    for (size_t r = 0; r < n; ++r)
        for (size_t k = 0; k < m; ++k) {
            const float ur = a * static_cast<float>(complex_code_re(u[r * m + k]));
            const float ui = b * static_cast<float>(complex_code_im(u[r * m + k]));
            const float wr = c * static_cast<float>(complex_code_re(w[r * m + k]));
            const float wi = d * static_cast<float>(complex_code_im(w[r * m + k]));
            out[r * 2 * m + k] = ur + wr;              // A11
            out[r * 2 * m + m + k] = wi - ui;          // A12
            out[(n + r) * 2 * m + k] = wi + ui;        // A21
            out[(n + r) * 2 * m + m + k] = ur - wr;    // A22
        }
    return out;
}

// The real matrix the packed codes stand for, summed over stages, in double.
std::vector<double> rebuilt(const PackedWidelyLinear& p) {
    const size_t n = p.rows, m = p.cols;
    std::vector<double> a(4 * n * m, 0.0);
    for (size_t j = 0; j < p.n_matrices; j += 2)
        for (size_t r = 0; r < n; ++r)
            for (size_t k = 0; k < m; ++k) {
                const uint8_t cu = widely_linear_code(p, j, r, k), cw = widely_linear_code(p, j + 1, r, k);
                const double ur = p.scale_re[j] * complex_code_re(cu), ui = p.scale_im[j] * complex_code_im(cu);
                const double wr = p.scale_re[j + 1] * complex_code_re(cw), wi = p.scale_im[j + 1] * complex_code_im(cw);
                a[r * 2 * m + k] += wr + ur;
                a[r * 2 * m + m + k] += wi - ui;
                a[(n + r) * 2 * m + k] += wi + ui;
                a[(n + r) * 2 * m + m + k] += ur - wr;
            }
    return a;
}

TEST(WidelyLinear, ExactUnitMatricesComeBackAsTheirCodes) {
    const size_t n = 6, m = 10;
    std::mt19937 rng(5);
    std::vector<uint8_t> u(n * m), w(n * m);
    for (uint8_t& c : u) c = static_cast<uint8_t>(rng() % 4);
    for (uint8_t& c : w) c = static_cast<uint8_t>(rng() % 4);
    const std::vector<float> a = matrix_of(u, w, 0.5f, 0.25f, 0.125f, 1.0f, n, m);
    const Result<PackedWidelyLinear> w1 = fairy2i_quantize(a, 2 * n, 2 * m, 1);
    ASSERT_TRUE(w1.ok()) << w1.error().message();
    EXPECT_EQ(w1.value().n_matrices, 2u);
    EXPECT_EQ(w1.value().scale_re[0], 0.5f);
    EXPECT_EQ(w1.value().scale_im[0], 0.25f);
    EXPECT_EQ(w1.value().scale_re[1], 0.125f);
    EXPECT_EQ(w1.value().scale_im[1], 1.0f);
    for (size_t r = 0; r < n; ++r)
        for (size_t k = 0; k < m; ++k) {
            ASSERT_EQ(widely_linear_code(w1.value(), 0, r, k), u[r * m + k]);
            ASSERT_EQ(widely_linear_code(w1.value(), 1, r, k), w[r * m + k]);
        }
    // Stage 2 sees a zero residual: every code +1, every scale at the 1e-6 floor.
    const Result<PackedWidelyLinear> w2 = fairy2i_quantize(a, 2 * n, 2 * m, 2);
    ASSERT_TRUE(w2.ok());
    EXPECT_EQ(w2.value().n_matrices, 4u);
    for (size_t j = 2; j < 4; ++j) {
        EXPECT_EQ(w2.value().scale_re[j], kFairy2iMinScale);
        EXPECT_EQ(w2.value().scale_im[j], kFairy2iMinScale);
        for (size_t r = 0; r < n; ++r)
            for (size_t k = 0; k < m; ++k) ASSERT_EQ(widely_linear_code(w2.value(), j, r, k), 0);
    }
}

TEST(WidelyLinear, SecondStageShrinksTheError) {
    const size_t rows = 16, cols = 40;
    std::mt19937 rng(9);
    std::normal_distribution<float> dist(0.0f, 0.1f);
    std::vector<float> a(rows * cols);
    for (float& v : a) v = dist(rng);
    auto error = [&](size_t stages) {
        const std::vector<double> q = rebuilt(fairy2i_quantize(a, rows, cols, stages).value());
        double e = 0;
        for (size_t i = 0; i < a.size(); ++i) e += (q[i] - a[i]) * (q[i] - a[i]);
        return e;
    };
    EXPECT_LT(error(2), 0.6 * error(1));
}

TEST(WidelyLinear, BothActivationPathsComputeTheRebuiltMatrix) {
    const size_t rows = 2 * 9, cols = 2 * 300;   // n = 9 complex rows, m = 300 complex columns (a tail)
    std::mt19937 rng(11);
    std::normal_distribution<float> dist(0.0f, 0.1f);
    std::vector<float> a(rows * cols);
    for (float& v : a) v = dist(rng);
    const PackedWidelyLinear p = fairy2i_quantize(a, rows, cols, 2).value();
    const std::vector<double> aq = rebuilt(p);
    const size_t n_tokens = 3;
    std::vector<float> x(n_tokens * cols);
    for (float& v : x) v = dist(rng) * 10.0f;

    std::vector<float> out_float(n_tokens * rows, NAN);
    kernels::ref::widely_linear_float({.weights = &p, .x = x.data(), .x_stride = cols, .n_tokens = n_tokens,
                                       .out = out_float.data(), .out_stride = rows, .im_offset = p.rows,
                                       .tile_begin = 0, .tile_end = p.n_tiles()});
    Int8Activations acts;
    quantize_activations(x.data(), 2 * n_tokens, cols / 2, cols / 2, acts);   // x_re and x_im rows
    std::vector<float> out_int8(n_tokens * rows, NAN);
    kernels::ref::widely_linear_int8({.weights = &p, .acts = &acts, .out = out_int8.data(), .out_stride = rows,
                                      .im_offset = p.rows, .tile_begin = 0, .tile_end = p.n_tiles()});
    for (size_t t = 0; t < n_tokens; ++t)
        for (size_t r = 0; r < rows; ++r) {
            double exact = 0, from_int8 = 0;
            for (size_t k = 0; k < cols; ++k) {
                exact += aq[r * cols + k] * x[t * cols + k];
                const size_t half = k / (cols / 2);
                from_int8 += aq[r * cols + k] * acts.row(2 * t + half)[k % (cols / 2)] * acts.scale[2 * t + half];
            }
            EXPECT_NEAR(out_float[t * rows + r], exact, 1e-4 * (1 + std::fabs(exact))) << t << " " << r;
            EXPECT_NEAR(out_int8[t * rows + r], from_int8, 1e-4 * (1 + std::fabs(from_int8))) << t << " " << r;
        }
}

TEST(WidelyLinear, RejectsBadInput) {
    const std::vector<float> a(6 * 4, 0.5f);
    EXPECT_EQ(fairy2i_quantize(a, 3, 8, 1).error().message(),
              "shape 3x8 has an odd dimension: a widely-linear layer needs both even");
    EXPECT_EQ(fairy2i_quantize(a, 6, 4, 3).error().message(), "PhaseQuant stages 3, expected 1 or 2");
    std::vector<float> nan = a;
    nan[4 * 2 + 3] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_EQ(fairy2i_quantize(nan, 6, 4, 2).error().message(), "weight at row 2 column 3 is nan, not finite");
}

}  // namespace
}  // namespace tern::quant
