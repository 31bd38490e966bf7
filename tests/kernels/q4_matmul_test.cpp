// Q4_0 head kernels: every ISA equals the reference bit for bit, and the reference equals the
// plain definition (sum over blocks of d_w * d_x * dot, with ggml's nibble order) to float rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <span>

#include "core/float16.h"
#include "kernels/dispatch.h"
#include "quant/block_formats.h"
#include "quant/paired_head_rows.h"

namespace tern::kernels {
namespace {

constexpr size_t kQ4BlockBytes = quant::kQ4_0BlockBytes;

struct Q4Case {
    size_t rows, blocks, tokens;
    bool extremes;   // nibbles at 0 and 15 (w = -8, 7), activations at +-127, some zero blocks
};

std::vector<std::byte> random_q4(size_t n_rows, size_t blocks, std::mt19937& rng, bool extremes) {
    std::vector<std::byte> data(n_rows * blocks * kQ4BlockBytes);
    std::uniform_real_distribution<float> scale(0.001f, 0.1f);
    for (size_t b = 0; b < n_rows * blocks; ++b) {
        std::byte* block = data.data() + b * kQ4BlockBytes;
        store_fp16(block, extremes && b % 7 == 3 ? 0.0f : scale(rng));
        for (size_t i = 0; i < 16; ++i) {
            const unsigned lo = extremes ? (rng() % 2) * 15 : rng() % 16, hi = extremes ? (rng() % 2) * 15 : rng() % 16;
            block[2 + i] = static_cast<std::byte>(lo | hi << 4);
        }
    }
    return data;
}

std::vector<std::byte> random_q8(size_t n_rows, size_t blocks, std::mt19937& rng, bool extremes) {
    std::vector<std::byte> data(n_rows * blocks * kQ8BlockBytes);
    std::uniform_real_distribution<float> scale(0.001f, 0.1f);
    for (size_t b = 0; b < n_rows * blocks; ++b) {
        std::byte* block = data.data() + b * kQ8BlockBytes;
        store_fp16(block, scale(rng));
        for (size_t i = 0; i < 32; ++i) {
            const int v = extremes ? ((rng() % 2) ? 127 : -127) : static_cast<int>(rng() % 255) - 127;
            block[2 + i] = static_cast<std::byte>(static_cast<int8_t>(v));
        }
    }
    return data;
}

quant::PairedQ4Rows paired(const std::vector<std::byte>& rows, const Q4Case& c) {
    const size_t row_bytes = c.blocks * kQ4BlockBytes;
    auto m = quant::pair_q4_0_rows(c.rows, c.blocks * 32, [&](size_t r, std::span<std::byte> blocks) -> Status {
        std::memcpy(blocks.data(), rows.data() + r * row_bytes, row_bytes);
        return {};
    });
    EXPECT_TRUE(m.ok());
    return std::move(m).value();
}

std::vector<float> run(Q4MatmulFn fn, const quant::PairedQ4Rows& w, const std::vector<std::byte>& x, const Q4Case& c,
                       size_t row_begin = 0, size_t row_end = SIZE_MAX) {
    std::vector<float> out(c.tokens * c.rows, NAN);
    fn({.weights = &w, .x = x.data(), .n_tokens = c.tokens, .out = out.data(), .out_stride = c.rows,
        .row_begin = row_begin, .row_end = std::min(row_end, c.rows)});
    return out;
}

// The plain definition through ggml's own dequantisation of the weights.
double plain_dot(const std::byte* w_row, const std::byte* x_row, size_t blocks, double* magnitude) {
    std::vector<float> w(blocks * 32);
    quant::dequantize_row_q4_0(w_row, w.data(), w.size());
    double sum = 0;
    *magnitude = 0;
    for (size_t b = 0; b < blocks; ++b) {
        const std::byte* xb = x_row + b * kQ8BlockBytes;
        for (size_t i = 0; i < 32; ++i) {
            const double term = double(w[b * 32 + i]) * load_fp16(xb) * static_cast<int8_t>(xb[2 + i]);
            sum += term;
            *magnitude += std::fabs(term);
        }
    }
    return sum;
}

TEST(Q4Matmul, EveryIsaMatchesTheReferenceBitForBit) {
    std::mt19937 rng(19);
    const Q4Case cases[] = {{1, 1, 1, false}, {2, 3, 1, false}, {7, 80, 2, false}, {33, 17, 3, true},
                            {16, 80, 1, true}, {5, 1, 4, true},  {64, 2, 1, false}, {9, 5, 5, true},
                            {6, 3, 6, false},  {11, 80, 9, false}};   // token groups of 4 plus tails
    for (const Q4Case& c : cases) {
        const auto w = random_q4(c.rows, c.blocks, rng, c.extremes);
        const auto x = random_q8(c.tokens, c.blocks, rng, c.extremes);
        const quant::PairedQ4Rows pw = paired(w, c);
        const std::vector<float> want = run(ref::q4_matmul, pw, x, c);
        for (size_t t = 0; t < c.tokens; ++t)
            for (size_t r = 0; r < c.rows; ++r) {
                double magnitude = 0;
                const double plain = plain_dot(w.data() + r * c.blocks * kQ4BlockBytes, x.data() + t * c.blocks * kQ8BlockBytes,
                                               c.blocks, &magnitude);
                EXPECT_NEAR(want[t * c.rows + r], plain, 1e-5 * magnitude + 1e-30) << "row " << r << " token " << t;
            }
        for (Isa isa : isas_supported_here()) {
            const std::vector<float> got = run(kernel_table(isa).q4_matmul, pw, x, c);
            EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
                << isa_name(isa) << " rows " << c.rows << " blocks " << c.blocks << " tokens " << c.tokens;
        }
    }
}

TEST(Q4Matmul, APartialRowRangeWritesExactlyThoseRows) {
    std::mt19937 rng(14);
    const Q4Case c{9, 4, 3, false};
    const auto w = random_q4(c.rows, c.blocks, rng, false);
    const auto x = random_q8(c.tokens, c.blocks, rng, false);
    const quant::PairedQ4Rows pw = paired(w, c);
    const std::vector<float> whole = run(ref::q4_matmul, pw, x, c);
    for (Isa isa : isas_supported_here()) {
        for (auto [begin, end] : {std::pair<size_t, size_t>{2, 5}, {4, 9}, {0, 1}, {8, 9}}) {
            const std::vector<float> part = run(kernel_table(isa).q4_matmul, pw, x, c, begin, end);
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
