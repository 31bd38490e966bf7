// The row-pair layout of the head (Q8_0 and Q4_0) keeps every row's blocks bit for bit, pads an
// odd last row with zeros, and rejects shapes the kernels cannot take.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/str_cat.h"
#include "quant/block_formats.h"
#include "quant/paired_head_rows.h"

namespace tern::quant {
namespace {

std::vector<std::byte> random_rows(size_t rows, size_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    std::vector<float> values(cols);
    std::vector<std::byte> q8(rows * cols / 32 * kQ8_0BlockBytes);
    for (size_t r = 0; r < rows; ++r) {
        for (float& v : values) v = normal(rng);
        quantize_row_q8_0(values.data(), q8.data() + r * cols / 32 * kQ8_0BlockBytes, cols);
    }
    return q8;
}

Result<PairedQ8Rows> pair(const std::vector<std::byte>& q8, size_t rows, size_t cols, int threads = 1) {
    const size_t row_bytes = cols / 32 * kQ8_0BlockBytes;
    return pair_q8_0_rows(rows, cols, [&](size_t r, std::span<std::byte> blocks) -> Status {
        EXPECT_EQ(blocks.size(), row_bytes);
        std::memcpy(blocks.data(), q8.data() + r * row_bytes, row_bytes);
        return {};
    }, threads);
}

TEST(PairedQ8Rows, EveryRowComesBackBitForBit) {
    for (auto [rows, cols] : {std::pair<size_t, size_t>{1, 32}, {2, 64}, {7, 96}, {16, 2560}}) {
        const std::vector<std::byte> q8 = random_rows(rows, cols, 3);
        auto m = pair(q8, rows, cols);
        ASSERT_TRUE(m.ok()) << m.error().message();
        EXPECT_EQ(m.value().n_pairs(), (rows + 1) / 2);
        EXPECT_EQ(m.value().bytes(), m.value().n_pairs() * cols / 32 * 68);
        const size_t row_bytes = cols / 32 * kQ8_0BlockBytes;
        std::vector<std::byte> back(row_bytes);
        for (size_t r = 0; r < rows; ++r) {
            unpair_q8_0_row(m.value(), r, back);
            EXPECT_EQ(0, std::memcmp(back.data(), q8.data() + r * row_bytes, row_bytes)) << rows << " x " << cols << " row " << r;
        }
    }
}

TEST(PairedQ8Rows, LaysOutEachBlockPairAsOneLineWithScalesApart) {
    const std::vector<std::byte> q8 = random_rows(3, 64, 5);
    auto m = pair(q8, 3, 64);
    ASSERT_TRUE(m.ok());
    const PairedQ8Rows& p = m.value();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.quants.data()) % 64, 0u);
    // Row 1, block 1: quants in the second half of pair 0's second line, scale at [0][1][1].
    EXPECT_EQ(0, std::memcmp(p.pair_quants(0) + 64 + 32, q8.data() + (2 + 1) * 34 + 2, 32));
    EXPECT_EQ(0, std::memcmp(&p.pair_scales(0)[2 * 1 + 1], q8.data() + (2 + 1) * 34, 2));
    // Row 2 is alone in pair 1: its partner is zeros with scale 0.
    for (size_t b = 0; b < 2; ++b) {
        EXPECT_EQ(p.pair_scales(1)[2 * b + 1], 0);
        for (size_t i = 0; i < 32; ++i) EXPECT_EQ(p.pair_quants(1)[b * 64 + 32 + i], 0);
    }
}

TEST(PairedQ8Rows, RejectsShapesAndPassesOnSourceErrors) {
    const auto never = [](size_t, std::span<std::byte>) -> Status { return {}; };
    EXPECT_FALSE(pair_q8_0_rows(0, 32, never).ok());
    EXPECT_FALSE(pair_q8_0_rows(4, 0, never).ok());
    const auto bad_cols = pair_q8_0_rows(4, 48, never);
    ASSERT_FALSE(bad_cols.ok());
    EXPECT_NE(bad_cols.error().message().find("48"), std::string::npos);
    const auto failing = pair_q8_0_rows(4, 32, [](size_t r, std::span<std::byte>) -> Status {
        if (r == 2) return Error("row 2 is broken");
        return {};
    });
    ASSERT_FALSE(failing.ok());
    EXPECT_NE(failing.error().message().find("row 2 is broken"), std::string::npos);
    // With several threads, the lowest failing row is reported, whichever fails first.
    const auto two_failures = pair_q8_0_rows(
        300, 32,
        [](size_t r, std::span<std::byte>) -> Status {
            if (r == 3 || r == 250) return Error(str_cat("row ", r, " is broken"));
            return {};
        },
        2);
    ASSERT_FALSE(two_failures.ok());
    EXPECT_EQ(two_failures.error().message(), "row 3 is broken");
}

TEST(PairedQ8Rows, ThreadsDoNotChangeTheResult) {
    const std::vector<std::byte> q8 = random_rows(301, 64, 8);
    const auto one = pair(q8, 301, 64, 1), two = pair(q8, 301, 64, 2);
    ASSERT_TRUE(one.ok() && two.ok());
    EXPECT_EQ(0, std::memcmp(one.value().quants.data(), two.value().quants.data(), one.value().quants.size_bytes()));
    EXPECT_EQ(0, std::memcmp(one.value().scales.data(), two.value().scales.data(), one.value().scales.size_bytes()));
}

TEST(PairedQ4Rows, EveryRowComesBackBitForBitInHalfTheLine) {
    for (auto [rows, cols] : {std::pair<size_t, size_t>{1, 32}, {3, 64}, {16, 2560}}) {
        std::mt19937 rng(11);
        std::normal_distribution<float> normal(0.0f, 0.3f);
        std::vector<float> values(cols);
        const size_t row_bytes = cols / 32 * kQ4_0BlockBytes;
        std::vector<std::byte> q4(rows * row_bytes);
        for (size_t r = 0; r < rows; ++r) {
            for (float& v : values) v = normal(rng);
            quantize_row_q4_0(values.data(), q4.data() + r * row_bytes, cols);
        }
        auto m = pair_q4_0_rows(rows, cols, [&](size_t r, std::span<std::byte> blocks) -> Status {
            EXPECT_EQ(blocks.size(), row_bytes);
            std::memcpy(blocks.data(), q4.data() + r * row_bytes, row_bytes);
            return {};
        });
        ASSERT_TRUE(m.ok()) << m.error().message();
        const PairedQ4Rows& p = m.value();
        EXPECT_EQ(p.bytes(), p.n_pairs() * cols / 32 * 36);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p.quants.data()) % 64, 0u);
        std::vector<std::byte> back(row_bytes);
        for (size_t r = 0; r < rows; ++r) {
            unpair_q4_0_row(p, r, back);
            EXPECT_EQ(0, std::memcmp(back.data(), q4.data() + r * row_bytes, row_bytes)) << rows << " x " << cols << " row " << r;
        }
        if (rows == 3) {   // row 1, block 1: second half of pair 0's second 32-byte line; row 2's partner is zeros
            EXPECT_EQ(0, std::memcmp(p.pair_quants(0) + 32 + 16, q4.data() + row_bytes + 18 + 2, 16));
            for (size_t i = 0; i < 16; ++i) EXPECT_EQ(p.pair_quants(1)[16 + i], 0);
            EXPECT_EQ(p.pair_scales(1)[1], 0);
        }
    }
    EXPECT_FALSE(pair_q4_0_rows(4, 48, [](size_t, std::span<std::byte>) -> Status { return {}; }).ok());
}

}  // namespace
}  // namespace tern::quant
