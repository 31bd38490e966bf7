#include "quant/ternary_formats.h"

#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/float16.h"
#include "core/str_cat.h"

namespace tern::quant {
namespace {

float block_absmax(const float* in, size_t n) {
    float amax = 0.0f;
    for (size_t j = 0; j < n; ++j) amax = std::fmax(amax, std::fabs(in[j]));
    return amax;
}

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

void quantize_row_tq2_0(const float* in, std::byte* blocks, size_t n) {
    for (size_t b = 0; b < n / kTq2BlockElems; ++b, in += kTq2BlockElems) {
        std::byte* block = blocks + b * kTq2BlockBytes;
        const float d = block_absmax(in, kTq2BlockElems);
        const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        std::memset(block, 0, 64);
        for (int e = 0; e < 256; ++e) {
            const int byte = 32 * (e / 128) + e % 32;
            const int shift = 2 * ((e % 128) / 32);
            block[byte] |= static_cast<std::byte>(ternary_code(in[e], inverse) << shift);
        }
        store_fp16(block + 64, d);
    }
}

void dequantize_row_tq2_0(const std::byte* blocks, float* out, size_t n) {
    for (size_t b = 0; b < n / kTq2BlockElems; ++b, out += kTq2BlockElems) {
        const std::byte* block = blocks + b * kTq2BlockBytes;
        const float d = load_fp16(block + 64);
        for (int e = 0; e < 256; ++e) {
            const auto byte = static_cast<uint8_t>(block[32 * (e / 128) + e % 32]);
            out[e] = ternary_value((byte >> (2 * ((e % 128) / 32))) & 3, d);
        }
    }
}

void quantize_row_tq1_0(const float* in, std::byte* blocks, size_t n) {
    for (size_t b = 0; b < n / kTq1BlockElems; ++b, in += kTq1BlockElems) {
        std::byte* block = blocks + b * kTq1BlockBytes;
        const float d = block_absmax(in, kTq1BlockElems);
        const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        uint8_t trits[52][5] = {};
        for (int e = 0; e < 256; ++e) {
            int byte, trit;
            tq1_location(e, byte, trit);
            trits[byte][trit] = ternary_code(in[e], inverse);
        }
        for (int byte = 0; byte < 52; ++byte) block[byte] = pack_trits(trits[byte], byte < 48 ? 5 : 4);
        store_fp16(block + 52, d);
    }
}

void dequantize_row_tq1_0(const std::byte* blocks, float* out, size_t n) {
    for (size_t b = 0; b < n / kTq1BlockElems; ++b, out += kTq1BlockElems) {
        const std::byte* block = blocks + b * kTq1BlockBytes;
        const float d = load_fp16(block + 52);
        for (int e = 0; e < 256; ++e) {
            int byte, trit;
            tq1_location(e, byte, trit);
            out[e] = ternary_value(unpack_trit(block[byte], trit), d);
        }
    }
}

size_t i2_s_tensor_bytes(size_t n_elements) { return n_elements / 4 + kI2sTrailerBytes; }

float i2_s_tensor_scale(std::span<const std::byte> data, size_t n_elements) {
    TERN_CHECK(data.size() == i2_s_tensor_bytes(n_elements));
    float scale;
    std::memcpy(&scale, data.data() + n_elements / 4, sizeof scale);
    return scale;
}

void quantize_i2_s(std::span<const float> in, std::span<std::byte> data) {
    TERN_CHECK(in.size() % kI2sGroupElems == 0 && data.size() == i2_s_tensor_bytes(in.size()));
    float scale = 0.0f;
    for (const float x : in) scale = std::fmax(scale, std::fabs(x));
    std::memset(data.data(), 0, data.size());
    for (size_t e = 0; e < in.size(); ++e) {
        const uint8_t code = std::fabs(in[e]) < 1e-6f ? 1 : (in[e] > 0.0f ? 2 : 0);
        const size_t group = e / kI2sGroupElems, r = e % kI2sGroupElems;
        data[32 * group + r % 32] |= static_cast<std::byte>(code << (6 - 2 * (r / 32)));
    }
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
    for (size_t e = 0; e < n; ++e) {
        const size_t group = e / kI2sGroupElems, r = e % kI2sGroupElems;
        const auto byte = static_cast<uint8_t>(data[32 * group + r % 32]);
        out[e] = ternary_value((byte >> (6 - 2 * (r / 32))) & 3, scale);
    }
    return {};
}

}  // namespace tern::quant
