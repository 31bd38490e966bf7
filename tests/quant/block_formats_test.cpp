// Dequantisers checked against blocks built by hand, with expected values worked out by
// hand from the layouts in docs/formats.md.
#include "quant/block_formats.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/float16.h"
#include "testing/test_files.h"

namespace tern::quant {
namespace {

template <size_t N>
std::array<std::byte, N> zero_block() {
    std::array<std::byte, N> block{};
    return block;
}

void set_u16(std::byte* p, uint16_t v) { std::memcpy(p, &v, 2); }
void set(std::byte* p, size_t i, int v) { p[i] = static_cast<std::byte>(static_cast<uint8_t>(v)); }

TEST(BlockFormats, Q8_0HandBuiltBlock) {
    auto block = zero_block<34>();
    set_u16(block.data(), 0x3800);  // d = 0.5
    set(block.data(), 2, -128);
    set(block.data(), 3, 127);
    set(block.data(), 33, -1);
    float out[32];
    dequantize_row_q8_0(block.data(), out, 32);
    EXPECT_EQ(out[0], -64.0f);
    EXPECT_EQ(out[1], 63.5f);
    EXPECT_EQ(out[2], 0.0f);
    EXPECT_EQ(out[31], -0.5f);
}

TEST(BlockFormats, Q4_0HandBuiltBlock) {
    auto block = zero_block<18>();
    set_u16(block.data(), 0x4000);  // d = 2
    set(block.data(), 2, 0x0f);     // y[0] = (15-8)*2, y[16] = (0-8)*2
    set(block.data(), 17, 0x98);    // y[15] = (8-8)*2, y[31] = (9-8)*2
    float out[32];
    dequantize_row_q4_0(block.data(), out, 32);
    EXPECT_EQ(out[0], 14.0f);
    EXPECT_EQ(out[16], -16.0f);
    EXPECT_EQ(out[15], 0.0f);
    EXPECT_EQ(out[31], 2.0f);
    EXPECT_EQ(out[1], -16.0f);
}

TEST(BlockFormats, Q4_KHandBuiltBlock) {
    auto block = zero_block<144>();
    std::byte* b = block.data();
    set_u16(b, 0x3c00);       // d = 1
    set_u16(b + 2, 0x3800);   // dmin = 0.5
    std::byte* s = b + 4;
    set(s, 0, 2);             // scale 0 = 2
    set(s, 4, 3);             // min 0 = 3
    set(s, 1, 5 | 0x40);      // scale 1 = 5; top bits feed scale 5
    set(s, 5, 1);             // min 1 = 1
    set(s, 8, 0x27);          // scale 4 = 7, min 4 = 2
    set(s, 9, 0x13);          // scale 5 = 3 | (1 << 4) = 19, min 5 = 1
    std::byte* qs = b + 16;
    set(qs, 0, 0x21);         // chunk 0: low nibble 1, high nibble 2
    set(qs, 64, 0xf0);        // chunk 2: low nibble 0, high nibble 15
    float out[256];
    dequantize_row_q4_k(b, out, 256);
    EXPECT_EQ(out[0], 1.0f * 2 * 1 - 0.5f * 3);     // 0.5
    EXPECT_EQ(out[32], 1.0f * 5 * 2 - 0.5f * 1);    // 9.5
    EXPECT_EQ(out[1], -1.5f);                       // q = 0: just -dmin*m
    EXPECT_EQ(out[128], 7.0f * 0 - 0.5f * 2);       // -1
    EXPECT_EQ(out[160], 19.0f * 15 - 0.5f * 1);     // 284.5
}

TEST(BlockFormats, Q6_KHandBuiltBlock) {
    auto block = zero_block<210>();
    std::byte* b = block.data();
    set_u16(b + 208, 0x3400);  // d = 0.25
    std::byte* sc = b + 192;
    set(sc, 0, 4);
    set(sc, 1, 10);
    set(sc, 2, -2);
    set(sc, 4, 1);
    set(sc, 6, 3);
    set(sc, 8, -1);
    set(b, 0, 0x3a);            // ql[0]: low 10, high 3
    set(b, 32, 0x05);           // ql[32]: low 5, high 0
    set(b, 128, 0xe4);          // qh[0]: 2-bit fields 0, 1, 2, 3
    set(b, 16, 0x0f);           // ql[16]
    set(b, 128 + 16, 0x03);     // qh[16]
    set(b, 64, 0x01);           // second half ql'[0]
    float out[256];
    dequantize_row_q6_k(b, out, 256);
    EXPECT_EQ(out[0], -22.0f);   // 0.25 * 4 * ((10 | 0) - 32)
    EXPECT_EQ(out[32], 5.5f);    // 0.25 * -2 * ((5 | 16) - 32)
    EXPECT_EQ(out[64], 0.75f);   // 0.25 * 1 * ((3 | 32) - 32)
    EXPECT_EQ(out[96], 12.0f);   // 0.25 * 3 * ((0 | 48) - 32)
    EXPECT_EQ(out[16], 77.5f);   // 0.25 * 10 * ((15 | 48) - 32)
    EXPECT_EQ(out[128], 7.75f);  // 0.25 * -1 * (1 - 32)
}

TEST(BlockFormats, Q8_0QuantiseIsWithinHalfAStep) {
    const auto x = testing::random_floats(256, 3);
    std::vector<std::byte> blocks(8 * 34);
    quantize_row_q8_0(x.data(), blocks.data(), 256);
    std::vector<float> y(256);
    dequantize_row_q8_0(blocks.data(), y.data(), 256);
    for (size_t i = 0; i < 256; ++i) {
        float amax = 0;
        for (size_t j = i / 32 * 32; j < i / 32 * 32 + 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        EXPECT_LE(std::fabs(y[i] - x[i]), amax / 127 * 0.5f + amax * 1e-3f) << i;
    }
}

// The byte-exact rule of llama.cpp's quantize_row_q8_0_ref (fmaxf, roundf), written plainly.
std::vector<std::byte> q8_0_by_the_rule(const std::vector<float>& x) {
    std::vector<std::byte> out;
    for (size_t b = 0; b < x.size() / 32; ++b) {
        float amax = 0.0f;
        for (size_t j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[b * 32 + j]));
        const float d = amax / 127.0f, inverse = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t half = fp32_to_fp16(d);
        out.push_back(static_cast<std::byte>(half & 0xff));
        out.push_back(static_cast<std::byte>(half >> 8));
        for (size_t j = 0; j < 32; ++j)
            out.push_back(static_cast<std::byte>(static_cast<int8_t>(std::round(x[b * 32 + j] * inverse))));
    }
    return out;
}

TEST(BlockFormats, Q8_0QuantiseMatchesTheRuleByteForByte) {
    std::vector<float> x = testing::random_floats(32 * 64, 11);
    // Ties: with amax 127 the inverse scale is 1, so k + 0.5 must round away from zero.
    for (size_t j = 0; j < 32; ++j) x[j] = j == 0 ? 127.0f : (static_cast<float>(j) - 16.0f) + (j % 2 ? 0.5f : -0.5f);
    for (size_t j = 32; j < 64; ++j) x[j] = 0.0f;                                     // all zero: d = 0
    for (size_t j = 64; j < 96; ++j) x[j] = 1e-30f * static_cast<float>(j % 7) - 2e-30f;   // tiny scale
    std::vector<std::byte> got(64 * 34);
    quantize_row_q8_0(x.data(), got.data(), x.size());
    const std::vector<std::byte> want = q8_0_by_the_rule(x);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "byte " << i << " of block " << i / 34;
}

TEST(BlockFormats, Q4_0QuantiseMatchesReferenceRule) {
    float x[32] = {};
    x[0] = -8.0f;   // largest magnitude: d = -8 / -8 = 1
    x[1] = 3.0f;
    x[2] = 7.4f;
    x[17] = -2.6f;
    std::byte block[18];
    quantize_row_q4_0(x, block, 32);
    float y[32];
    dequantize_row_q4_0(block, y, 32);
    // d = max / -8 = 1, so q = trunc(x + 8.5) and y = q - 8.
    EXPECT_EQ(y[0], -8.0f);
    EXPECT_EQ(y[1], 3.0f);
    EXPECT_EQ(y[2], 7.0f);
    EXPECT_EQ(y[17], -3.0f);
    EXPECT_EQ(y[5], 0.0f);
}

}  // namespace
}  // namespace tern::quant
