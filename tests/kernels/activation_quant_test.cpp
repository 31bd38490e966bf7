// Every ISA's activation quantisation against the scalar reference, byte for byte: row
// lengths around every vector width and chunk, both column granules, ties, all-zero and
// sub-epsilon rows, the maximum in a tail lane, token sub-ranges, stale bytes in the padding.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/dispatch.h"
#include "quant/int8_activations.h"

namespace tern::kernels {
namespace {

constexpr size_t kTokens = 5;
constexpr int8_t kStale = 0x5a;

// Rows [begin, end) of x into activations whose buffers start out full of stale bytes.
quant::Int8Activations quantize_with(QuantizeActivationsFn fn, const std::vector<float>& x, size_t cols,
                                     size_t stride, size_t granule, size_t begin, size_t end) {
    quant::Int8Activations acts;
    quant::reshape_activations(acts, kTokens, cols, granule);
    std::memset(acts.values.data(), kStale, acts.values.size());
    for (size_t t = 0; t < kTokens; ++t) acts.scale[t] = -1.0f, acts.sum[t] = -1;
    fn(x.data(), stride, acts, begin, end);
    return acts;
}

void expect_same(const quant::Int8Activations& got, const quant::Int8Activations& want, const std::string& what) {
    EXPECT_EQ(0, std::memcmp(got.values.data(), want.values.data(), kTokens * want.cols_padded)) << what;
    EXPECT_EQ(0, std::memcmp(got.scale.data(), want.scale.data(), kTokens * sizeof(float))) << what;
    EXPECT_EQ(0, std::memcmp(got.sum.data(), want.sum.data(), kTokens * sizeof(int32_t))) << what;
}

// Token rows of one kind each: random, random with the maximum in the last column, exact
// halves after scaling (max 127 gives a_s = 1), all zero (with -0), below the 1e-5 floor.
std::vector<float> make_rows(size_t cols, size_t stride, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::uniform_int_distribution<int> integer(-126, 125);
    std::vector<float> x(kTokens * stride, 1e30f);   // past cols: must never be read
    for (size_t k = 0; k < cols; ++k) {
        x[0 * stride + k] = normal(rng);
        x[1 * stride + k] = normal(rng) * 0.01f;
        x[2 * stride + k] = static_cast<float>(integer(rng)) + 0.5f;
        x[3 * stride + k] = k % 2 == 0 ? 0.0f : -0.0f;
        x[4 * stride + k] = normal(rng) * 1e-7f;
    }
    x[1 * stride + cols - 1] = -50.0f;
    x[2 * stride + cols / 2] = 127.0f;
    return x;
}

TEST(ActivationQuant, EveryIsaMatchesTheReferenceByteForByte) {
    std::mt19937 rng(17);
    std::vector<size_t> lengths;
    for (size_t n = 1; n <= 70; ++n) lengths.push_back(n);
    for (size_t n : {255, 256, 257, 319, 320, 321, 2560, 6912}) lengths.push_back(n);
    for (size_t cols : lengths) {
        const size_t stride = cols + 3;
        const std::vector<float> x = make_rows(cols, stride, rng);
        for (size_t granule : {quant::kActivationColumnGranule, size_t{320}}) {
            const auto want = quantize_with(quant::quantize_activation_rows, x, cols, stride, granule, 0, kTokens);
            for (size_t t = 0; t < kTokens; ++t) {
                ASSERT_GT(want.scale[t], 0.0f);
                for (size_t k = cols; k < want.cols_padded; ++k) ASSERT_EQ(want.row(t)[k], 0) << "padding";
            }
            for (Isa isa : isas_supported_here()) {
                const std::string what = std::string(isa_name(isa)) + " cols " + std::to_string(cols) + " granule " +
                                         std::to_string(granule);
                expect_same(quantize_with(kernel_table(isa).quantize_activations, x, cols, stride, granule, 0, kTokens),
                            want, what);
                // A sub-range writes its rows only: the others keep their stale bytes.
                expect_same(quantize_with(kernel_table(isa).quantize_activations, x, cols, stride, granule, 1, 3),
                            quantize_with(quant::quantize_activation_rows, x, cols, stride, granule, 1, 3),
                            what + " rows 1-2");
            }
        }
    }
}

TEST(ActivationQuant, TiesRoundToEvenOnEveryIsa) {
    // max|x| = 127 gives a_s = 1: x * a_s is x, and halves are visible in any lane.
    std::vector<float> x(37 * kTokens, 0.0f);
    const float row[] = {2.5f, 3.5f, -2.5f, -127.0f, 0.5f, -0.5f, 1.5f, 126.5f, -126.5f};
    const int want[] = {2, 4, -2, -127, 0, 0, 2, 126, -126};
    for (size_t k = 0; k < 37; ++k) x[k] = row[k % 9];
    for (Isa isa : isas_supported_here()) {
        const auto acts = quantize_with(kernel_table(isa).quantize_activations, x, 37, 37, 256, 0, 1);
        int32_t sum = 0;
        for (size_t k = 0; k < 37; ++k) {
            EXPECT_EQ(acts.row(0)[k], want[k % 9]) << isa_name(isa) << " column " << k;
            sum += want[k % 9];
        }
        EXPECT_EQ(acts.sum[0], sum) << isa_name(isa);
        EXPECT_EQ(acts.scale[0], 1.0f) << isa_name(isa);
    }
}

}  // namespace
}  // namespace tern::kernels
