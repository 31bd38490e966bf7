// Dequantisers checked against blocks built by hand, with expected values worked out by
// hand from the layouts in docs/formats.md.
#include "quant/block_formats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
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

// Values for the Q6_K quantiser, the same on every platform (splitmix64, no <random>
// distribution): per block a power-of-two scale and one of five patterns: dense; every third
// value zero; the first group of 16 zero; all zero; one value in each group 1000 times larger.
std::vector<float> q6_k_test_values(size_t blocks) {
    uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&] {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    std::vector<float> x(blocks * 256);
    for (size_t b = 0; b < blocks; ++b) {
        const float scale = std::ldexp(1.0f, static_cast<int>(b % 13) - 6);
        for (size_t i = 0; i < 256; ++i) {
            float v = (static_cast<float>(next() >> 40) / 16777216.0f * 2.0f - 1.0f) * scale;
            switch (b % 5) {
                case 1: if (i % 3 == 0) v = 0.0f; break;
                case 2: if (i < 16) v = 0.0f; break;
                case 3: v = 0.0f; break;
                case 4: if (i % 16 == 5) v *= 1000.0f; break;
                default: break;
            }
            x[b * 256 + i] = v;
        }
    }
    return x;
}

uint64_t fnv1a(std::span<const std::byte> bytes) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (std::byte b : bytes) h = (h ^ static_cast<uint8_t>(b)) * 0x100000001b3ull;
    return h;
}

// The digest is of ggml's quantize_row_q6_K_ref (ggml-quants.c) on the same 65 blocks, built
// and run beside tern on 2026-12-06; it was also checked there on 4000 random rows of normal
// values at scales e^N(0, 3), with zero groups and outliers: no byte differed.
TEST(BlockFormats, Q6_KQuantiseIsGgmlsByteForByte) {
    const std::vector<float> x = q6_k_test_values(65);
    std::vector<std::byte> blocks(65 * kQ6_KBlockBytes);
    quantize_row_q6_k(x.data(), blocks.data(), x.size());
    EXPECT_EQ(fnv1a(blocks), 0xf61babcc01daf6feull);
    // Block 4 has an outlier per group: its group scales reach int8's -128 (ggml clamps only at 127).
    EXPECT_EQ(static_cast<int8_t>(blocks[4 * kQ6_KBlockBytes + 192 + 5]), -128);
    // An all-zero block is all zero bytes. Dequantised, a value within its group's grid is
    // within half a step; one beyond it (ggml fits the scale, not the range) is the grid's end.
    EXPECT_TRUE(std::all_of(blocks.begin() + 3 * kQ6_KBlockBytes, blocks.begin() + 4 * kQ6_KBlockBytes,
                            [](std::byte b) { return b == std::byte{0}; }));
    std::vector<float> y(x.size());
    dequantize_row_q6_k(blocks.data(), y.data(), y.size());
    size_t clamped = 0;
    for (size_t g = 0; g < x.size() / 16; ++g) {
        const std::byte* block = blocks.data() + g / 16 * kQ6_KBlockBytes;
        const float step = load_fp16(block + 208) * static_cast<float>(static_cast<int8_t>(block[192 + g % 16]));
        for (size_t i = 16 * g; i < 16 * g + 16; ++i) {
            if (step == 0.0f) {
                EXPECT_EQ(y[i], 0.0f) << i;
                continue;
            }
            const float ratio = x[i] / step;
            if (ratio >= -32.5f && ratio <= 31.5f) {
                EXPECT_LE(std::fabs(y[i] - x[i]), 0.5f * std::fabs(step) * 1.0001f) << i;
            } else {
                EXPECT_EQ(y[i], step * (ratio < 0.0f ? -32.0f : 31.0f)) << i;
                ++clamped;
            }
        }
    }
    EXPECT_GT(clamped, 0u);   // the second branch is exercised
}

}  // namespace
}  // namespace tern::quant
