// The AMX ternary GEMM over a scalar emulation of the tile instructions (ternary_matmul_amx_body.inc):
// built for every machine, so that the kernel's tiling, weight unpacking and activation
// arrangement are tested bit for bit against the reference where no AMX unit exists. It is
// a test vehicle, never dispatched: it is far slower than any SIMD kernel.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_scratch.h"
#include "kernels/ternary_matmul.h"

namespace tern::kernels::amx_emulated {
namespace {

// Eight tile registers of the AMX palette 1 shape this kernel configures: A and B (16 rows of
// 64 bytes) and four C tiles (16 x 16 int32).
class Tiles {
public:
    void configure() {}
    void release() {}
    void zero_c(size_t j) { std::memset(c_[j], 0, sizeof c_[j]); }
    void load_a(const int8_t* p, size_t stride) { load(a_, p, stride); }
    void load_b(const int8_t* p, size_t stride) { load(b_, p, stride); }
    // tdpbssd: C_j[m][n] += sum over q, i of A[m][4q + i] * B[q][4n + i], in int32.
    void dot(size_t j) {
        for (size_t m = 0; m < 16; ++m)
            for (size_t n = 0; n < 16; ++n) {
                int32_t sum = c_[j][m][n];
                for (size_t q = 0; q < 16; ++q)
                    for (size_t i = 0; i < 4; ++i) sum += int32_t{a_[m][4 * q + i]} * int32_t{b_[q][4 * n + i]};
                c_[j][m][n] = sum;
            }
    }
    void store_c(size_t j, int32_t* out) const { std::memcpy(out, c_[j], sizeof c_[j]); }

private:
    static void load(int8_t (&tile)[16][64], const int8_t* p, size_t stride) {
        for (size_t row = 0; row < 16; ++row) std::memcpy(tile[row], p + row * stride, 64);
    }
    int8_t a_[16][64];
    int8_t b_[16][64];
    int32_t c_[4][16][16];
};

// Rows first_row .. first_row + rows of the kCodes layout (quant/packed_ternary.h) as -1/0/+1
// bytes, [16][cols_padded], rows past `rows` zero.
void unpack_weight_rows(const quant::PackedTernary& w, size_t first_row, size_t rows, int8_t* out) {
    std::memset(out, 0, 16 * w.cols_padded);
    for (size_t m = 0; m < rows; ++m) {
        const size_t r = first_row + m;
        const uint8_t* tile = w.tile(r / quant::kRowTile);
        for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk) {
            const uint8_t* bytes = tile + (chunk * quant::kRowTile + r % quant::kRowTile) * quant::kChunkBytes;
            for (size_t p = 0; p < 4; ++p)
                for (size_t b = 0; b < 64; ++b)
                    out[m * w.cols_padded + chunk * quant::kChunkCols + 64 * p + b] = static_cast<int8_t>(((bytes[b] >> (2 * p)) & 3) - 1);
        }
    }
}

}  // namespace

#include "kernels/ternary_matmul_amx_body.inc"

}  // namespace tern::kernels::amx_emulated
