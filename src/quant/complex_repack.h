// Builds tern's packed complex matrices (packed_complex.h) from what files hold: float master
// weights (HF: weight_real + weight_imag), quantised here with PhaseQuant exactly as the
// reference does at load, or TERN_C2 codes (tern's GGUF), which are only re-tiled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "quant/packed_complex.h"
#include "tern/status.h"

namespace tern::quant {

// re and im: rows x cols row-major master weights. Errors name the first non-finite weight by
// row and column.
Result<PackedComplex> phase_quantize_matrix(std::span<const float> re, std::span<const float> im, size_t rows,
                                            size_t cols, float min_scale);

// TERN_C2 bytes: row-major, cols / 4 bytes a row, the code of column 4j + i in bits 2i of
// byte j. Errors: a byte count that does not match the shape, cols not a multiple of 4.
Result<PackedComplex> repack_tern_c2(std::span<const std::byte> bytes, size_t rows, size_t cols, float scale_re,
                                     float scale_im);

// The codes (rows x cols, row-major) that TERN_C2 bytes hold. Same errors as repack_tern_c2.
Result<std::vector<uint8_t>> decode_tern_c2(std::span<const std::byte> bytes, size_t rows, size_t cols);

// The TERN_C2 bytes of a code matrix (rows x cols codes, row-major; cols a multiple of 4).
std::vector<uint8_t> encode_tern_c2(std::span<const uint8_t> codes, size_t rows, size_t cols);

}  // namespace tern::quant
