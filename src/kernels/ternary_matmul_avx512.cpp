// Multiplication-free ternary matmul with AVX-512 (F/BW): masks and masked add/subtract.
//
// Layout (packed_ternary.h): per row tile and 256-column chunk, 4 rows x 64 bytes; byte b of
// a row holds codes w + 1 of columns 64p + b in bits 2p..2p+1. Read as 32 16-bit words, slot
// s = 0..7 of word i (bits 2s..2s+1) is the code of column 64(s % 4) + 2i + s / 4.
// vptestmw turns a slot into two 32-bit masks in one instruction each: "+1" = bit 2s+1 set
// (code 2; code 3 never occurs), "-1" = both bits clear (code 0). The matching activations
// are the even (s < 4) or odd (s >= 4) int8 columns of a 64-column plane, sign-extended to
// int16 lanes by shifts. Then acc += x under the "+1" mask and acc -= x under the "-1" mask:
// no multiply instruction anywhere in the loop, zero weights cost nothing but the masks.
// Overflow: an int16 lane changes by at most 128 per slot, 8 slots per chunk, so it holds
// 31 chunks; it is widened into int32 (sign extension, still no multiply) every 16 chunks.
// GEMM converts all tokens' activations to the int16 slot order once per call and keeps
// 4 rows x up to 4 tokens of int16 accumulators in registers.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/ternary_matmul.h"

