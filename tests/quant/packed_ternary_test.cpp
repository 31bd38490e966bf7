// tern's packed ternary layouts: every layout holds the same values and scales, conversions
// between them are exact, and the base-3 byte code decodes all 243 five-weight patterns.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "quant/packed_ternary.h"

namespace tern::quant {
namespace {

std::vector<int8_t> random_values(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int8_t> v(n);
    for (int8_t& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
    return v;
}

PackedTernary pack(const std::vector<int8_t>& values, size_t rows, size_t cols) {
    auto m = pack_ternary(rows, cols, [&](size_t r, std::span<int8_t> out) -> Result<float> {
        std::copy_n(values.begin() + static_cast<ptrdiff_t>(r * cols), cols, out.begin());
        return 0.5f + static_cast<float>(r);
    });
    EXPECT_TRUE(m.ok());
    return std::move(m).value();
}

void expect_values(const PackedTernary& m, const std::vector<int8_t>& values, size_t rows, size_t cols) {
    for (size_t r = 0; r < m.rows_padded; ++r) {
        for (size_t c = 0; c < m.cols_padded; ++c) {
            const int want = r < rows && c < cols ? values[r * cols + c] : 0;
            ASSERT_EQ(packed_ternary_value(m, r, c), want) << "row " << r << " col " << c;
        }
        if (r < rows) {
            ASSERT_EQ(m.row_scale[r], 0.5f + static_cast<float>(r));
        }
    }
}

TEST(PackedTernary, Base3DecodesEveryFiveWeightPattern) {
    // 243 rows, each one pattern in columns 0, 64, 128, 192, 256 of its first chunk.
    std::vector<int8_t> values(243 * 320, 0);
    for (size_t p = 0; p < 243; ++p) {
        size_t rest = p;
        for (size_t i = 0; i < 5; ++i, rest /= 3) values[p * 320 + 64 * i] = static_cast<int8_t>(static_cast<int>(rest % 3) - 1);
    }
    PackedTernary m = pack(values, 243, 320);
    convert_layout(m, TernaryLayout::kBase3);
    EXPECT_EQ(m.cols_padded, 320u);
    EXPECT_EQ(m.codes.size(), m.rows_padded * 64);
    expect_values(m, values, 243, 320);
}

TEST(PackedTernary, ConversionsBetweenLayoutsAreExact) {
    for (auto [rows, cols] : {std::pair<size_t, size_t>{5, 1000}, {4, 320}, {7, 6912}, {1, 1}}) {
        SCOPED_TRACE(testing::Message() << rows << " x " << cols);
        const std::vector<int8_t> values = random_values(rows * cols, static_cast<uint32_t>(cols));
        PackedTernary m = pack(values, rows, cols);
        for (TernaryLayout layout : {TernaryLayout::kBase3, TernaryLayout::kSignPlanes, TernaryLayout::kBase3,
                                     TernaryLayout::kCodes}) {
            convert_layout(m, layout);
            ASSERT_EQ(m.layout, layout);
            EXPECT_EQ(m.cols_padded % layout_chunk_cols(layout), 0u);
            EXPECT_LT(m.cols_padded - cols, layout_chunk_cols(layout));
            EXPECT_EQ(m.codes.size(), m.n_tiles() * m.tile_bytes());
            expect_values(m, values, rows, cols);
        }
    }
}

TEST(PackedTernary, SignPlanesCarryTheirRowBias) {
    const size_t rows = 6, cols = 700;
    const std::vector<int8_t> values = random_values(rows * cols, 9);
    PackedTernary m = pack(values, rows, cols);
    EXPECT_EQ(m.sign_planes_bias.size(), 0u);
    convert_layout(m, TernaryLayout::kSignPlanes);
    ASSERT_EQ(m.sign_planes_bias.size(), m.rows_padded);
    for (size_t r = 0; r < m.rows_padded; ++r) {
        uint32_t want = 0;
        for (size_t c = 0; r < rows && c < cols; ++c) want += values[r * cols + c] > 0 ? 128 : values[r * cols + c] < 0 ? 127 : 0;
        EXPECT_EQ(m.sign_planes_bias[r], want) << "row " << r;
    }
    EXPECT_EQ(m.weight_bytes(), m.codes.size_bytes() + m.row_scale.size_bytes() + m.rows_padded * sizeof(uint32_t));
    convert_layout(m, TernaryLayout::kBase3);
    EXPECT_EQ(m.sign_planes_bias.size(), 0u);
}

TEST(PackedTernary, Base3StoresFivePerByte) {
    const std::vector<int8_t> values = random_values(8 * 6400, 3);
    PackedTernary m = pack(values, 8, 6400);
    const size_t two_bit = m.codes.size();
    convert_layout(m, TernaryLayout::kBase3);
    EXPECT_EQ(two_bit, 8u * 6400 / 4);
    EXPECT_EQ(m.codes.size(), 8u * 6400 / 5);
}

// The first value outside {-1, 0, +1} is the one reported, whichever it is (2, -2, +-128).
TEST(PackedTernary, RefusesTheFirstNonTernaryValue) {
    for (const int8_t bad : {int8_t{2}, int8_t{-2}, int8_t{127}, int8_t{-128}}) {
        std::vector<int8_t> values = random_values(3 * 300, 4);
        values[1 * 300 + 201] = bad;
        values[1 * 300 + 250] = 5;   // later in the same row: not the one reported
        auto m = pack_ternary(3, 300, [&](size_t r, std::span<int8_t> out) -> Result<float> {
            std::copy_n(values.begin() + static_cast<ptrdiff_t>(r * 300), 300, out.begin());
            return 1.0f;
        });
        ASSERT_FALSE(m.ok());
        EXPECT_EQ(m.error().message(), "row 1 column 201: value " + std::to_string(bad) + " is not ternary");
    }
}

}  // namespace
}  // namespace tern::quant
