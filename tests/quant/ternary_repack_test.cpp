// Repacking every ternary storage format into tern's layout must reproduce the format's own
// reference dequantisation exactly: packed value * row scale == dequantised float.
#include "quant/ternary_repack.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/float16.h"
#include "core/str_cat.h"
#include "quant/ternary_formats.h"

namespace tern::quant {
namespace {

using format::GgmlType;

std::vector<float> random_ternary(size_t rows, size_t cols, float scale, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<float> w(rows * cols);
    for (float& v : w) v = static_cast<float>(static_cast<int>(rng() % 3) - 1) * scale;
    return w;
}

void expect_matches_dequantised(const PackedTernary& m, const std::vector<float>& dequantised) {
    ASSERT_EQ(dequantised.size(), m.rows * m.cols);
    for (size_t r = 0; r < m.rows; ++r) {
        for (size_t c = 0; c < m.cols; ++c) {
            const float got = static_cast<float>(packed_ternary_value(m, r, c)) * m.row_scale[r];
            ASSERT_EQ(got, dequantised[r * m.cols + c]) << "row " << r << " col " << c;
        }
    }
    for (size_t r = m.rows; r < m.rows_padded; ++r) EXPECT_EQ(m.row_scale[r], 0.0f);
    for (size_t c = m.cols; c < m.cols_padded; ++c) ASSERT_EQ(packed_ternary_value(m, 0, c), 0);
}

TEST(TernaryRepack, Tq2AndTq1MatchTheirDequantisers) {
    const size_t rows = 7, cols = 512;
    const float scale = fp16_to_fp32(fp32_to_fp16(0.37f));
    const std::vector<float> w = random_ternary(rows, cols, scale, 1);
    for (GgmlType type : {GgmlType::kTQ2_0, GgmlType::kTQ1_0}) {
        SCOPED_TRACE(static_cast<int>(type));
        const bool tq2 = type == GgmlType::kTQ2_0;
        const size_t row_bytes = cols / 256 * (tq2 ? kTq2BlockBytes : kTq1BlockBytes);
        std::vector<std::byte> data(rows * row_bytes);
        std::vector<float> dequantised(rows * cols);
        for (size_t r = 0; r < rows; ++r) {
            if (tq2) {
                quantize_row_tq2_0(&w[r * cols], &data[r * row_bytes], cols);
                dequantize_row_tq2_0(&data[r * row_bytes], &dequantised[r * cols], cols);
            } else {
                quantize_row_tq1_0(&w[r * cols], &data[r * row_bytes], cols);
                dequantize_row_tq1_0(&data[r * row_bytes], &dequantised[r * cols], cols);
            }
        }
        auto packed = repack_ggml_ternary(type, data, rows, cols);
        ASSERT_TRUE(packed.ok()) << packed.error().message();
        expect_matches_dequantised(packed.value(), dequantised);
    }
}

TEST(TernaryRepack, I2sMatchesItsDequantiserAndFoldsTheExtraScale) {
    // Rows that start inside a 128-weight group (192 columns), and rows of whole groups.
    for (const auto& [rows, cols] : {std::pair<size_t, size_t>{6, 192}, {5, 384}, {3, 2560}}) {
        const std::vector<float> w = random_ternary(rows, cols, 1.25f, 2);
        std::vector<std::byte> data(i2_s_tensor_bytes(w.size()));
        quantize_i2_s(w, data);
        std::vector<float> dequantised(w.size());
        ASSERT_TRUE(dequantize_i2_s(data, dequantised).ok());
        auto packed = repack_ggml_ternary(GgmlType::kI2_S, data, rows, cols);
        ASSERT_TRUE(packed.ok()) << packed.error().message();
        expect_matches_dequantised(packed.value(), dequantised);

        auto scaled = repack_ggml_ternary(GgmlType::kI2_S, data, rows, cols, 2.0f);
        ASSERT_TRUE(scaled.ok());
        EXPECT_EQ(scaled.value().row_scale[0], 2.5f);
    }
}

TEST(TernaryRepack, I2sCode3IsReportedWhereItIs) {
    for (const size_t cols : {192, 384}) {
        const size_t rows = 4;
        std::vector<std::byte> data(i2_s_tensor_bytes(rows * cols), std::byte{0x55});   // all zero weights
        std::memset(data.data() + rows * cols / 4, 0, 32);
        // Weight 32 * 2 + 7 = 71 of a group that starts in row 2 (at column 0 or 128).
        const size_t group_in_row = cols % 128 == 0 ? 128 : 0, group_start = 2 * cols + group_in_row;
        data[group_start / 4 + 7] = std::byte{0x55 | (3 << (6 - 2 * 2))};
        auto bad = repack_ggml_ternary(GgmlType::kI2_S, data, rows, cols);
        ASSERT_FALSE(bad.ok()) << cols;
        EXPECT_EQ(bad.error().message(), str_cat("row 2 column ", group_in_row + 71, ": code 3 is not a ternary value")) << cols;
    }
}

TEST(TernaryRepack, TqRowWithDifferingBlockScalesIsRefused) {
    const size_t cols = 512;
    std::vector<float> w = random_ternary(1, cols, 1.0f, 3);
    for (size_t c = 256; c < cols; ++c) w[c] *= 2.0f;   // second block has another scale
    std::vector<std::byte> data(2 * kTq2BlockBytes);
    quantize_row_tq2_0(w.data(), data.data(), cols);
    auto packed = repack_ggml_ternary(GgmlType::kTQ2_0, data, 1, cols);
    ASSERT_FALSE(packed.ok());
    EXPECT_EQ(packed.error().message(),
              "row 0: block 0 has scale 1 but block 1 has 2; tern needs one ternary scale per row "
              "(a block-wise quantised float model?)");
}

TEST(TernaryRepack, AllZeroBlocksDoNotConstrainTheScale) {
    const size_t cols = 512;
    std::vector<float> w = random_ternary(1, cols, 0.5f, 4);
    for (size_t c = 0; c < 256; ++c) w[c] = 0.0f;   // block 0 quantises with d = 0
    std::vector<std::byte> data(2 * kTq2BlockBytes);
    quantize_row_tq2_0(w.data(), data.data(), cols);
    auto packed = repack_ggml_ternary(GgmlType::kTQ2_0, data, 1, cols);
    ASSERT_TRUE(packed.ok()) << packed.error().message();
    EXPECT_EQ(packed.value().row_scale[0], 0.5f);
}

TEST(TernaryRepack, Code3AndWrongSizesAreErrors) {
    std::vector<std::byte> data(kTq2BlockBytes, std::byte{0x55});
    data[5] = std::byte{0x57};   // element 5 gets code 3
    store_fp16(data.data() + 64, 1.0f);
    auto bad_code = repack_ggml_ternary(GgmlType::kTQ2_0, data, 1, 256);
    ASSERT_FALSE(bad_code.ok());
    EXPECT_EQ(bad_code.error().message(), "row 0 column 5: code 3 is not a ternary value");

    auto short_data = repack_ggml_ternary(GgmlType::kTQ2_0, std::span(data).first(60), 1, 256);
    ASSERT_FALSE(short_data.ok());
    EXPECT_EQ(short_data.error().message(), "TQ2_0 tensor 256x1 needs 66 bytes, got 60");

    auto not_blocks = repack_ggml_ternary(GgmlType::kTQ1_0, data, 1, 100);
    ASSERT_FALSE(not_blocks.ok());
    EXPECT_EQ(not_blocks.error().message(), "TQ1_0 rows of 100 elements are not whole 256-element blocks");

    auto not_ternary = repack_ggml_ternary(GgmlType::kQ8_0, data, 1, 256);
    ASSERT_FALSE(not_ternary.ok());
    EXPECT_EQ(not_ternary.error().message(), "type Q8_0 is not a ternary type (expected TQ1_0, TQ2_0 or I2_S)");
}

TEST(TernaryRepack, HfPackedPlanesAreAlongTheOutputDimension) {
    const size_t rows = 8, cols = 3;
    // Row i*2 + r of W lives in bits 2i of packed[r, c] (R = rows / 4 = 2).
    std::vector<int> t(rows * cols);
    std::mt19937 rng(5);
    for (int& v : t) v = static_cast<int>(rng() % 3) - 1;
    std::vector<uint8_t> packed(2 * cols, 0);
    for (size_t row = 0; row < rows; ++row) {
        for (size_t c = 0; c < cols; ++c) {
            packed[(row % 2) * cols + c] |= static_cast<uint8_t>((t[row * cols + c] + 1) << (2 * (row / 2)));
        }
    }
    auto m = repack_hf_packed(packed, rows, cols, 0.75f);
    ASSERT_TRUE(m.ok()) << m.error().message();
    for (size_t row = 0; row < rows; ++row) {
        for (size_t c = 0; c < cols; ++c) EXPECT_EQ(packed_ternary_value(m.value(), row, c), t[row * cols + c]);
        EXPECT_EQ(m.value().row_scale[row], 0.75f);
    }
    auto wrong = repack_hf_packed(packed, rows, cols + 1, 1.0f);
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().message(), "packed uint8 weight for 8x4 needs shape [2, 4] (8 bytes), got 6 bytes");
}

TEST(TernaryRepack, ExactTernaryFloatsAndAbsmean) {
    const std::vector<float> w = random_ternary(3, 40, 0.125f, 6);
    auto exact = pack_exact_ternary(w, 3, 40);
    ASSERT_TRUE(exact.ok());
    expect_matches_dequantised(exact.value(), w);

    std::vector<float> off = w;
    off[17] = 0.2f;
    auto refused = pack_exact_ternary(off, 3, 40);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message().find("row 0 column 17: 0.2 is not 0 or +-0.125"), std::string::npos)
        << refused.error().message();

