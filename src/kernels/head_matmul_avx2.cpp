// The head kernels with AVX2 (contract: head_matmul.h): |w| (unsigned) times x with w's sign
// (pmaddubsw), pairs summed by pmaddwd into the contract's eight lanes of four adjacent bytes.
// A Q4_0 row's 16 bytes of nibbles first widen to 32 signed weights in element order (low
// nibbles, then high nibbles, minus 8).
//
// Rows in pairs (one line per block pair, quant/paired_head_rows.h), tokens in groups of up to
// four: each weight block is loaded (and unpacked), and its scale widened, once per group
// instead of once per token, which is what batched decode needs (several sequences per step).
// Per (row, token) the arithmetic is the contract's, in block order, so grouping never changes
// a result.
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "kernels/head_matmul.h"
#include "kernels/kernel_scratch.h"

namespace tern::kernels::avx2 {
namespace {

constexpr int kMaxTokens = 4;

// Calls group(std::integral_constant<int, N>{}, t) over n_tokens tokens in groups of N =
// kMaxTokens, then once for the remaining 1-3: each group size is its own instantiation.
template <class Group>
void in_token_groups(size_t n_tokens, Group&& group) {
    static_assert(kMaxTokens == 4, "the tail below covers 1 to 3 tokens");
    size_t t = 0;
    for (; t + kMaxTokens <= n_tokens; t += kMaxTokens) group(std::integral_constant<int, kMaxTokens>{}, t);
    switch (n_tokens - t) {
        case 3: group(std::integral_constant<int, 3>{}, t); break;
        case 2: group(std::integral_constant<int, 2>{}, t); break;
        case 1: group(std::integral_constant<int, 1>{}, t); break;
        default: break;
    }
}

// One row's block as the products need it: |w| and w (whose sign moves onto x), elements
// 0..31 in order.
struct RowWeights {
    __m256i magnitude;
    __m256i signs;
};

RowWeights row_weights(__m256i w) { return {_mm256_abs_epi8(w), w}; }

// How each format's lines read. The prefetch distance keeps loads in flight across row-pair
// boundaries, where the hardware prefetcher would otherwise stall at each new 4 KiB page.
template <class Rows>
struct Format;

template <>
struct Format<quant::PairedQ8Rows> {
    static constexpr size_t kRowBytes = 32;
    static constexpr size_t kPrefetchAhead = 4096;
    static RowWeights load(const int8_t* row_block) {
        return row_weights(_mm256_load_si256(reinterpret_cast<const __m256i*>(row_block)));
    }
};

template <>
struct Format<quant::PairedQ4Rows> {
    static constexpr size_t kRowBytes = 16;
    static constexpr size_t kPrefetchAhead = 2048;
    static RowWeights load(const uint8_t* row_block) {
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row_block));
        const __m256i both = _mm256_setr_m128i(packed, _mm_srli_epi16(packed, 4));
        return row_weights(_mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8)));
    }
};

float activation_scale(const std::byte* block) {
    uint16_t bits;
    __builtin_memcpy(&bits, block, 2);
    return _cvtsh_ss(bits);
}

__m256 block_products(const RowWeights& w, __m256i xq) {
    const __m256i pairs = _mm256_maddubs_epi16(w.magnitude, _mm256_sign_epi8(xq, w.signs));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

float combine(__m256 lanes) {
    const __m128 t = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1));
    const __m128 u = _mm_add_ps(t, _mm_movehl_ps(t, t));
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

// Rows 2p and 2p + 1; out1 is null when the second is padding.
template <class Rows, int Tokens>
void pair_tokens(const HeadMatmulArgs<Rows>& a, size_t pair, size_t t0, float* out0, float* out1) {
    using F = Format<Rows>;
    const Rows& w = *a.weights;
    const size_t blocks = w.blocks_per_row();
    const size_t x_row_bytes = blocks * kQ8BlockBytes;
    const auto* quants = w.pair_quants(pair);
    const uint16_t* scales = w.pair_scales(pair);
    __m256 acc0[Tokens], acc1[Tokens];
    for (int t = 0; t < Tokens; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < blocks; ++b) {
        const auto* line = quants + b * Rows::kLineBytes;
        _mm_prefetch(reinterpret_cast<const char*>(line + F::kPrefetchAhead), _MM_HINT_T0);
        const RowWeights w0 = F::load(line), w1 = F::load(line + F::kRowBytes);
        const float dw0 = _cvtsh_ss(scales[2 * b]), dw1 = _cvtsh_ss(scales[2 * b + 1]);
        for (int t = 0; t < Tokens; ++t) {
            const std::byte* xb = a.x + (t0 + t) * x_row_bytes + b * kQ8BlockBytes;
            const float dx = activation_scale(xb);
            const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
            acc0[t] = _mm256_add_ps(acc0[t], _mm256_mul_ps(_mm256_set1_ps(dw0 * dx), block_products(w0, xq)));
            acc1[t] = _mm256_add_ps(acc1[t], _mm256_mul_ps(_mm256_set1_ps(dw1 * dx), block_products(w1, xq)));
        }
    }
    for (int t = 0; t < Tokens; ++t) {
        out0[(t0 + t) * a.out_stride] = combine(acc0[t]);
        if (out1 != nullptr) out1[(t0 + t) * a.out_stride] = combine(acc1[t]);
    }
}

template <class Rows>
void head_matmul(const HeadMatmulArgs<Rows>& a) {
    for (size_t r = a.row_begin; r < a.row_end; r += 2) {
        float* out0 = a.out + r;
        float* out1 = r + 1 < a.row_end ? out0 + 1 : nullptr;
        in_token_groups(a.n_tokens, [&](auto tokens, size_t t) {
            pair_tokens<Rows, decltype(tokens)::value>(a, r / 2, t, out0, out1);
        });
    }
}