namespace tern::kernels::avx512 {
namespace {

using quant::kChunkBytes;
using quant::kChunkCols;
using quant::kRowTile;

constexpr size_t kFlushChunks = 16;
constexpr size_t kSlots = 8;

// Activations of one 256-column chunk in slot order: slot s -> 32 int16 lanes.
void chunk_slots(const int8_t* x, __m512i slots[kSlots]) {
    for (int plane = 0; plane < 4; ++plane) {
        const __m512i bytes = _mm512_loadu_si512(x + 64 * plane);
        slots[plane] = _mm512_srai_epi16(_mm512_slli_epi16(bytes, 8), 8);
        slots[plane + 4] = _mm512_srai_epi16(bytes, 8);
    }
}

template <int Slot>
__mmask32 plus_mask(__m512i packed) {
    return _mm512_test_epi16_mask(packed, _mm512_set1_epi16(static_cast<short>(2 << (2 * Slot))));
}
template <int Slot>
__mmask32 minus_mask(__m512i packed) {
    return _mm512_testn_epi16_mask(packed, _mm512_set1_epi16(static_cast<short>(3 << (2 * Slot))));
}

template <int Slot>
__m512i add_slot(__m512i acc, __m512i packed, __m512i x) {
    acc = _mm512_mask_add_epi16(acc, plus_mask<Slot>(packed), acc, x);
    return _mm512_mask_sub_epi16(acc, minus_mask<Slot>(packed), acc, x);
}

// GCC 12's _mm512_reduce_add_epi32, 512->256 casts and unmasked extracts start from an
// "undefined" register that -Wuninitialized flags; the zero-masked forms avoid it.
__m256i lower_half(__m512i v) { return _mm512_maskz_extracti64x4_epi64(0xff, v, 0); }
__m256i upper_half(__m512i v) { return _mm512_maskz_extracti64x4_epi64(0xff, v, 1); }

int32_t reduce_add(__m512i v) {
    const __m256i s8 = _mm256_add_epi32(lower_half(v), upper_half(v));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

__m512i widen_add(__m512i acc32, __m512i acc16) {
    acc32 = _mm512_add_epi32(acc32, _mm512_maskz_cvtepi16_epi32(0xffff, lower_half(acc16)));
    return _mm512_add_epi32(acc32, _mm512_maskz_cvtepi16_epi32(0xffff, upper_half(acc16)));
}

void store_result(const TernaryMatmulArgs& a, size_t row, size_t token, int32_t acc) {
    if (row >= a.weights->rows) return;
    a.out[token * a.out_stride + row] =
        static_cast<float>(acc) * a.acts->scale[token] * a.weights->row_scale[row];
}

void gemv_tile(const TernaryMatmulArgs& a, size_t tile, size_t token) {
    const quant::PackedTernary& w = *a.weights;
    const uint8_t* codes = w.tile(tile);
    const int8_t* x = a.acts->row(token);
    __m512i acc16[kRowTile], acc32[kRowTile];
    for (size_t r = 0; r < kRowTile; ++r) acc16[r] = acc32[r] = _mm512_setzero_si512();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes) {
        __m512i slots[kSlots];
        chunk_slots(x + chunk * kChunkCols, slots);
        for (size_t r = 0; r < kRowTile; ++r) {
            const __m512i packed = _mm512_load_si512(codes + r * kChunkBytes);
            __m512i acc = acc16[r];
            acc = add_slot<0>(acc, packed, slots[0]);
            acc = add_slot<1>(acc, packed, slots[1]);
            acc = add_slot<2>(acc, packed, slots[2]);
            acc = add_slot<3>(acc, packed, slots[3]);
            acc = add_slot<4>(acc, packed, slots[4]);
            acc = add_slot<5>(acc, packed, slots[5]);
            acc = add_slot<6>(acc, packed, slots[6]);
            acc16[r] = add_slot<7>(acc, packed, slots[7]);
        }
        if ((chunk + 1) % kFlushChunks == 0) {
            for (size_t r = 0; r < kRowTile; ++r) {
                acc32[r] = widen_add(acc32[r], acc16[r]);
                acc16[r] = _mm512_setzero_si512();
            }
        }
    }
    for (size_t r = 0; r < kRowTile; ++r) {
        store_result(a, tile * kRowTile + r, token, reduce_add(widen_add(acc32[r], acc16[r])));
    }
}

// int16 slot-ordered activations of every token: [token][chunk][slot][32 lanes].
std::vector<int16_t> slot_activations(const quant::Int8Activations& acts) {
    const size_t n_chunks = acts.cols_padded / kChunkCols;
    std::vector<int16_t> out(acts.n_tokens * acts.cols_padded);
    for (size_t t = 0; t < acts.n_tokens; ++t) {
        for (size_t chunk = 0; chunk < n_chunks; ++chunk) {
            __m512i slots[kSlots];
            chunk_slots(acts.row(t) + chunk * kChunkCols, slots);
            int16_t* dst = out.data() + (t * n_chunks + chunk) * kChunkCols;
            for (size_t s = 0; s < kSlots; ++s) _mm512_storeu_si512(dst + 32 * s, slots[s]);
        }
    }
    return out;
}

template <int Tokens>
void gemm_tile(const TernaryMatmulArgs& a, const int16_t* slot_acts, size_t tile, size_t token0) {
    const quant::PackedTernary& w = *a.weights;
    const size_t n_chunks = w.n_chunks();
    const uint8_t* codes = w.tile(tile);
    __m512i acc16[kRowTile][Tokens];
    alignas(64) int32_t acc32[kRowTile][Tokens][16] = {};
    for (auto& row_acc : acc16) std::fill(row_acc, row_acc + Tokens, _mm512_setzero_si512());

    auto flush = [&] {
        for (size_t r = 0; r < kRowTile; ++r) {
            for (int t = 0; t < Tokens; ++t) {
                const __m512i sum = widen_add(_mm512_load_si512(acc32[r][t]), acc16[r][t]);
                _mm512_store_si512(acc32[r][t], sum);
                acc16[r][t] = _mm512_setzero_si512();
            }
        }
    };
    for (size_t chunk = 0; chunk < n_chunks; ++chunk, codes += kRowTile * kChunkBytes) {
        __m512i packed[kRowTile];
        for (size_t r = 0; r < kRowTile; ++r) packed[r] = _mm512_load_si512(codes + r * kChunkBytes);
        auto slot_step = [&]<int Slot>() {
            for (size_t r = 0; r < kRowTile; r += 2) {
                const __mmask32 plus0 = plus_mask<Slot>(packed[r]), minus0 = minus_mask<Slot>(packed[r]);
                const __mmask32 plus1 = plus_mask<Slot>(packed[r + 1]), minus1 = minus_mask<Slot>(packed[r + 1]);
                for (int t = 0; t < Tokens; ++t) {
                    const __m512i x = _mm512_loadu_si512(slot_acts + ((token0 + t) * n_chunks + chunk) * kChunkCols + 32 * Slot);
                    acc16[r][t] = _mm512_mask_add_epi16(acc16[r][t], plus0, acc16[r][t], x);
                    acc16[r][t] = _mm512_mask_sub_epi16(acc16[r][t], minus0, acc16[r][t], x);
                    acc16[r + 1][t] = _mm512_mask_add_epi16(acc16[r + 1][t], plus1, acc16[r + 1][t], x);
                    acc16[r + 1][t] = _mm512_mask_sub_epi16(acc16[r + 1][t], minus1, acc16[r + 1][t], x);
                }
            }
        };
        slot_step.template operator()<0>();
        slot_step.template operator()<1>();
        slot_step.template operator()<2>();
        slot_step.template operator()<3>();
        slot_step.template operator()<4>();
        slot_step.template operator()<5>();
        slot_step.template operator()<6>();
        slot_step.template operator()<7>();
        if ((chunk + 1) % kFlushChunks == 0) flush();
    }
    flush();
    for (size_t r = 0; r < kRowTile; ++r) {
        for (int t = 0; t < Tokens; ++t) {
            store_result(a, tile * kRowTile + r, token0 + t, reduce_add(_mm512_load_si512(acc32[r][t])));
        }
    }
}

}  // namespace

void ternary_gemv(const TernaryMatmulArgs& a) {
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        for (size_t t = 0; t < a.acts->n_tokens; ++t) gemv_tile(a, tile, t);
    }
}

void ternary_gemm(const TernaryMatmulArgs& a) {
    const std::vector<int16_t> slot_acts = slot_activations(*a.acts);
    const size_t n_tokens = a.acts->n_tokens;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        size_t t = 0;
        for (; t + 4 <= n_tokens; t += 4) gemm_tile<4>(a, slot_acts.data(), tile, t);
        switch (n_tokens - t) {
            case 3: gemm_tile<3>(a, slot_acts.data(), tile, t); break;
            case 2: gemm_tile<2>(a, slot_acts.data(), tile, t); break;
            case 1: gemm_tile<1>(a, slot_acts.data(), tile, t); break;
            default: break;
        }
    }
}

}  // namespace tern::kernels::avx512
