// The AMX-INT8 ternary GEMM for Intel Xeon 4th generation and later (ternary_matmul_amx_body.inc):
// the tile instructions themselves, and AVX-512 to unpack the 2-bit codes into int8 A tiles.
// Built with -mamx-tile -mamx-int8 and the AVX-512 flags; called only where the CPU reports
// AMX-INT8 and the kernel granted this process the tile state (kernels/amx_permission.h).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_scratch.h"
#include "kernels/ternary_matmul.h"

namespace tern::kernels::amx {
namespace {

// Palette 1, every tile 16 rows of 64 bytes: tmm0 = A, tmm1 = B, tmm4..tmm7 = C.
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

class Tiles {
public:
    void configure() {
        TileConfig config;
        for (int t : {0, 1, 4, 5, 6, 7}) {
            config.colsb[t] = 64;
            config.rows[t] = 16;
        }
        _tile_loadconfig(&config);
    }
    void release() { _tile_release(); }
    void zero_c(size_t j) {
        switch (j) {
            case 0: _tile_zero(4); break;
            case 1: _tile_zero(5); break;
            case 2: _tile_zero(6); break;
            default: _tile_zero(7); break;
        }
    }
    void load_a(const int8_t* p, size_t stride) { _tile_loadd(0, p, static_cast<long>(stride)); }
    void load_b(const int8_t* p, size_t stride) { _tile_loadd(1, p, static_cast<long>(stride)); }
    void dot(size_t j) {
        switch (j) {
            case 0: _tile_dpbssd(4, 0, 1); break;
            case 1: _tile_dpbssd(5, 0, 1); break;
            case 2: _tile_dpbssd(6, 0, 1); break;
            default: _tile_dpbssd(7, 0, 1); break;
        }
    }
    void store_c(size_t j, int32_t* out) const {
        switch (j) {
            case 0: _tile_stored(4, out, 64); break;
            case 1: _tile_stored(5, out, 64); break;
            case 2: _tile_stored(6, out, 64); break;
            default: _tile_stored(7, out, 64); break;
        }
    }
};

// Rows first_row .. first_row + rows of the kCodes layout as -1/0/+1 bytes, [16][cols_padded],
// rows past `rows` zero: one 64-byte row chunk shifted by 0, 2, 4, 6 and masked gives four
// runs of 64 consecutive columns.
void unpack_weight_rows(const quant::PackedTernary& w, size_t first_row, size_t rows, int8_t* out) {
    const __m512i three = _mm512_set1_epi8(3), one = _mm512_set1_epi8(1);
    for (size_t m = 0; m < 16; ++m) {
        int8_t* row_out = out + m * w.cols_padded;
        if (m >= rows) {
            std::memset(row_out, 0, w.cols_padded);
            continue;
        }
        const size_t r = first_row + m;
        const uint8_t* tile = w.tile(r / quant::kRowTile);
        for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk) {
            const __m512i bytes = _mm512_loadu_si512(tile + (chunk * quant::kRowTile + r % quant::kRowTile) * quant::kChunkBytes);
            int8_t* dest = row_out + chunk * quant::kChunkCols;
            _mm512_storeu_si512(dest, _mm512_sub_epi8(_mm512_and_si512(bytes, three), one));
            _mm512_storeu_si512(dest + 64, _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(bytes, 2), three), one));
            _mm512_storeu_si512(dest + 128, _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(bytes, 4), three), one));
            _mm512_storeu_si512(dest + 192, _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(bytes, 6), three), one));
        }
    }
}

}  // namespace

#include "kernels/ternary_matmul_amx_body.inc"

}  // namespace tern::kernels::amx
