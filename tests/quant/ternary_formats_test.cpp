#include "quant/ternary_formats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "testing/test_files.h"

namespace tern::quant {
namespace {

void set_u16(std::byte* p, uint16_t v) { std::memcpy(p, &v, 2); }

TEST(TernaryFormats, Tq2_0HandBuiltBlock) {
    std::byte block[66];
    std::memset(block, 0x55, 64);   // every code 1: all zeros
    set_u16(block + 64, 0x3800);    // d = 0.5
    block[0] = std::byte{0x92};     // codes (low bits first) 2, 0, 1, 2 -> e = 0, 32, 64, 96
    block[37] = std::byte{0x80};    // second half, m = 5: codes 0, 0, 0, 2 -> e = 133, 165, 197, 229
    float out[256];
    dequantize_row_tq2_0(block, out, 256);
    EXPECT_EQ(out[0], 0.5f);
    EXPECT_EQ(out[32], -0.5f);
    EXPECT_EQ(out[64], 0.0f);
    EXPECT_EQ(out[96], 0.5f);
    EXPECT_EQ(out[133], -0.5f);
    EXPECT_EQ(out[165], -0.5f);
    EXPECT_EQ(out[197], -0.5f);
    EXPECT_EQ(out[229], 0.5f);
    EXPECT_EQ(out[1], 0.0f);
    EXPECT_EQ(out[255], 0.0f);
}

TEST(TernaryFormats, Tq1_0HandBuiltBlock) {
    std::byte block[54];
    std::memset(block, 0x80, 52);   // 0x80 decodes to trit 1 (zero) at every position
    set_u16(block + 52, 0x3c00);    // d = 1
    // qs[0]: trits 2,0,1,1,2 -> v = 176 -> ceil(176 * 256 / 243) = 186.
    block[0] = std::byte{186};
    // qs[35] (16-byte region, f = 3): trits 0,1,1,1,1 -> v = 40 -> 43.
    block[35] = std::byte{43};
    // qh[1]: trits 0,2,1,1 (+ pad) -> v = 22 * 3 = 66 -> 70.
    block[49] = std::byte{70};
    float out[256];
    dequantize_row_tq1_0(block, out, 256);
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[32], -1.0f);
    EXPECT_EQ(out[64], 0.0f);
    EXPECT_EQ(out[96], 0.0f);
    EXPECT_EQ(out[128], 1.0f);
    EXPECT_EQ(out[163], -1.0f);
    EXPECT_EQ(out[179], 0.0f);
    EXPECT_EQ(out[241], -1.0f);
    EXPECT_EQ(out[245], 1.0f);
    EXPECT_EQ(out[249], 0.0f);
    EXPECT_EQ(out[253], 0.0f);
    for (int e : {1, 31, 159, 160, 239, 240, 255}) EXPECT_EQ(out[e], 0.0f) << e;
}

TEST(TernaryFormats, I2sHandBuiltTensor) {
    std::vector<std::byte> data(32 + 32, std::byte{0});
    std::memset(data.data(), 0x55, 32);
    data[0] = std::byte{0x86};   // codes (high bits first) 2, 0, 1, 2 -> e = 0, 32, 64, 96
    data[31] = std::byte{0x01};  // e = 31, 63, 95 -> code 0; e = 127 -> code 1
    const float scale = 1.5f;
    std::memcpy(data.data() + 32, &scale, 4);
    std::vector<float> out(128);
    ASSERT_TRUE(dequantize_i2_s(data, out).ok());
    EXPECT_EQ(out[0], 1.5f);
    EXPECT_EQ(out[32], -1.5f);
    EXPECT_EQ(out[64], 0.0f);
    EXPECT_EQ(out[96], 1.5f);
    EXPECT_EQ(out[31], -1.5f);
    EXPECT_EQ(out[127], 0.0f);
    EXPECT_EQ(out[1], 0.0f);
}

TEST(TernaryFormats, I2sRefusesBadScalesAndSizes) {
    std::vector<std::byte> data(64, std::byte{0x55});
    std::vector<float> out(128);
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -1.0f}) {
        std::memcpy(data.data() + 32, &bad, 4);
        auto status = dequantize_i2_s(data, out);
        ASSERT_FALSE(status.ok());
        EXPECT_NE(status.error().message().find("expected a finite number >= 0"), std::string::npos);
    }
    std::vector<float> wrong(100);
    EXPECT_FALSE(dequantize_i2_s(data, wrong).ok());
    EXPECT_FALSE(dequantize_i2_s(std::span(data).first(63), out).ok());
}

