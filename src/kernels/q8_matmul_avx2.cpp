// Q8_0 head kernel with AVX2: |w| (unsigned) times x with w's sign (pmaddubsw), pairs summed
// by pmaddwd into the contract's eight lanes of four adjacent bytes.
#include <immintrin.h>

#include <cstdint>

#include "kernels/q8_matmul.h"

namespace tern::kernels::avx2 {
namespace {

float scale_of(const std::byte* block) {
    uint16_t bits;
    __builtin_memcpy(&bits, block, 2);
    return _cvtsh_ss(bits);
}

__m256 block_products(const std::byte* w, const std::byte* x) {
    const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2));
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 2));
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(wq), _mm256_sign_epi8(xq, wq));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

}  // namespace

#include "kernels/q8_matmul_body.inc"

}  // namespace tern::kernels::avx2
