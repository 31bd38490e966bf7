#include "quant/ternary_formats.h"

#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/float16.h"
#include "core/str_cat.h"
#include "quant/abs_max.h"

namespace tern::quant {
namespace {

// Ternary code 0, 1, 2 for x/d rounded half away from zero (lroundf, as llama.cpp).
uint8_t ternary_code(float x, float inverse_d) { return static_cast<uint8_t>(std::lround(x * inverse_d) + 1); }

float ternary_value(uint8_t code, float d) { return static_cast<float>(static_cast<int>(code) - 1) * d; }

// Byte holding n base-3 digits (most significant first), stored as ceil(v * 256 / 243) so
// that digit k comes back as ((uint8)(byte * 3^k) * 3) >> 8.
std::byte pack_trits(const uint8_t* trits, int n) {
    unsigned v = 0;
    for (int k = 0; k < n; ++k) v = v * 3 + trits[k];
    for (int k = n; k < 5; ++k) v *= 3;
    return static_cast<std::byte>((v * 256 + 242) / 243);
}

uint8_t unpack_trit(std::byte packed, int position) {
    static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
    const auto shifted = static_cast<uint8_t>(static_cast<uint8_t>(packed) * kPow3[position]);
    return static_cast<uint8_t>((static_cast<uint16_t>(shifted) * 3) >> 8);
}

// TQ1_0 element e of a block lives in (byte index, trit position); see formats.md §3.7.
void tq1_location(int e, int& byte, int& trit) {
    if (e < 160) {
        byte = e % 32;
        trit = e / 32;
    } else if (e < 240) {
        byte = 32 + (e - 160) % 16;
        trit = (e - 160) / 16;
    } else {
        byte = 48 + (e - 240) % 4;
        trit = (e - 240) / 4;
    }
}

}  // namespace

void tq2_0_block_codes(const std::byte* block, uint8_t* codes) {
    for (int half = 0; half < 2; ++half) {
        for (int shift = 0; shift < 4; ++shift) {
            for (int j = 0; j < 32; ++j) {
                codes[128 * half + 32 * shift + j] = (static_cast<uint8_t>(block[32 * half + j]) >> (2 * shift)) & 3;
            }
        }
    }
}

void tq1_0_block_codes(const std::byte* block, uint8_t* codes) {
    // Three regions: 32 bytes x 5 trits (elements 0..159), 16 x 5 (160..239), 4 x 4 (240..255).
    for (int trit = 0; trit < 5; ++trit) {
        for (int j = 0; j < 32; ++j) codes[32 * trit + j] = unpack_trit(block[j], trit);
        for (int j = 0; j < 16; ++j) codes[160 + 16 * trit + j] = unpack_trit(block[32 + j], trit);
    }
    for (int trit = 0; trit < 4; ++trit) {
        for (int j = 0; j < 4; ++j) codes[240 + 4 * trit + j] = unpack_trit(block[48 + j], trit);
    }
}

void i2_s_group_codes(const std::byte* group, uint8_t* codes) {
    for (int plane = 0; plane < 4; ++plane) {
        for (int j = 0; j < 32; ++j) codes[32 * plane + j] = (static_cast<uint8_t>(group[j]) >> (6 - 2 * plane)) & 3;
    }
}

void tq2_0_block_from_codes(const uint8_t* codes, float d, std::byte* block) {
    std::memset(block, 0, 64);
    for (int e = 0; e < 256; ++e) {
        const int byte = 32 * (e / 128) + e % 32;
        const int shift = 2 * ((e % 128) / 32);
        block[byte] |= static_cast<std::byte>(codes[e] << shift);
    }
    store_fp16(block + 64, d);
}

void quantize_row_tq2_0(const float* in, std::byte* blocks, size_t n) {
    uint8_t codes[kTq2BlockElems];
    for (size_t b = 0; b < n / kTq2BlockElems; ++b, in += kTq2BlockElems) {
        const float d = abs_max(in, kTq2BlockElems);
        const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        for (size_t e = 0; e < kTq2BlockElems; ++e) codes[e] = ternary_code(in[e], inverse);
        tq2_0_block_from_codes(codes, d, blocks + b * kTq2BlockBytes);
    }
}

void dequantize_row_tq2_0(const std::byte* blocks, float* out, size_t n) {
    uint8_t codes[kTq2BlockElems];
    for (size_t b = 0; b < n / kTq2BlockElems; ++b, out += kTq2BlockElems) {
        const std::byte* block = blocks + b * kTq2BlockBytes;
        tq2_0_block_codes(block, codes);
        const float d = load_fp16(block + 64);
        for (size_t e = 0; e < kTq2BlockElems; ++e) out[e] = ternary_value(codes[e], d);
    }
}

void tq1_0_block_from_codes(const uint8_t* codes, float d, std::byte* block) {
    uint8_t trits[52][5] = {};
    for (int e = 0; e < 256; ++e) {
        int byte, trit;
        tq1_location(e, byte, trit);
        trits[byte][trit] = codes[e];
    }
    for (int byte = 0; byte < 52; ++byte) block[byte] = pack_trits(trits[byte], byte < 48 ? 5 : 4);
    store_fp16(block + 52, d);
}

void quantize_row_tq1_0(const float* in, std::byte* blocks, size_t n) {
    uint8_t codes[kTq1BlockElems];
    for (size_t b = 0; b < n / kTq1BlockElems; ++b, in += kTq1BlockElems) {
        const float d = abs_max(in, kTq1BlockElems);
        const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        for (size_t e = 0; e < kTq1BlockElems; ++e) codes[e] = ternary_code(in[e], inverse);
        tq1_0_block_from_codes(codes, d, blocks + b * kTq1BlockBytes);
    }
}

void dequantize_row_tq1_0(const std::byte* blocks, float* out, size_t n) {
    uint8_t codes[kTq1BlockElems];
    for (size_t b = 0; b < n / kTq1BlockElems; ++b, out += kTq1BlockElems) {
        const std::byte* block = blocks + b * kTq1BlockBytes;
        tq1_0_block_codes(block, codes);
        const float d = load_fp16(block + 52);
        for (size_t e = 0; e < kTq1BlockElems; ++e) out[e] = ternary_value(codes[e], d);
    }
}

size_t i2_s_tensor_bytes(size_t n_elements) { return n_elements / 4 + kI2sTrailerBytes; }

float i2_s_tensor_scale(std::span<const std::byte> data, size_t n_elements) {
    TERN_CHECK(data.size() == i2_s_tensor_bytes(n_elements));
    float scale;
    std::memcpy(&scale, data.data() + n_elements / 4, sizeof scale);
    return scale;
}

void i2_s_group_from_codes(const uint8_t* codes, std::byte* group) {
    std::memset(group, 0, kI2sGroupElems / 4);
    for (size_t r = 0; r < kI2sGroupElems; ++r) group[r % 32] |= static_cast<std::byte>(codes[r] << (6 - 2 * (r / 32)));
}

void quantize_i2_s(std::span<const float> in, std::span<std::byte> data) {
    TERN_CHECK(in.size() % kI2sGroupElems == 0 && data.size() == i2_s_tensor_bytes(in.size()));
    const float scale = abs_max(in.data(), in.size());
    uint8_t codes[kI2sGroupElems];
    for (size_t group = 0; group < in.size() / kI2sGroupElems; ++group) {
        const float* x = in.data() + group * kI2sGroupElems;
        for (size_t r = 0; r < kI2sGroupElems; ++r) codes[r] = std::fabs(x[r]) < 1e-6f ? 1 : (x[r] > 0.0f ? 2 : 0);
        i2_s_group_from_codes(codes, data.data() + group * (kI2sGroupElems / 4));
    }
    std::memset(data.data() + in.size() / 4, 0, kI2sTrailerBytes);
    std::memcpy(data.data() + in.size() / 4, &scale, sizeof scale);
}

Status dequantize_i2_s(std::span<const std::byte> data, std::span<float> out) {
    const size_t n = out.size();
    if (n % kI2sGroupElems != 0 || data.size() != i2_s_tensor_bytes(n)) {
        return Error(str_cat("I2_S: ", data.size(), " bytes cannot hold ", n, " elements (needs N/4 + 32, N a multiple of 128)"));
    }
    const float scale = i2_s_tensor_scale(data, n);
    if (!std::isfinite(scale) || scale < 0.0f) {
        return Error(str_cat("I2_S: tensor scale is ", scale, ", expected a finite number >= 0"));
    }
    uint8_t codes[kI2sGroupElems];
    for (size_t group = 0; group < n / kI2sGroupElems; ++group) {
        i2_s_group_codes(data.data() + group * (kI2sGroupElems / 4), codes);
        for (size_t r = 0; r < kI2sGroupElems; ++r) out[group * kI2sGroupElems + r] = ternary_value(codes[r], scale);
    }
    return {};
}

}  // namespace tern::quant