// Weights already ternary ({-s, 0, +s}, s exact in fp16) survive every format exactly.
std::vector<float> ternary_weights(size_t n, float s, uint64_t seed) {
    const auto r = testing::random_floats(n, seed);
    std::vector<float> w(n);
    for (size_t i = 0; i < n; ++i) w[i] = r[i] < -0.33f ? -s : (r[i] > 0.33f ? s : 0.0f);
    return w;
}

TEST(TernaryFormats, QuantiseDequantiseIsExactForTernaryWeights) {
    const size_t n = 1024;
    const auto w = ternary_weights(n, 0.75f, 9);
    std::vector<float> y(n);
    std::vector<std::byte> tq2(n / 256 * kTq2BlockBytes), tq1(n / 256 * kTq1BlockBytes), i2s(i2_s_tensor_bytes(n));
    quantize_row_tq2_0(w.data(), tq2.data(), n);
    dequantize_row_tq2_0(tq2.data(), y.data(), n);
    EXPECT_EQ(y, w);
    quantize_row_tq1_0(w.data(), tq1.data(), n);
    dequantize_row_tq1_0(tq1.data(), y.data(), n);
    EXPECT_EQ(y, w);
    quantize_i2_s(w, i2s);
    ASSERT_TRUE(dequantize_i2_s(i2s, y).ok());
    EXPECT_EQ(y, w);
}

TEST(TernaryFormats, AllZeroBlocksHaveZeroScale) {
    std::vector<float> zeros(256, 0.0f), y(256, 1.0f);
    std::vector<std::byte> tq2(kTq2BlockBytes), tq1(kTq1BlockBytes);
    quantize_row_tq2_0(zeros.data(), tq2.data(), 256);
    EXPECT_EQ(tq2[64], std::byte{0});
    EXPECT_EQ(tq2[65], std::byte{0});
    dequantize_row_tq2_0(tq2.data(), y.data(), 256);
    EXPECT_EQ(y, zeros);
    quantize_row_tq1_0(zeros.data(), tq1.data(), 256);
    dequantize_row_tq1_0(tq1.data(), y.data(), 256);
    EXPECT_EQ(y, zeros);
}

TEST(TernaryFormats, I2sAndTq2ShareCodesInReverseBitOrder) {
    // One 128-element I2_S group is half a TQ2_0 block with each byte's fields reversed.
    const auto w = ternary_weights(256, 1.0f, 4);
    std::vector<std::byte> tq2(kTq2BlockBytes), i2s(i2_s_tensor_bytes(256));
    quantize_row_tq2_0(w.data(), tq2.data(), 256);
    quantize_i2_s(w, i2s);
    for (int m = 0; m < 64; ++m) {
        const auto t = static_cast<uint8_t>(tq2[m]);
        const auto i = static_cast<uint8_t>(i2s[m]);
        const auto reversed = static_cast<uint8_t>(((t & 3) << 6) | (((t >> 2) & 3) << 4) | (((t >> 4) & 3) << 2) | (t >> 6));
        EXPECT_EQ(reversed, i) << m;
    }
}

// The code-based encoders are the exact inverses of the block decoders, every code in every slot.
TEST(TernaryFormats, BlocksFromCodesDecodeToThoseCodes) {
    uint8_t codes[256], back[256];
    for (int seed = 0; seed < 3; ++seed) {
        for (int e = 0; e < 256; ++e) codes[e] = static_cast<uint8_t>((e * 7 + seed * 13 + e / 5) % 3);
        std::byte tq2[kTq2BlockBytes], tq1[kTq1BlockBytes], i2s[32];
        tq2_0_block_from_codes(codes, 0.375f, tq2);
        tq2_0_block_codes(tq2, back);
        EXPECT_EQ(0, std::memcmp(codes, back, 256));
        tq1_0_block_from_codes(codes, 0.375f, tq1);
        tq1_0_block_codes(tq1, back);
        EXPECT_EQ(0, std::memcmp(codes, back, 256));
        i2_s_group_from_codes(codes, i2s);
        i2_s_group_codes(i2s, back);
        EXPECT_EQ(0, std::memcmp(codes, back, 128));
        std::vector<float> row(256);
        dequantize_row_tq1_0(tq1, row.data(), 256);
        for (int e = 0; e < 256; ++e) ASSERT_EQ(row[e], 0.375f * (static_cast<int>(codes[e]) - 1));
    }
}

}  // namespace
}  // namespace tern::quant
