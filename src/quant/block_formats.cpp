#include "quant/block_formats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/float16.h"
#include "quant/abs_max.h"

namespace tern::quant {
namespace {

uint8_t byte_at(const std::byte* p, size_t i) { return static_cast<uint8_t>(p[i]); }

// Q4_K packs 8 six-bit scales and 8 six-bit mins into 12 bytes (docs/formats.md §3.4).
void q4_k_scale_min(const std::byte* scales, int k, int& scale, int& min) {
    if (k < 4) {
        scale = byte_at(scales, k) & 63;
        min = byte_at(scales, k + 4) & 63;
    } else {
        scale = (byte_at(scales, k + 4) & 0x0f) | ((byte_at(scales, k - 4) >> 6) << 4);
        min = (byte_at(scales, k + 4) >> 4) | ((byte_at(scales, k) >> 6) << 4);
    }
}

// std::round (half away from zero) to an integer, for |v| < 2^23, without the library call
// that the baseline ISA needs for roundf: the truncation is exact and so is v - t.
int32_t round_half_away_from_zero(float v) {
    const int32_t t = static_cast<int32_t>(v);
    const float fraction = v - static_cast<float>(t);
    return t + (fraction >= 0.5f ? 1 : 0) - (fraction <= -0.5f ? 1 : 0);
}

// ggml's nearest_int: round half to even through the float adder, and for |v| beyond 2^22 the
// same (meaningless, then clamped) integer ggml gets, so that every code matches.
int32_t nearest_int(float v) {
    const float shifted = v + 12582912.0f;
    int32_t bits;
    std::memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

// ggml's make_qx_quants(16, 32, x, L, rmse_type = 1, no weights): codes L in [0, 63] and the
// scale that minimises sum x^2 (x - scale * (L - 32))^2 over the grids -(32 + 0.1 is) / max,
// is = -9..9. Every float operation in ggml's order, so the result is the same to the bit.
float q6_k_group_scale(const float* x, int8_t* codes) {
    constexpr int kGroup = 16, kMax = 32;
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < kGroup; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < 1e-15f) {
        std::memset(codes, 0, kGroup);
        return 0.0f;
    }
    const auto code = [&](float iscale, int i) { return std::max(-kMax, std::min(kMax - 1, nearest_int(iscale * x[i]))); };
    const auto sums = [&](float iscale, float& sumlx, float& suml2) {
        sumlx = suml2 = 0.0f;
        for (int i = 0; i < kGroup; ++i) {
            const float l = static_cast<float>(code(iscale, i));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
    };
    float iscale = static_cast<float>(-kMax) / max;
    float sumlx, suml2;
    sums(iscale, sumlx, suml2);
    for (int i = 0; i < kGroup; ++i) codes[i] = static_cast<int8_t>(code(iscale, i) + kMax);
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(static_cast<float>(kMax) + 0.1f * static_cast<float>(is)) / max;
        sums(iscale, sumlx, suml2);
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < kGroup; ++i) codes[i] = static_cast<int8_t>(code(iscale, i) + kMax);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// Codes [0, 63] of 256 values into ggml's Q6_K bit planes: per 128 values, 64 bytes of low
// nibbles (value l and l + 64 share byte l, l + 32 and l + 96 byte l + 32) and 32 bytes of
// high bit pairs (values l, l + 32, l + 64, l + 96 in byte l, from bit 0 up).
void pack_q6_k_codes(const int8_t* codes, std::byte* block) {
    for (int half = 0; half < 2; ++half) {
        const int8_t* c = codes + 128 * half;
        std::byte* ql = block + 64 * half;
        std::byte* qh = block + 128 + 32 * half;
        for (int l = 0; l < 32; ++l) {
            ql[l] = static_cast<std::byte>((c[l] & 0x0f) | (c[l + 64] & 0x0f) << 4);
            ql[l + 32] = static_cast<std::byte>((c[l + 32] & 0x0f) | (c[l + 96] & 0x0f) << 4);
            qh[l] = static_cast<std::byte>(c[l] >> 4 | (c[l + 32] >> 4) << 2 | (c[l + 64] >> 4) << 4 | (c[l + 96] >> 4) << 6);
        }
    }
}

}  // namespace

void dequantize_row_q8_0(const std::byte* blocks, float* out, size_t n) {
    for (size_t b = 0; b < n / kQ8_0BlockElems; ++b) {
        const std::byte* block = blocks + b * kQ8_0BlockBytes;
        const float d = load_fp16(block);
        for (size_t j = 0; j < kQ8_0BlockElems; ++j) {
            *out++ = static_cast<float>(static_cast<int8_t>(byte_at(block, 2 + j))) * d;
        }
    }
}

void dequantize_row_q4_0(const std::byte* blocks, float* out, size_t n) {
    for (size_t b = 0; b < n / kQ4_0BlockElems; ++b) {
        const std::byte* block = blocks + b * kQ4_0BlockBytes;
        const float d = load_fp16(block);
        for (size_t j = 0; j < 16; ++j) {
            const uint8_t q = byte_at(block, 2 + j);
            out[j] = static_cast<float>((q & 0x0f) - 8) * d;
            out[j + 16] = static_cast<float>((q >> 4) - 8) * d;
        }
        out += kQ4_0BlockElems;
    }
}

void dequantize_row_q4_k(const std::byte* blocks, float* out, size_t n) {
    for (size_t b = 0; b < n / kQ4_KBlockElems; ++b) {
        const std::byte* block = blocks + b * kQ4_KBlockBytes;
        const float d = load_fp16(block);
        const float dmin = load_fp16(block + 2);
        const std::byte* scales = block + 4;
        const std::byte* qs = block + 16;
        for (int chunk = 0; chunk < 4; ++chunk) {
            int sc_lo, m_lo, sc_hi, m_hi;
            q4_k_scale_min(scales, 2 * chunk, sc_lo, m_lo);
            q4_k_scale_min(scales, 2 * chunk + 1, sc_hi, m_hi);
            const float d_lo = d * static_cast<float>(sc_lo), min_lo = dmin * static_cast<float>(m_lo);
            const float d_hi = d * static_cast<float>(sc_hi), min_hi = dmin * static_cast<float>(m_hi);
            for (int l = 0; l < 32; ++l) {
                const uint8_t q = byte_at(qs, 32 * chunk + l);
                out[64 * chunk + l] = d_lo * static_cast<float>(q & 0x0f) - min_lo;
                out[64 * chunk + 32 + l] = d_hi * static_cast<float>(q >> 4) - min_hi;
            }
        }
        out += kQ4_KBlockElems;
    }
}

void dequantize_row_q6_k(const std::byte* blocks, float* out, size_t n) {
    for (size_t b = 0; b < n / kQ6_KBlockElems; ++b) {
        const std::byte* block = blocks + b * kQ6_KBlockBytes;
        const float d = load_fp16(block + 208);
        for (int half = 0; half < 2; ++half) {
            const std::byte* ql = block + 64 * half;
            const std::byte* qh = block + 128 + 32 * half;
            const std::byte* sc = block + 192 + 8 * half;
            float* y = out + 128 * half;
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const uint8_t low_a = byte_at(ql, l), low_b = byte_at(ql, l + 32), high = byte_at(qh, l);
                const int q1 = ((low_a & 0x0f) | (((high >> 0) & 3) << 4)) - 32;
                const int q2 = ((low_b & 0x0f) | (((high >> 2) & 3) << 4)) - 32;
                const int q3 = ((low_a >> 4) | (((high >> 4) & 3) << 4)) - 32;
                const int q4 = ((low_b >> 4) | (((high >> 6) & 3) << 4)) - 32;
                const auto scale = [&](int i) { return static_cast<float>(static_cast<int8_t>(byte_at(sc, i))); };
                y[l] = d * scale(is + 0) * static_cast<float>(q1);
                y[l + 32] = d * scale(is + 2) * static_cast<float>(q2);
                y[l + 64] = d * scale(is + 4) * static_cast<float>(q3);
                y[l + 96] = d * scale(is + 6) * static_cast<float>(q4);
            }
        }
        out += kQ6_KBlockElems;
    }
}

// abs_max and the rounding above instead of std::fmax and std::round: the same values (NaN
// is skipped by both maxima), without two library calls per element, which made converting
// a 128256 x 2560 head at load take seconds.
void quantize_row_q8_0(const float* in, std::byte* blocks, size_t n) {
    for (size_t b = 0; b < n / kQ8_0BlockElems; ++b, in += kQ8_0BlockElems) {
        std::byte* block = blocks + b * kQ8_0BlockBytes;
        const float d = abs_max(in, kQ8_0BlockElems) / 127.0f;
        const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        store_fp16(block, d);
        for (size_t j = 0; j < kQ8_0BlockElems; ++j) {
            block[2 + j] = static_cast<std::byte>(static_cast<int8_t>(round_half_away_from_zero(in[j] * inverse)));
        }
    }
}

void quantize_row_q4_0(const float* in, std::byte* blocks, size_t n) {
    for (size_t b = 0; b < n / kQ4_0BlockElems; ++b, in += kQ4_0BlockElems) {
        std::byte* block = blocks + b * kQ4_0BlockBytes;
        float amax = 0.0f, max = 0.0f;
        for (size_t j = 0; j < kQ4_0BlockElems; ++j) {
            if (std::fabs(in[j]) > amax) {
                amax = std::fabs(in[j]);
                max = in[j];
            }
        }
        const float d = max / -8.0f;
        const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        store_fp16(block, d);
        for (size_t j = 0; j < 16; ++j) {
            const auto code = [&](float x) {
                const int q = static_cast<int>(static_cast<int8_t>(x * inverse + 8.5f));
                return static_cast<uint8_t>(q < 15 ? q : 15);
            };
            block[2 + j] = static_cast<std::byte>(code(in[j]) | (code(in[j + 16]) << 4));
        }
    }
}

void quantize_row_q6_k(const float* in, std::byte* blocks, size_t n) {
    constexpr int kGroups = kQ6_KBlockElems / 16;
    for (size_t b = 0; b < n / kQ6_KBlockElems; ++b, in += kQ6_KBlockElems) {
        std::byte* block = blocks + b * kQ6_KBlockBytes;
        int8_t codes[kQ6_KBlockElems];
        float scales[kGroups];
        float max_scale = 0.0f, max_abs_scale = 0.0f;
        for (int g = 0; g < kGroups; ++g) {
            scales[g] = q6_k_group_scale(in + 16 * g, codes + 16 * g);
            if (std::fabs(scales[g]) > max_abs_scale) {
                max_abs_scale = std::fabs(scales[g]);
                max_scale = scales[g];
            }
        }
        if (max_abs_scale < 1e-15f) {
            std::memset(block, 0, kQ6_KBlockBytes);
            continue;
        }
        const float iscale = -128.0f / max_scale;
        store_fp16(block + 208, 1.0f / iscale);
        const float d = load_fp16(block + 208);
        for (int g = 0; g < kGroups; ++g) {
            const int8_t group_scale = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[g])));
            block[192 + g] = static_cast<std::byte>(group_scale);
            const float group_d = d * static_cast<float>(group_scale);
            if (group_d == 0.0f) continue;   // ggml keeps the first pass's codes there
            for (int i = 0; i < 16; ++i)
                codes[16 * g + i] = static_cast<int8_t>(std::max(-32, std::min(31, nearest_int(in[16 * g + i] / group_d))) + 32);
        }
        pack_q6_k_codes(codes, block);
    }
}

}  // namespace tern::quant