// Q6_K: one row at a time (its super-blocks are one run of 210-byte blocks), tokens in groups
// of up to four. Three 32-byte loads hold a half super-block's 128 codes: quarter k (elements
// 32k .. 32k+31, activation block 4 * half + k) takes its low nibble from the first or second
// load's low or high nibbles and its top two bits from bits 2k, 2k+1 of the third. The group
// scales ride in pmaddwd's second operand, so one instruction both pairs the products and
// multiplies by them, exactly (|pair| <= 2 * 32 * 127, |scale| <= 128).
struct Q6KHalf {
    __m256i low_a, low_b, high;
};

Q6KHalf q6_k_half(const std::byte* block, int half) {
    const auto* p = reinterpret_cast<const __m256i*>(block + 64 * half);
    return {_mm256_loadu_si256(p), _mm256_loadu_si256(p + 1),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 128 + 32 * half))};
}

RowWeights q6_k_quarter(const Q6KHalf& h, int k) {
    const __m256i nibble = _mm256_set1_epi8(0x0f), top = _mm256_set1_epi8(0x30);
    const __m256i source = k % 2 == 0 ? h.low_a : h.low_b;
    const __m256i low = _mm256_and_si256(k < 2 ? source : _mm256_srli_epi16(source, 4), nibble);
    __m256i high;
    switch (k) {
        case 0: high = _mm256_slli_epi16(h.high, 4); break;
        case 1: high = _mm256_slli_epi16(h.high, 2); break;
        case 2: high = h.high; break;
        default: high = _mm256_srli_epi16(h.high, 2); break;
    }
    const __m256i code = _mm256_or_si256(low, _mm256_and_si256(high, top));
    return row_weights(_mm256_sub_epi8(code, _mm256_set1_epi8(32)));
}

// Group scales 2q and 2q + 1 of the block's eight (q = 4 * half + k) as pmaddwd's multipliers:
// eight int16 copies of the first for lanes 0-3, of the second for lanes 4-7.
__m256i q6_k_scale_pair(const std::byte* block, size_t quarter) {
    const auto first = static_cast<int8_t>(block[192 + 2 * quarter]), second = static_cast<int8_t>(block[193 + 2 * quarter]);
    return _mm256_setr_m128i(_mm_set1_epi16(first), _mm_set1_epi16(second));
}

// x_scales: every activation block's d_x as a float, [token][block].
template <int Tokens>
void q6_k_row_tokens(const Q6KMatmulArgs& a, const float* x_scales, size_t r, size_t t0) {
    const quant::Q6KRows& w = *a.weights;
    const size_t x_blocks = w.cols / kQ8BlockElems;
    const size_t x_row_bytes = x_blocks * kQ8BlockBytes;
    const std::byte* row = w.row_blocks(r);
    __m256 acc[Tokens];
    for (int t = 0; t < Tokens; ++t) acc[t] = _mm256_setzero_ps();
    for (size_t sb = 0; sb < w.blocks_per_row(); ++sb) {
        const std::byte* block = row + sb * quant::Q6KRows::kBlockBytes;
        _mm_prefetch(reinterpret_cast<const char*>(block + 2048), _MM_HINT_T0);
        uint16_t d_bits;
        __builtin_memcpy(&d_bits, block + 208, 2);
        const float dw = _cvtsh_ss(d_bits);
        for (int half = 0; half < 2; ++half) {
            const Q6KHalf h = q6_k_half(block, half);
            for (int k = 0; k < 4; ++k) {
                const RowWeights wq = q6_k_quarter(h, k);
                const __m256i scales = q6_k_scale_pair(block, 4 * half + k);
                const size_t b = 8 * sb + 4 * half + k;
                for (int t = 0; t < Tokens; ++t) {
                    const std::byte* xb = a.x + (t0 + t) * x_row_bytes + b * kQ8BlockBytes;
                    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
                    const __m256i pairs = _mm256_maddubs_epi16(wq.magnitude, _mm256_sign_epi8(xq, wq.signs));
                    const __m256 sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, scales));
                    const float block_scale = dw * x_scales[(t0 + t) * x_blocks + b];
                    acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_set1_ps(block_scale), sums));
                }
            }
        }
    }
    for (int t = 0; t < Tokens; ++t) a.out[(t0 + t) * a.out_stride + r] = combine(acc[t]);
}

// The activation scales are widened to float once per call rather than once per row: a row
// takes one per block and token (9-13 % faster with one to four tokens).
void q6_k_rows_matmul(const Q6KMatmulArgs& a) {
    const size_t n_scales = a.n_tokens * a.weights->cols / kQ8BlockElems;
    const KernelScratch scratch(n_scales * sizeof(float));
    float* x_scales = static_cast<float*>(scratch.data());
    for (size_t b = 0; b < n_scales; ++b) x_scales[b] = activation_scale(a.x + b * kQ8BlockBytes);
    for (size_t r = a.row_begin; r < a.row_end; ++r) {
        in_token_groups(a.n_tokens,
                        [&](auto tokens, size_t t) { q6_k_row_tokens<decltype(tokens)::value>(a, x_scales, r, t); });
    }
}

}  // namespace

void q8_matmul(const Q8MatmulArgs& a) { head_matmul(a); }
void q4_matmul(const Q4MatmulArgs& a) { head_matmul(a); }
void q6_k_matmul(const Q6KMatmulArgs& a) { q6_k_rows_matmul(a); }

}  // namespace tern::kernels::avx2
