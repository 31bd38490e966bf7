// Q8_0 head kernels: every ISA equals the reference bit for bit, and the reference equals the
// plain definition (sum over blocks of d_w * d_x * dot) to float rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <span>

#include "core/float16.h"
#include "kernels/dispatch.h"
#include "quant/paired_head_rows.h"

namespace tern::kernels {
namespace {

struct Q8Case {
    size_t rows, blocks, tokens;
    bool extremes;   // weights at -128/127, activations at +-127, some zero blocks
};

std::vector<std::byte> random_q8(size_t n_rows, size_t blocks, std::mt19937& rng, bool extremes, bool activations) {
    std::vector<std::byte> data(n_rows * blocks * kQ8BlockBytes);
    std::uniform_real_distribution<float> scale(0.001f, 0.1f);
    for (size_t b = 0; b < n_rows * blocks; ++b) {
        std::byte* block = data.data() + b * kQ8BlockBytes;
        store_fp16(block, extremes && b % 7 == 3 ? 0.0f : scale(rng));
        for (size_t i = 0; i < 32; ++i) {
            int v = static_cast<int>(rng() % 255) - 127;
            if (extremes) v = (rng() % 2) ? (activations ? 127 : -128) : (activations ? -127 : 127);
            block[2 + i] = static_cast<std::byte>(static_cast<int8_t>(v));
        }
    }
    return data;
}

quant::PairedQ8Rows paired(const std::vector<std::byte>& rows, const Q8Case& c) {
    const size_t row_bytes = c.blocks * kQ8BlockBytes;
    auto m = quant::pair_q8_0_rows(c.rows, c.blocks * 32, [&](size_t r, std::span<std::byte> blocks) -> Status {
        std::memcpy(blocks.data(), rows.data() + r * row_bytes, row_bytes);
        return {};
    });
    EXPECT_TRUE(m.ok());
    return std::move(m).value();
}

// Whole row pairs per call, as the driver splits them; the output around the rows stays NaN
// when a call covers only part of them.
std::vector<float> run(Q8MatmulFn fn, const quant::PairedQ8Rows& w, const std::vector<std::byte>& x, const Q8Case& c,
                       size_t row_begin = 0, size_t row_end = SIZE_MAX) {
    std::vector<float> out(c.tokens * c.rows, NAN);
    fn({.weights = &w, .x = x.data(), .n_tokens = c.tokens, .out = out.data(), .out_stride = c.rows,
        .row_begin = row_begin, .row_end = std::min(row_end, c.rows)});
    return out;
}

TEST(Q8Matmul, EveryIsaMatchesTheReferenceBitForBit) {
    std::mt19937 rng(9);
    const Q8Case cases[] = {{1, 1, 1, false}, {2, 3, 1, false}, {7, 80, 2, false}, {33, 17, 3, true},
                            {16, 80, 1, true}, {5, 1, 4, true},  {64, 2, 1, false}, {9, 5, 5, true},
                            {6, 3, 6, false},  {11, 80, 9, false}};   // token groups of 4 plus tails
    for (const Q8Case& c : cases) {
        const auto w = random_q8(c.rows, c.blocks, rng, c.extremes, false);
        const auto x = random_q8(c.tokens, c.blocks, rng, c.extremes, true);
        const quant::PairedQ8Rows pw = paired(w, c);
        const std::vector<float> want = run(ref::q8_matmul, pw, x, c);
        for (size_t t = 0; t < c.tokens; ++t)
            for (size_t r = 0; r < c.rows; ++r) {
                double plain = 0, magnitude = 0;
                for (size_t b = 0; b < c.blocks; ++b) {
                    const std::byte* wb = w.data() + (r * c.blocks + b) * kQ8BlockBytes;
                    const std::byte* xb = x.data() + (t * c.blocks + b) * kQ8BlockBytes;
                    int64_t dot = 0;
                    for (size_t i = 0; i < 32; ++i)
                        dot += int64_t{static_cast<int8_t>(wb[2 + i])} * static_cast<int8_t>(xb[2 + i]);
                    plain += double(load_fp16(wb)) * load_fp16(xb) * dot;
                    magnitude += std::fabs(double(load_fp16(wb)) * load_fp16(xb) * dot);
                }
                // Float accumulation: error bounded by a few ulps of the sum of |terms|.
                EXPECT_NEAR(want[t * c.rows + r], plain, 1e-5 * magnitude + 1e-30);
            }
        for (Isa isa : isas_supported_here()) {
            const std::vector<float> got = run(kernel_table(isa).q8_matmul, pw, x, c);
            EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
                << isa_name(isa) << " rows " << c.rows << " blocks " << c.blocks << " tokens " << c.tokens;
        }
    }
}

TEST(Q8Matmul, APartialRowRangeWritesExactlyThoseRows) {
    std::mt19937 rng(4);
    const Q8Case c{9, 4, 3, false};
    const auto w = random_q8(c.rows, c.blocks, rng, false, false);
    const auto x = random_q8(c.tokens, c.blocks, rng, false, true);
    const quant::PairedQ8Rows pw = paired(w, c);
    const std::vector<float> whole = run(ref::q8_matmul, pw, x, c);
    for (Isa isa : isas_supported_here()) {
        for (auto [begin, end] : {std::pair<size_t, size_t>{2, 5}, {4, 9}, {0, 1}, {8, 9}}) {
            const std::vector<float> part = run(kernel_table(isa).q8_matmul, pw, x, c, begin, end);
            for (size_t t = 0; t < c.tokens; ++t)
                for (size_t r = 0; r < c.rows; ++r) {
                    const float v = part[t * c.rows + r];
                    if (r >= begin && r < end)
                        EXPECT_EQ(v, whole[t * c.rows + r]) << isa_name(isa) << " row " << r;
                    else
                        EXPECT_TRUE(std::isnan(v)) << isa_name(isa) << " row " << r << " outside [" << begin << ", " << end << ")";
                }
        }
    }
}

}  // namespace
}  // namespace tern::kernels
