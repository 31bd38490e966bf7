// The specification of the head kernels (head_matmul.h), written for clarity.
#include <cstdint>

#include "core/float16.h"
#include "kernels/head_matmul.h"

namespace tern::kernels::ref {
namespace {

// Element e of a row's block as an integer weight.
int32_t weight(const int8_t* block, size_t e) { return block[e]; }
int32_t weight(const uint8_t* block, size_t e) {
    const uint8_t nibble = e < 16 ? block[e] & 0x0f : block[e - 16] >> 4;
    return int32_t{nibble} - 8;
}

template <class Quant>
void block_dot(const Quant* wq, uint16_t w_scale, const std::byte* x, float lanes[8]) {
    const float s = fp16_to_fp32(w_scale) * load_fp16(x);
    const auto* xq = reinterpret_cast<const int8_t*>(x + 2);
    for (size_t l = 0; l < 8; ++l) {
        int32_t sum = 0;
        for (size_t j = 0; j < 4; ++j) sum += weight(wq, 4 * l + j) * int32_t{xq[4 * l + j]};
        lanes[l] = lanes[l] + s * static_cast<float>(sum);
    }
}

float combine(const float lanes[8]) {
    float t[4];
    for (int l = 0; l < 4; ++l) t[l] = lanes[l] + lanes[l + 4];
    return (t[0] + t[2]) + (t[1] + t[3]);
}

template <class Rows>
void head_matmul(const HeadMatmulArgs<Rows>& a) {
    const Rows& w = *a.weights;
    const size_t blocks = w.blocks_per_row();
    const size_t x_row_bytes = blocks * kQ8BlockBytes;
    for (size_t r = a.row_begin; r < a.row_end; ++r) {
        const auto* quants = w.row_quants(r);
        const uint16_t* scales = w.row_scales(r);
        for (size_t t = 0; t < a.n_tokens; ++t) {
            float lanes[8] = {};
            for (size_t b = 0; b < blocks; ++b)
                block_dot(quants + b * Rows::kLineBytes, scales[2 * b], a.x + t * x_row_bytes + b * kQ8BlockBytes, lanes);
            a.out[t * a.out_stride + r] = combine(lanes);
        }
    }
}

// Element e (0..255) of a Q6_K super-block as its integer weight, code - 32.
int32_t q6_k_weight(const std::byte* block, size_t e) {
    const size_t half = e / 128, l = e % 32, quarter = e % 128 / 32;
    const auto low = static_cast<uint8_t>(block[64 * half + l + (quarter % 2) * 32]);
    const auto high = static_cast<uint8_t>(block[128 + 32 * half + l]);
    const int32_t code = (quarter < 2 ? low & 0x0f : low >> 4) | ((high >> (2 * quarter)) & 3) << 4;
    return code - 32;
}

int32_t q6_k_group_scale(const std::byte* block, size_t e) { return static_cast<int8_t>(block[192 + e / 16]); }

void q6_k_rows_matmul(const Q6KMatmulArgs& a) {
    const quant::Q6KRows& w = *a.weights;
    const size_t x_blocks = w.cols / kQ8BlockElems;
    for (size_t r = a.row_begin; r < a.row_end; ++r) {
        for (size_t t = 0; t < a.n_tokens; ++t) {
            float lanes[8] = {};
            for (size_t b = 0; b < x_blocks; ++b) {
                const std::byte* block = w.row_blocks(r) + b / 8 * quant::Q6KRows::kBlockBytes;
                const std::byte* x = a.x + (t * x_blocks + b) * kQ8BlockBytes;
                const auto* xq = reinterpret_cast<const int8_t*>(x + 2);
                const float s = load_fp16(block + 208) * load_fp16(x);
                for (size_t l = 0; l < 8; ++l) {
                    const size_t e = b % 8 * 32 + 4 * l;
                    int32_t sum = 0;
                    for (size_t j = 0; j < 4; ++j) sum += q6_k_weight(block, e + j) * int32_t{xq[4 * l + j]};
                    lanes[l] = lanes[l] + s * static_cast<float>(q6_k_group_scale(block, e) * sum);
                }
            }
            a.out[t * a.out_stride + r] = combine(lanes);
        }
    }
}

}  // namespace

void q8_matmul(const Q8MatmulArgs& a) { head_matmul(a); }
void q4_matmul(const Q4MatmulArgs& a) { head_matmul(a); }
void q6_k_matmul(const Q6KMatmulArgs& a) { q6_k_rows_matmul(a); }

}  // namespace tern::kernels::ref
