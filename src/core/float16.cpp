#include "core/float16.h"

#include <bit>
#include <cstring>

namespace tern {

float fp16_to_fp32(uint16_t bits) {
    const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
    const uint32_t exponent = (bits >> 10) & 0x1fu;
    uint32_t mantissa = bits & 0x3ffu;
    uint32_t out;
    if (exponent == 0x1f) {
        out = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        out = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        out = sign;
    } else {
        // Subnormal: normalise the mantissa into f32's implicit-one form.
        int shift = 0;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            ++shift;
        }
        mantissa &= 0x3ffu;
        out = sign | (static_cast<uint32_t>(113 - shift) << 23) | (mantissa << 13);
    }
    return std::bit_cast<float>(out);
}

uint16_t fp32_to_fp16(float value) {
    const uint32_t bits = std::bit_cast<uint32_t>(value);
    const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
    const uint32_t abs_bits = bits & 0x7fffffffu;
    if (abs_bits > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((abs_bits >> 13) & 0x3ffu));
    if (abs_bits >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
    const int exponent = static_cast<int>(abs_bits >> 23);
    if (exponent < 113) {
        // Result is subnormal (or zero): value = m * 2^-24 with m = round(|x| * 2^24).
        if (exponent < 102) return sign;  // below half of the smallest subnormal
        const uint32_t mantissa = (abs_bits & 0x7fffffu) | 0x800000u;
        const int shift = 126 - exponent;  // 14..24
        uint32_t m = mantissa >> shift;
        const uint32_t remainder = mantissa & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (remainder > half || (remainder == half && (m & 1u))) ++m;
        return static_cast<uint16_t>(sign | m);
    }
    uint32_t rounded = abs_bits - (112u << 23);
    const uint32_t remainder = rounded & 0x1fffu;
    rounded >>= 13;
    if (remainder > 0x1000u || (remainder == 0x1000u && (rounded & 1u))) ++rounded;
    return static_cast<uint16_t>(sign | rounded);
}

void fp16_row_to_fp32(const std::byte* in, float* out, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        uint16_t bits;
        std::memcpy(&bits, in + 2 * i, 2);
        const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
        const uint32_t magnitude = bits & 0x7fffu;
        // Normal: rebias the exponent by 127 - 15; infinity and NaN need a second 112 to reach 255.
        const uint32_t special = 0u - static_cast<uint32_t>(magnitude >= 0x7c00u);   // all ones or zero
        const uint32_t normal = (magnitude << 13) + (112u << 23) + (special & (112u << 23));
        // Zero and subnormal: mantissa * 2^-24, exact in f32.
        const uint32_t small = std::bit_cast<uint32_t>(static_cast<float>(static_cast<int32_t>(magnitude)) * 0x1p-24f);
        const uint32_t is_small = 0u - static_cast<uint32_t>(magnitude < 0x400u);
        out[i] = std::bit_cast<float>(sign | (small & is_small) | (normal & ~is_small));
    }
}

float bf16_to_fp32(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

uint16_t fp32_to_bf16(float value) {
    const uint32_t bits = std::bit_cast<uint32_t>(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 64u);
    const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>((bits + rounding) >> 16);
}

float load_fp16(const std::byte* p) {
    uint16_t bits;
    std::memcpy(&bits, p, 2);
    return fp16_to_fp32(bits);
}

void store_fp16(std::byte* p, float value) {
    const uint16_t bits = fp32_to_fp16(value);
    std::memcpy(p, &bits, 2);
}

}  // namespace tern