    // Latent weights: mean|W| = 1, so s = 1 and T = round(W) clamped.
    const std::vector<float> latent = {0.4f, 0.5f, 0.6f, -1.5f, 2.0f, -0.5f, 1.5f, 1.0f};
    auto t = ternarize_absmean(latent, 2, 4);
    ASSERT_TRUE(t.ok());
    const int want[] = {0, 0, 1, -1, 1, 0, 1, 1};   // 0.5 -> 0 and -0.5 -> 0: half to even
    for (size_t i = 0; i < 8; ++i) EXPECT_EQ(packed_ternary_value(t.value(), i / 4, i % 4), want[i]) << i;
    EXPECT_EQ(t.value().row_scale[0], 1.0f);
}

}  // namespace
}  // namespace tern::quant

namespace tern::quant {
namespace {

// a = mean|W| = 0.75: |w| > 0.375 kept with its sign; the multiplier is the mean |w| of the kept.
TEST(TernarizeThreshold, KeepsWeightsAboveHalfTheMeanAndFitsTheirScale) {
    const std::vector<float> w = {2.0f, -0.4f, 0.5f, -1.1f, 0.0f, 0.6f, -0.2f, 1.2f};
    auto packed = ternarize_threshold(w, 2, 4);
    ASSERT_TRUE(packed.ok()) << packed.error().message();
    const int expected[] = {1, -1, 1, -1, 0, 1, 0, 1};
    for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(packed_ternary_value(packed.value(), i / 4, i % 4), expected[i]) << i;
    double kept = 0;   // the float weights, summed in double
    for (float v : {2.0f, 0.4f, 0.5f, 1.1f, 0.6f, 1.2f}) kept += v;
    const float fitted = static_cast<float>(kept / 6.0);
    EXPECT_EQ(packed.value().row_scale.data()[0], fitted);
    EXPECT_EQ(packed.value().row_scale.data()[1], fitted);
}

TEST(TernarizeThreshold, RefusesNonFiniteWeightsAndBadShapes) {
    const std::vector<float> w = {1.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f, 1.0f};
    auto nan = ternarize_threshold(w, 1, 4);
    ASSERT_FALSE(nan.ok());
    EXPECT_NE(nan.error().message().find("not finite"), std::string::npos);
    EXPECT_FALSE(ternarize_threshold(w, 2, 4).ok());
}

}  // namespace
}  // namespace tern::quant
