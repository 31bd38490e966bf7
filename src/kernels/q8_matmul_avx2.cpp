// Q8_0 head kernel with AVX2: |w| (unsigned) times x with w's sign (pmaddubsw), pairs summed
// by pmaddwd into the contract's eight lanes of four adjacent bytes.
//
// Rows in pairs (one 64-byte line per block pair, quant/paired_head_rows.h), tokens in groups of
// up to four: each weight block is loaded, and its scale widened, once per group instead of
// once per token, which is what batched decode needs (several sequences per step). Per (row,
// token) the arithmetic is the contract's, in block order, so grouping never changes a result.
#include <immintrin.h>

#include <cstdint>

#include "kernels/q8_matmul.h"

namespace tern::kernels::avx2 {
namespace {

constexpr int kMaxTokens = 4;
constexpr size_t kPrefetchAhead = 4096;

float activation_scale(const std::byte* block) {
    uint16_t bits;
    __builtin_memcpy(&bits, block, 2);
    return _cvtsh_ss(bits);
}

__m256 block_products(const int8_t* w, const std::byte* x) {
    const __m256i wq = _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 2));
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(wq), _mm256_sign_epi8(xq, wq));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

float combine(__m256 lanes) {
    const __m128 t = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1));
    const __m128 u = _mm_add_ps(t, _mm_movehl_ps(t, t));
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

// Rows 2p and 2p + 1; out1 is null when the second is padding.
template <int Tokens>
void pair_tokens(const Q8MatmulArgs& a, size_t pair, size_t t0, float* out0, float* out1) {
    const quant::PairedQ8Rows& w = *a.weights;
    const size_t blocks = w.blocks_per_row();
    const size_t x_row_bytes = blocks * kQ8BlockBytes;
    const int8_t* quants = w.pair_quants(pair);
    const uint16_t* scales = w.pair_scales(pair);
    __m256 acc0[Tokens], acc1[Tokens];
    for (int t = 0; t < Tokens; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < blocks; ++b) {
        const int8_t* line = quants + b * quant::kPairedQ8LineBytes;
        // A pair's quants are only ~80 lines: keep loads in flight across pair boundaries,
        // where the hardware prefetcher would otherwise stall at each new 4 KiB page.
        _mm_prefetch(reinterpret_cast<const char*>(line + kPrefetchAhead), _MM_HINT_T0);
        const float dw0 = _cvtsh_ss(scales[2 * b]), dw1 = _cvtsh_ss(scales[2 * b + 1]);
        for (int t = 0; t < Tokens; ++t) {
            const std::byte* xb = a.x + (t0 + t) * x_row_bytes + b * kQ8BlockBytes;
            const float dx = activation_scale(xb);
            acc0[t] = _mm256_add_ps(acc0[t], _mm256_mul_ps(_mm256_set1_ps(dw0 * dx), block_products(line, xb)));
            acc1[t] = _mm256_add_ps(acc1[t], _mm256_mul_ps(_mm256_set1_ps(dw1 * dx), block_products(line + 32, xb)));
        }
    }
    for (int t = 0; t < Tokens; ++t) {
        out0[(t0 + t) * a.out_stride] = combine(acc0[t]);
        if (out1 != nullptr) out1[(t0 + t) * a.out_stride] = combine(acc1[t]);
    }
}

}  // namespace

void q8_matmul(const Q8MatmulArgs& a) {
    for (size_t r = a.row_begin; r < a.row_end; r += 2) {
        float* out0 = a.out + r;
        float* out1 = r + 1 < a.row_end ? out0 + 1 : nullptr;
        size_t t = 0;
        for (; t + kMaxTokens <= a.n_tokens; t += kMaxTokens) pair_tokens<kMaxTokens>(a, r / 2, t, out0, out1);
        switch (a.n_tokens - t) {
            case 3: pair_tokens<3>(a, r / 2, t, out0, out1); break;
            case 2: pair_tokens<2>(a, r / 2, t, out0, out1); break;
            case 1: pair_tokens<1>(a, r / 2, t, out0, out1); break;
            default: break;
        }
    }
}

}  // namespace tern::kernels::avx2
