// Fairy2i's widely-linear projection for plain ARMv8 Advanced SIMD, both activation paths
// (contract: widely_linear_matmul.h). The int8 path is widely_linear_matmul_neon_body.inc with
// widening multiplies; the float path, below, serves the neondot table as well.
//
// float: the contract's 16 lanes are four 4-lane registers per sum. A pass over the row keeps
// as many of them as fit beside each other (2 matrices: lanes 0..7 then 8..15; 4 matrices: one
// quad per pass), 16 accumulators in all. Per 4 columns the codes are widened to 32-bit lanes;
// CMTST on the axis bit masks the real or the imaginary sums (BSL keeps the others unchanged,
// a masked addition) and the sign bit, moved to bit 31, is XORed into x (x + (-y) is x - y in
// IEEE arithmetic). The lanes are then combined with the reference's own tree, so the result
// equals it bit for bit. Columns at and past cols are masked off, loads included (the x row
// holds 2 cols floats only).
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_scratch.h"
#include "kernels/widely_linear_matmul.h"

#define TERN_NEON_SDOT 0
namespace tern::kernels::neon {
#include "kernels/neon_int8_dot.inc"
#include "kernels/neon_complex_units.inc"
#include "kernels/widely_linear_matmul_neon_body.inc"

namespace {

constexpr int kLanes = 16;   // the contract's lanes: column k adds into lane k mod 16

template <size_t NMat>
constexpr int kQuadsPerPass = NMat == 2 ? 2 : 1;

// Four columns' real and imaginary activations, zero past cols, and the mask of the valid lanes.
struct ColumnQuad {
    float32x4_t re, im;
    uint32x4_t valid;
};

ColumnQuad load_quad(const float* xr, const float* xi, size_t column, size_t cols) {
    if (column + 4 <= cols) return {vld1q_f32(xr + column), vld1q_f32(xi + column), vdupq_n_u32(~0u)};
    float re[4] = {}, im[4] = {};
    const size_t n = cols - column;
    std::memcpy(re, xr + column, n * sizeof(float));
    std::memcpy(im, xi + column, n * sizeof(float));
    constexpr uint32_t kLaneIndex[4] = {0, 1, 2, 3};
    return {vld1q_f32(re), vld1q_f32(im), vcltq_u32(vld1q_u32(kLaneIndex), vdupq_n_u32(static_cast<uint32_t>(n)))};
}

// The codes of four consecutive bytes, plane `plane`, one per 32-bit lane.
uint32x4_t quad_codes(const uint8_t* bytes, int plane) {
    uint32_t packed;
    std::memcpy(&packed, bytes, sizeof packed);
    const uint32x4_t wide = vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(packed)))));
    return vandq_u32(vshlq_u32(wide, vdupq_n_s32(-2 * plane)), vdupq_n_u32(3));
}

// Adds (or, by the code's sign, subtracts) x into the real or the imaginary sums, lane by lane.
void add_masked(float32x4_t (&s)[kSums], uint32x4_t codes, const ColumnQuad& x) {
    const uint32x4_t imag = vandq_u32(vtstq_u32(codes, vdupq_n_u32(1)), x.valid);
    const uint32x4_t real = vbicq_u32(x.valid, imag);
    const uint32x4_t flip = vshlq_n_u32(vandq_u32(codes, vdupq_n_u32(2)), 30);
    const float32x4_t re = vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(x.re), flip));
    const float32x4_t im = vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(x.im), flip));
    s[kPr] = vbslq_f32(real, vaddq_f32(s[kPr], re), s[kPr]);
    s[kPi] = vbslq_f32(real, vaddq_f32(s[kPi], im), s[kPi]);
    s[kQr] = vbslq_f32(imag, vaddq_f32(s[kQr], re), s[kQr]);
    s[kQi] = vbslq_f32(imag, vaddq_f32(s[kQi], im), s[kQi]);
}

// The contract's tree over the 16 lanes: l[i] + l[i + 8], then + 4, + 2, + 1.
float tree(const float (&lane)[kLanes]) {
    float l[kLanes];
    std::copy(lane, lane + kLanes, l);
    for (int width = 8; width >= 1; width /= 2)
        for (int i = 0; i < width; ++i) l[i] += l[i + width];
    return l[0];
}

// Lanes 4 * first_quad .. of every sum of one row and token, over all its columns.
template <size_t NMat>
void row_pass(const WidelyLinearFloatArgs& a, size_t row, size_t token, int first_quad, float (&lanes)[NMat][kSums][kLanes]) {
    constexpr int kQuads = kQuadsPerPass<NMat>;
    const quant::PackedWidelyLinear& w = *a.weights;
    const size_t cols = w.cols;
    const float* xr = a.x + token * a.x_stride;
    const float* xi = xr + cols;
    float32x4_t acc[kQuads][NMat][kSums];
    for (auto& quad : acc)
        for (auto& matrix : quad)
            for (float32x4_t& v : matrix) v = vdupq_n_f32(0.0f);
    const uint8_t* codes = row_codes(w, row);
    for (size_t chunk = 0; chunk * kChunkCols < cols; ++chunk, codes += kRowTile * w.row_chunk_bytes())
        for (int plane = 0; plane < 4; ++plane)
            for (int group = 0; group < 4; ++group)
                for (int quad = 0; quad < kQuads; ++quad) {
                    const size_t byte = 16 * group + 4 * (first_quad + quad);   // = the column within the plane
                    const size_t column = chunk * kChunkCols + 64 * plane + byte;
                    if (column >= cols) continue;
                    const ColumnQuad x = load_quad(xr, xi, column, cols);
                    for (size_t j = 0; j < NMat; ++j) add_masked(acc[quad][j], quad_codes(codes + j * kChunkBytes + byte, plane), x);
                }
    for (int quad = 0; quad < kQuads; ++quad)
        for (size_t j = 0; j < NMat; ++j)
            for (int s = 0; s < kSums; ++s) vst1q_f32(lanes[j][s] + 4 * (first_quad + quad), acc[quad][j][s]);
}

template <size_t NMat>
void row_float(const WidelyLinearFloatArgs& a, size_t row, size_t token) {
    float lanes[NMat][kSums][kLanes];
    for (int first_quad = 0; first_quad < 4; first_quad += kQuadsPerPass<NMat>) row_pass<NMat>(a, row, token, first_quad, lanes);
    float sums[NMat][kSums];
    for (size_t j = 0; j < NMat; ++j)
        for (int s = 0; s < kSums; ++s) sums[j][s] = tree(lanes[j][s]);
    float* out = a.out + token * a.out_stride + row;
    store_row<NMat>(*a.weights, sums, 1.0f, 1.0f, out, out + a.im_offset);
}

}  // namespace

void widely_linear_float(const WidelyLinearFloatArgs& a) {
    const quant::PackedWidelyLinear& w = *a.weights;
    for (size_t row = a.tile_begin * kRowTile; row < a.tile_end * kRowTile && row < w.rows; ++row)
        for (size_t t = 0; t < a.n_tokens; ++t) {
            if (w.n_matrices == 2) row_float<2>(a, row, t);
            else row_float<4>(a, row, t);
        }
}

}  // namespace tern::kernels::neon
