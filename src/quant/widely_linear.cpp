#include "quant/widely_linear.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/str_cat.h"
#include "quant/packed_complex.h"
#include "quant/phase_quant.h"

namespace tern::quant {
namespace {

uint8_t* block(PackedWidelyLinear& m, size_t matrix, size_t row, size_t chunk) {
    return m.codes.data() + (row / kRowTile) * m.tile_bytes() + chunk * kRowTile * m.row_chunk_bytes() +
           (row % kRowTile) * m.row_chunk_bytes() + matrix * kChunkBytes;
}

// One complex matrix's parts, n x m row-major.
struct ComplexParts {
    std::vector<float> re, im;
};

}  // namespace

uint8_t widely_linear_code(const PackedWidelyLinear& m, size_t matrix, size_t row, size_t col) {
    TERN_CHECK(matrix < m.n_matrices && row < m.rows_padded && col < m.cols_padded);
    const uint8_t* bytes = block(const_cast<PackedWidelyLinear&>(m), matrix, row, col / kChunkCols);
    const size_t c = col % kChunkCols;
    return static_cast<uint8_t>((bytes[c % 64] >> (2 * (c / 64))) & 3);
}

Result<PackedWidelyLinear> pack_widely_linear(size_t rows, size_t cols, std::span<const std::span<const uint8_t>> codes,
                                              std::span<const float> scale_re, std::span<const float> scale_im) {
    const size_t n_matrices = codes.size();
    if (rows == 0 || cols == 0) return Error(str_cat("widely-linear matrix ", rows, "x", cols, " is empty"));
    if (cols > kMaxPackedCols) return Error(str_cat("widely-linear matrix has ", cols, " columns; at most ", kMaxPackedCols));
    if (n_matrices == 0 || n_matrices > kMaxWidelyLinearMatrices || n_matrices % 2 != 0 || scale_re.size() != n_matrices ||
        scale_im.size() != n_matrices)
        return Error(str_cat("widely-linear matrix needs 2 or 4 code matrices with a scale pair each, got ", n_matrices));
    PackedWidelyLinear m;
    m.rows = rows;
    m.cols = cols;
    m.rows_padded = (rows + kRowTile - 1) / kRowTile * kRowTile;
    m.cols_padded = (cols + kChunkCols - 1) / kChunkCols * kChunkCols;
    m.n_matrices = n_matrices;
    for (size_t j = 0; j < n_matrices; ++j) {
        if (codes[j].size() != rows * cols)
            return Error(str_cat("code matrix ", j, " has ", codes[j].size(), " codes, expected ", rows * cols));
        for (const float s : {scale_re[j], scale_im[j]})
            if (!std::isfinite(s) || s <= 0.0f) return Error(str_cat("code matrix ", j, " has scale ", s, ", not finite and positive"));
        m.scale_re[j] = scale_re[j];
        m.scale_im[j] = scale_im[j];
    }
    m.codes = AlignedBuffer<uint8_t>(m.n_tiles() * m.tile_bytes());
    std::vector<uint8_t> padded(m.cols_padded, 0);
    for (size_t j = 0; j < n_matrices; ++j) {
        for (size_t r = 0; r < rows; ++r) {
            std::memcpy(padded.data(), codes[j].data() + r * cols, cols);
            for (size_t c = 0; c < cols; ++c)
                if (padded[c] > 3) return Error(str_cat("code matrix ", j, " row ", r, " column ", c, ": code ", int{padded[c]}, " is not 0..3"));
            for (size_t chunk = 0; chunk < m.n_chunks(); ++chunk) {
                const uint8_t* v = padded.data() + chunk * kChunkCols;
                uint8_t* out = block(m, j, r, chunk);
                for (size_t b = 0; b < kChunkBytes; ++b)
                    out[b] = static_cast<uint8_t>(v[b] | v[64 + b] << 2 | v[128 + b] << 4 | v[192 + b] << 6);
            }
        }
    }
    return m;
}

Result<PackedWidelyLinear> fairy2i_quantize(std::span<const float> a, size_t out_rows, size_t in_cols, size_t stages) {
    if (out_rows % 2 != 0 || in_cols % 2 != 0)
        return Error(str_cat("shape ", out_rows, "x", in_cols, " has an odd dimension: a widely-linear layer needs both even"));
    if (stages != 1 && stages != 2) return Error(str_cat("PhaseQuant stages ", stages, ", expected 1 or 2"));
    if (a.size() != out_rows * in_cols) return Error(str_cat("matrix has ", a.size(), " values, expected ", out_rows * in_cols));
    for (size_t i = 0; i < a.size(); ++i)
        if (!std::isfinite(a[i]))
            return Error(str_cat("weight at row ", i / in_cols, " column ", i % in_cols, " is ", a[i], ", not finite"));
    const size_t n = out_rows / 2, m = in_cols / 2;
    ComplexParts u{std::vector<float>(n * m), std::vector<float>(n * m)}, w = u;
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < m; ++c) {
            const float a11 = a[r * in_cols + c], a12 = a[r * in_cols + m + c];
            const float a21 = a[(n + r) * in_cols + c], a22 = a[(n + r) * in_cols + m + c];
            const size_t i = r * m + c;
            u.re[i] = 0.5f * (a11 + a22);
            u.im[i] = 0.5f * (a21 - a12);
            w.re[i] = 0.5f * (a11 - a22);
            w.im[i] = 0.5f * (a12 + a21);
        }
    std::vector<std::vector<uint8_t>> codes;
    std::vector<float> scale_re, scale_im;
    for (size_t stage = 0; stage < stages; ++stage) {
        for (ComplexParts* parts : {&u, &w}) {
            TERN_ASSIGN_OR_RETURN(PhaseQuantized q, phase_quantize(parts->re, parts->im, kFairy2iMinScale));
            // The next stage sees the residual.
            for (size_t i = 0; i < q.codes.size(); ++i) {
                parts->re[i] -= q.scale_re * static_cast<float>(complex_code_re(q.codes[i]));
                parts->im[i] -= q.scale_im * static_cast<float>(complex_code_im(q.codes[i]));
            }
            codes.push_back(std::move(q.codes));
            scale_re.push_back(q.scale_re);
            scale_im.push_back(q.scale_im);
        }
    }
    std::vector<std::span<const uint8_t>> views(codes.begin(), codes.end());
    return pack_widely_linear(n, m, views, scale_re, scale_im);
}

}  // namespace tern::quant
