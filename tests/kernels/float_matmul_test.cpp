// Every ISA's float matmul against the scalar reference bit for bit, and the reference
// against a double-precision dot product.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/float16.h"
#include "kernels/dispatch.h"

namespace tern::kernels {

namespace {

using format::GgmlType;

struct FloatCase {
    GgmlType type;
    size_t rows, cols, n_tokens;
    std::vector<std::byte> weights;
    std::vector<float> weight_values;   // what the stored weights decode to
    std::vector<float> x;

    size_t elem() const { return type == GgmlType::kF32 ? 4 : 2; }
    FloatMatmulArgs args(float* out, size_t out_stride) const {
        return {.weights = weights.data(), .type = type, .cols = cols, .row_bytes = cols * elem(), .x = x.data(),
                .x_stride = cols, .n_tokens = n_tokens, .out = out, .out_stride = out_stride, .row_begin = 0,
                .row_end = rows};
    }
};

FloatCase make_case(GgmlType type, size_t rows, size_t cols, size_t n_tokens, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    FloatCase c{type, rows, cols, n_tokens, {}, {}, {}};
    c.weights.resize(rows * cols * c.elem());
    c.weight_values.resize(rows * cols);
    for (size_t i = 0; i < rows * cols; ++i) {
        const float v = dist(rng);
        if (type == GgmlType::kF32) {
            std::memcpy(&c.weights[4 * i], &v, 4);
            c.weight_values[i] = v;
        } else {
            const uint16_t h = type == GgmlType::kF16 ? fp32_to_fp16(v) : fp32_to_bf16(v);
            std::memcpy(&c.weights[2 * i], &h, 2);
            c.weight_values[i] = type == GgmlType::kF16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
        }
    }
    c.x.resize(n_tokens * cols);
    for (float& v : c.x) v = dist(rng);
    return c;
}

std::vector<float> run(FloatMatmulFn fn, const FloatCase& c) {
    std::vector<float> out(c.n_tokens * (c.rows + 2), std::numeric_limits<float>::quiet_NaN());
    fn(c.args(out.data(), c.rows + 2));
    return out;
}

TEST(FloatMatmulReference, CloseToDoublePrecisionDot) {
    const FloatCase c = make_case(GgmlType::kF16, 5, 1000, 2, 3);
    const std::vector<float> got = run(ref::float_matmul, c);
    for (size_t t = 0; t < c.n_tokens; ++t) {
        for (size_t r = 0; r < c.rows; ++r) {
            double want = 0, magnitude = 0;
            for (size_t k = 0; k < c.cols; ++k) {
                want += double{c.weight_values[r * c.cols + k]} * c.x[t * c.cols + k];
                magnitude += std::fabs(double{c.weight_values[r * c.cols + k]} * c.x[t * c.cols + k]);
            }
            EXPECT_NEAR(got[t * (c.rows + 2) + r], want, magnitude * 1e-6);
        }
    }
}

class FloatMatmulIsaTest : public ::testing::TestWithParam<Isa> {};

TEST_P(FloatMatmulIsaTest, MatchesReferenceBitForBit) {
    const KernelTable& table = kernel_table(GetParam());
    uint32_t seed = 1;
    for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16}) {
        for (size_t rows : {1, 3, 17}) {
            for (size_t cols : {1, 15, 16, 17, 100, 2560}) {
                for (size_t n_tokens : {1, 3, 5}) {
                    SCOPED_TRACE(testing::Message() << "type " << static_cast<int>(type) << " " << rows << "x" << cols
                                                    << " tokens " << n_tokens);
                    const FloatCase c = make_case(type, rows, cols, n_tokens, seed++);
                    const std::vector<float> want = run(ref::float_matmul, c), got = run(table.float_matmul, c);
                    for (size_t i = 0; i < want.size(); ++i) {
                        if (i % (rows + 2) >= rows) {
                            ASSERT_TRUE(std::isnan(got[i])) << "wrote padding slot " << i;
                        } else {
                            ASSERT_EQ(0, std::memcmp(&want[i], &got[i], 4)) << i << ": " << want[i] << " vs " << got[i];
                        }
                    }
                }
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, FloatMatmulIsaTest, ::testing::ValuesIn(isas_supported_here()),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

}  // namespace
}  // namespace tern::kernels
