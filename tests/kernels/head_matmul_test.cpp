// The head kernels (Q8_0, Q4_0 and Q6_K weights): every ISA equals the reference bit for bit, and the
// reference equals the plain definition (sum over blocks of the dequantised weights times d_x
// times the activation quants) to float rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <span>

#include "core/float16.h"
#include "kernels/dispatch.h"
#include "quant/block_formats.h"
#include "quant/paired_head_rows.h"
#include "quant/q6_k_head_rows.h"

namespace tern::kernels {
namespace {

struct Q8Format {
    using Rows = quant::PairedQ8Rows;
    static constexpr size_t kBlockBytes = quant::kQ8_0BlockBytes, kBlockElems = 32;
    // Random int8 quants; extremes: only -128 and 127.
    static void fill(std::byte* block, float scale, std::mt19937& rng, bool extremes) {
        store_fp16(block, scale);
        std::byte* quants = block + 2;
        for (size_t i = 0; i < 32; ++i) {
            const int v = extremes ? ((rng() % 2) ? -128 : 127) : static_cast<int>(rng() % 255) - 127;
            quants[i] = static_cast<std::byte>(static_cast<int8_t>(v));
        }
    }
    static Result<Rows> pair(size_t rows, size_t cols, const quant::BlockRowSource& source) {
        return quant::pair_q8_0_rows(rows, cols, source);
    }
    static void dequantize(const std::byte* row, float* out, size_t n) { quant::dequantize_row_q8_0(row, out, n); }
    static Q8MatmulFn reference() { return ref::q8_matmul; }
    static Q8MatmulFn of(const KernelTable& table) { return table.q8_matmul; }
};

struct Q4Format {
    using Rows = quant::PairedQ4Rows;
    static constexpr size_t kBlockBytes = quant::kQ4_0BlockBytes, kBlockElems = 32;
    // Random nibbles; extremes: only 0 and 15 (w = -8 and 7).
    static void fill(std::byte* block, float scale, std::mt19937& rng, bool extremes) {
        store_fp16(block, scale);
        std::byte* quants = block + 2;
        for (size_t i = 0; i < 16; ++i) {
            const unsigned lo = extremes ? (rng() % 2) * 15 : rng() % 16, hi = extremes ? (rng() % 2) * 15 : rng() % 16;
            quants[i] = static_cast<std::byte>(lo | hi << 4);
        }
    }
    static Result<Rows> pair(size_t rows, size_t cols, const quant::BlockRowSource& source) {
        return quant::pair_q4_0_rows(rows, cols, source);
    }
    static void dequantize(const std::byte* row, float* out, size_t n) { quant::dequantize_row_q4_0(row, out, n); }
    static Q4MatmulFn reference() { return ref::q4_matmul; }
    static Q4MatmulFn of(const KernelTable& table) { return table.q4_matmul; }
};

struct Q6KFormat {
    using Rows = quant::Q6KRows;
    static constexpr size_t kBlockBytes = quant::kQ6_KBlockBytes, kBlockElems = 256;
    // Random codes and group scales; extremes: codes only 0 and 63 (w = -32 and 31), group
    // scales only -128 and 127.
    static void fill(std::byte* block, float scale, std::mt19937& rng, bool extremes) {
        for (size_t i = 0; i < 192; ++i)
            block[i] = static_cast<std::byte>(extremes ? ((rng() % 2) ? 0x00 : 0xff) : rng() % 256);
        for (size_t g = 0; g < 16; ++g) {
            const int v = extremes ? ((rng() % 2) ? -128 : 127) : static_cast<int>(rng() % 256) - 128;
            block[192 + g] = static_cast<std::byte>(static_cast<int8_t>(v));
        }
        store_fp16(block + 208, scale);
    }
    static Result<Rows> pair(size_t rows, size_t cols, const quant::BlockRowSource& source) {
        return quant::gather_q6_k_rows(rows, cols, source);
    }
    static void dequantize(const std::byte* row, float* out, size_t n) { quant::dequantize_row_q6_k(row, out, n); }
    static Q6KMatmulFn reference() { return ref::q6_k_matmul; }
    static Q6KMatmulFn of(const KernelTable& table) { return table.q6_k_matmul; }
};

struct HeadCase {
    size_t rows, blocks, tokens;
    bool extremes;   // weights at their extremes, activations at +-127, some zero blocks
};

// Rows of `blocks` blocks of the format, fp16 scale first.
template <class Format>
std::vector<std::byte> random_weights(size_t n_rows, size_t blocks, std::mt19937& rng, bool extremes) {
    std::vector<std::byte> data(n_rows * blocks * Format::kBlockBytes);
    std::uniform_real_distribution<float> scale(0.001f, 0.1f);
    for (size_t b = 0; b < n_rows * blocks; ++b) {
        Format::fill(data.data() + b * Format::kBlockBytes, extremes && b % 7 == 3 ? 0.0f : scale(rng), rng, extremes);
    }
    return data;
}

std::vector<std::byte> random_activations(size_t n_rows, size_t blocks, std::mt19937& rng, bool extremes) {
    std::vector<std::byte> data(n_rows * blocks * kQ8BlockBytes);
    std::uniform_real_distribution<float> scale(0.001f, 0.1f);
    for (size_t b = 0; b < n_rows * blocks; ++b) {
        std::byte* block = data.data() + b * kQ8BlockBytes;
        store_fp16(block, scale(rng));
        for (size_t i = 0; i < 32; ++i) {
            const int v = extremes ? ((rng() % 2) ? 127 : -127) : static_cast<int>(rng() % 255) - 127;
            block[2 + i] = static_cast<std::byte>(static_cast<int8_t>(v));
        }
    }
    return data;
}

template <class Format>
typename Format::Rows paired(const std::vector<std::byte>& rows, const HeadCase& c) {
    const size_t row_bytes = c.blocks * Format::kBlockBytes;
    auto m = Format::pair(c.rows, c.blocks * Format::kBlockElems, [&](size_t r, std::span<std::byte> blocks) -> Status {
        std::memcpy(blocks.data(), rows.data() + r * row_bytes, row_bytes);
        return {};
    });
    EXPECT_TRUE(m.ok());
    return std::move(m).value();
}

// Whole row pairs per call, as the driver splits them; the output around the rows stays NaN
// when a call covers only part of them.
template <class Fn, class Rows>
std::vector<float> run(Fn fn, const Rows& w, const std::vector<std::byte>& x, const HeadCase& c, size_t row_begin = 0,
                       size_t row_end = SIZE_MAX) {
    std::vector<float> out(c.tokens * c.rows, NAN);
    fn({.weights = &w, .x = x.data(), .n_tokens = c.tokens, .out = out.data(), .out_stride = c.rows,
        .row_begin = row_begin, .row_end = std::min(row_end, c.rows)});
    return out;
}

template <class Format>
class HeadMatmul : public ::testing::Test {};
using Formats = ::testing::Types<Q8Format, Q4Format, Q6KFormat>;
class FormatNames {
public:
    template <class T>
    static std::string GetName(int) {
        return std::is_same_v<T, Q8Format> ? "Q8_0" : std::is_same_v<T, Q4Format> ? "Q4_0" : "Q6_K";
    }
};
TYPED_TEST_SUITE(HeadMatmul, Formats, FormatNames);

TYPED_TEST(HeadMatmul, EveryIsaMatchesTheReferenceBitForBit) {
    using Format = TypeParam;
    std::mt19937 rng(9);
    const HeadCase cases[] = {{1, 1, 1, false}, {2, 3, 1, false}, {7, 80, 2, false}, {33, 17, 3, true},
                              {16, 80, 1, true}, {5, 1, 4, true},  {64, 2, 1, false}, {9, 5, 5, true},
                              {6, 3, 6, false},  {11, 80, 9, false},    // token groups of 4 plus tails
                              {37, 1, 9, true}};   // Q6_K: token groups over blocks of 16 rows, a partial last block
    for (const HeadCase& c : cases) {
        const auto w = random_weights<Format>(c.rows, c.blocks, rng, c.extremes);
        const size_t x_blocks = c.blocks * Format::kBlockElems / 32;
        const auto x = random_activations(c.tokens, x_blocks, rng, c.extremes);
        const auto pw = paired<Format>(w, c);
        const std::vector<float> want = run(Format::reference(), pw, x, c);
        std::vector<float> row(c.blocks * Format::kBlockElems);
        for (size_t r = 0; r < c.rows; ++r) {
            Format::dequantize(w.data() + r * c.blocks * Format::kBlockBytes, row.data(), row.size());
            for (size_t t = 0; t < c.tokens; ++t) {
                double plain = 0, magnitude = 0;
                for (size_t b = 0; b < x_blocks; ++b) {
                    const std::byte* xb = x.data() + (t * x_blocks + b) * kQ8BlockBytes;
                    for (size_t i = 0; i < 32; ++i) {
                        const double term = double(row[b * 32 + i]) * load_fp16(xb) * static_cast<int8_t>(xb[2 + i]);
                        plain += term;
                        magnitude += std::fabs(term);
                    }
                }
                // Float accumulation: error bounded by a few ulps of the sum of |terms|.
                EXPECT_NEAR(want[t * c.rows + r], plain, 1e-5 * magnitude + 1e-30) << "row " << r << " token " << t;
            }
        }
        for (Isa isa : isas_supported_here()) {
            const std::vector<float> got = run(Format::of(kernel_table(isa)), pw, x, c);
            EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
                << isa_name(isa) << " rows " << c.rows << " blocks " << c.blocks << " tokens " << c.tokens;
        }
    }
}

TYPED_TEST(HeadMatmul, APartialRowRangeWritesExactlyThoseRows) {
    using Format = TypeParam;
    using Ranges = std::vector<std::pair<size_t, size_t>>;
    std::mt19937 rng(4);
    // The second case is a thread's share of a larger call: more than four tokens, rows that
    // start and end inside the Q6_K kernel's blocks of 16.
    const std::pair<HeadCase, Ranges> cases[] = {{{9, 4, 3, false}, {{2, 5}, {4, 9}, {0, 1}, {8, 9}}},
                                                 {{37, 1, 9, false}, {{6, 31}, {18, 37}}}};
    for (const auto& [c, ranges] : cases) {
        const auto w = random_weights<Format>(c.rows, c.blocks, rng, false);
        const auto x = random_activations(c.tokens, c.blocks * Format::kBlockElems / 32, rng, false);
        const auto pw = paired<Format>(w, c);
        const std::vector<float> whole = run(Format::reference(), pw, x, c);
        for (Isa isa : isas_supported_here()) {
            for (auto [begin, end] : ranges) {
                const std::vector<float> part = run(Format::of(kernel_table(isa)), pw, x, c, begin, end);
                for (size_t t = 0; t < c.tokens; ++t)
                    for (size_t r = 0; r < c.rows; ++r) {
                        const float v = part[t * c.rows + r];
                        if (r >= begin && r < end)
                            EXPECT_EQ(v, whole[t * c.rows + r]) << isa_name(isa) << " row " << r;
                        else
                            EXPECT_TRUE(std::isnan(v)) << isa_name(isa) << " row " << r << " outside [" << begin << ", " << end << ")";
                    }
            }
        }
    }
}

// A Q6_K head read in place from a file's bytes: the kernels give the gathered copy's bits and
// read nothing past the last row (the bytes end exactly there, which the sanitizer build checks).
TEST(HeadMatmulQ6K, BorrowedRowsReadInPlaceAsGathered) {
    std::mt19937 rng(12);
    for (const HeadCase& c : {HeadCase{1, 1, 1, false}, HeadCase{7, 3, 5, true}, HeadCase{12, 2, 2, false}}) {
        const std::vector<std::byte> w = random_weights<Q6KFormat>(c.rows, c.blocks, rng, c.extremes);
        const auto x = random_activations(c.tokens, c.blocks * 8, rng, c.extremes);
        const quant::Q6KRows gathered = paired<Q6KFormat>(w, c);
        Result<quant::Q6KRows> borrowed = quant::borrow_q6_k_rows(w.data(), c.rows, c.blocks * 256);
        ASSERT_TRUE(borrowed.ok()) << borrowed.error().message();
        EXPECT_TRUE(borrowed.value().borrowed());
        EXPECT_FALSE(gathered.borrowed());
        EXPECT_EQ(borrowed.value().row_blocks(c.rows - 1), w.data() + (c.rows - 1) * c.blocks * Q6KFormat::kBlockBytes);
        EXPECT_EQ(borrowed.value().bytes(), w.size());
        const std::vector<float> want = run(ref::q6_k_matmul, gathered, x, c);
        for (Isa isa : isas_supported_here()) {
            const std::vector<float> got = run(kernel_table(isa).q6_k_matmul, borrowed.value(), x, c);
            EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float))) << isa_name(isa);
        }
    }
    EXPECT_EQ(quant::borrow_q6_k_rows(nullptr, 2, 256).error().message(), "Q6_K matrix of 2 x 256: no bytes to borrow");
    const std::byte byte{};
    EXPECT_FALSE(quant::borrow_q6_k_rows(&byte, 2, 300).ok());
    EXPECT_FALSE(quant::borrow_q6_k_rows(&byte, 0, 256).ok());
}

}  // namespace
}  // namespace tern::kernels
