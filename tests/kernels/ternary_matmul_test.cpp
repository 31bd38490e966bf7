// Every compiled ISA's ternary GEMV and GEMM against the scalar reference, bit for bit, and
// the reference against a naive computation from plain int8 weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "kernels/amx_permission.h"
#include "kernels/dispatch.h"
#include "kernels/matmul_driver.h"

namespace tern::kernels {

namespace {

enum class WeightFill { kRandom, kZero, kPlus, kMinus };
enum class ActFill { kRandom, kMax, kMin, kAlternatingExtremes };

struct Shape {
    size_t rows, cols, n_tokens;
    WeightFill weights = WeightFill::kRandom;
    ActFill acts = ActFill::kRandom;
};

std::string describe(const Shape& s) {
    return str_cat(s.rows, "x", s.cols, " tokens=", s.n_tokens, " weights=", static_cast<int>(s.weights),
                   " acts=", static_cast<int>(s.acts));
}

struct Case {
    std::vector<int8_t> plain;   // rows x cols ternary values
    std::vector<float> scales;   // per row
    quant::PackedTernary packed;
    quant::Int8Activations acts;
};

Case make_case(const Shape& s, uint32_t seed, quant::TernaryLayout layout = quant::TernaryLayout::kCodes) {
    std::mt19937 rng(seed);
    Case c;
    c.plain.resize(s.rows * s.cols);
    for (int8_t& v : c.plain) {
        switch (s.weights) {
            case WeightFill::kRandom: v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1); break;
            case WeightFill::kZero: v = 0; break;
            case WeightFill::kPlus: v = 1; break;
            case WeightFill::kMinus: v = -1; break;
        }
    }
    std::uniform_real_distribution<float> scale_dist(0.01f, 3.0f);
    c.scales.resize(s.rows);
    for (float& scale : c.scales) scale = scale_dist(rng);
    auto packed = quant::pack_ternary(s.rows, s.cols, [&](size_t row, std::span<int8_t> values) -> Result<float> {
        std::memcpy(values.data(), c.plain.data() + row * s.cols, s.cols);
        return c.scales[row];
    });
    EXPECT_TRUE(packed.ok()) << packed.error().message();
    c.packed = std::move(packed.value());
    quant::convert_layout(c.packed, layout);

    quant::reshape_activations(c.acts, s.n_tokens, s.cols, quant::layout_chunk_cols(layout));
    std::memset(c.acts.values.data(), 0, c.acts.values.size());
    for (size_t t = 0; t < s.n_tokens; ++t) {
        int8_t* row = c.acts.values.data() + t * c.acts.cols_padded;
        int32_t sum = 0;
        for (size_t k = 0; k < s.cols; ++k) {
            switch (s.acts) {
                case ActFill::kRandom: row[k] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128); break;
                case ActFill::kMax: row[k] = 127; break;
                case ActFill::kMin: row[k] = -128; break;
                case ActFill::kAlternatingExtremes: row[k] = (k % 2) ? 127 : -128; break;
            }
            sum += row[k];
        }
        c.acts.sum[t] = sum;
        c.acts.scale[t] = 1.0f / 127.0f * static_cast<float>(t + 1);
    }
    return c;
}

std::vector<Shape> test_shapes() {
    std::vector<Shape> shapes;
    for (size_t rows : {1, 3, 4, 5, 7, 16, 33}) {
        for (size_t cols : {1, 31, 64, 100, 255, 256, 257, 1000, 2560}) {
            for (size_t n_tokens : {1, 2, 3, 4, 5, 9}) shapes.push_back({rows, cols, n_tokens});
        }
    }
    for (WeightFill w : {WeightFill::kZero, WeightFill::kPlus, WeightFill::kMinus, WeightFill::kRandom}) {
        for (ActFill a : {ActFill::kMax, ActFill::kMin, ActFill::kAlternatingExtremes}) {
            shapes.push_back({6, 4096 + 77, 5, w, a});   // crosses the int16 flush of the avx512 kernel
        }
    }
    return shapes;
}

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

// Runs `fn` with out_stride = rows + 3 so that writes past the real rows would show.
std::vector<float> run(TernaryMatmulFn fn, const Case& c) {
    const size_t stride = c.packed.rows + 3;
    std::vector<float> out(c.acts.n_tokens * stride, kPoison);
    fn({.weights = &c.packed, .acts = &c.acts, .out = out.data(), .out_stride = stride, .tile_begin = 0,
        .tile_end = c.packed.n_tiles()});
    return out;
}

void expect_same_bits(const std::vector<float>& want, const std::vector<float>& got, size_t rows, size_t stride) {
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) {
        if (i % stride >= rows) {
            ASSERT_TRUE(std::isnan(got[i])) << "wrote padding slot " << i;
            continue;
        }
        ASSERT_EQ(0, std::memcmp(&want[i], &got[i], sizeof(float)))
            << "token " << i / stride << " row " << i % stride << ": want " << want[i] << " got " << got[i];
    }
}

TEST(TernaryMatmulReference, MatchesNaiveIntegerDot) {
    for (const Shape& s : {Shape{5, 300, 2}, Shape{8, 2560, 1}, Shape{1, 1, 1}}) {
        SCOPED_TRACE(describe(s));
        const Case c = make_case(s, 7);
        const std::vector<float> got = run(ref::ternary_gemm, c);
        for (size_t t = 0; t < s.n_tokens; ++t) {
            for (size_t r = 0; r < s.rows; ++r) {
                int64_t acc = 0;
                for (size_t k = 0; k < s.cols; ++k) acc += int64_t{c.plain[r * s.cols + k]} * c.acts.row(t)[k];
                const float want = static_cast<float>(acc) * c.acts.scale[t] * c.scales[r];
                EXPECT_EQ(want, got[t * (s.rows + 3) + r]);
            }
        }
    }
}

// Every compiled kernel table this CPU runs: each ISA's 2-bit kernels and, where an ISA has
// them, its base-3 kernels.
class TernaryMatmulIsaTest : public ::testing::TestWithParam<const KernelTable*> {};

std::vector<const KernelTable*> tables_here() {
    std::vector<const KernelTable*> tables;
    for (Isa isa : isas_supported_here())
        for (Packing packing : {Packing::k2Bit, Packing::kBase3})
            if (const KernelTable* table = kernel_table(isa, packing)) tables.push_back(table);
    return tables;
}

TEST_P(TernaryMatmulIsaTest, GemvAndGemmMatchReferenceBitForBit) {
    const KernelTable& table = *GetParam();
    uint32_t seed = 1;
    for (const Shape& s : test_shapes()) {
        SCOPED_TRACE(describe(s));
        const Case c = make_case(s, seed++, table.ternary_layout);
        const std::vector<float> want = run(ref::ternary_gemm, c);
        expect_same_bits(want, run(table.ternary_gemv, c), s.rows, s.rows + 3);
        expect_same_bits(want, run(table.ternary_gemm, c), s.rows, s.rows + 3);
        if (HasFatalFailure()) return;
    }
}

TEST_P(TernaryMatmulIsaTest, HugeKDoesNotOverflow) {
    // 2^20 columns of -128 against all-+1 rows: |sum| = 2^27, far past any int16 lane. All -1
    // rows against -128 are the multiplication-free kernel's largest biased byte sums (255 each).
    const KernelTable& table = *GetParam();
    for (const WeightFill fill : {WeightFill::kPlus, WeightFill::kMinus}) {
        // Four tokens: the widest token tile of the avx512 and avx512vnni GEMMs.
        const Case c = make_case({5, size_t{1} << 20, 4, fill, ActFill::kMin}, 3, table.ternary_layout);
        const std::vector<float> got = run(table.ternary_gemm, c);
        const std::vector<float> got_gemv = run(table.ternary_gemv, c);
        const float sum = fill == WeightFill::kPlus ? -134217728.0f : 134217728.0f;
        const size_t stride = got.size() / c.acts.n_tokens;
        for (size_t t = 0; t < 4; ++t) {
            for (size_t r = 0; r < 5; ++r) {
                EXPECT_EQ(got[t * stride + r], sum * c.acts.scale[t] * c.scales[r]) << "token " << t << " row " << r;
                EXPECT_EQ(got_gemv[t * stride + r], got[t * stride + r]) << "token " << t << " row " << r;
            }
        }
    }
}

TEST_P(TernaryMatmulIsaTest, ResultDoesNotDependOnThreadCount) {
    const KernelTable& table = *GetParam();
    for (size_t n_tokens : {1, 7}) {
        const Case c = make_case({45, 1300, n_tokens}, 11, table.ternary_layout);
        std::vector<std::vector<float>> outs;
        for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            std::vector<float> out(n_tokens * 45, kPoison);
            ternary_matmul(table, pool, c.packed, c.acts, out.data(), 45);
            outs.push_back(out);
        }
        EXPECT_EQ(0, std::memcmp(outs[0].data(), outs[1].data(), outs[0].size() * sizeof(float)));
        EXPECT_EQ(0, std::memcmp(outs[0].data(), outs[2].data(), outs[0].size() * sizeof(float)));
        const std::vector<float> want = run(ref::ternary_gemm, c);
        for (size_t t = 0; t < n_tokens; ++t) {
            EXPECT_EQ(0, std::memcmp(&want[t * 48], &outs[0][t * 45], 45 * sizeof(float)));
        }
    }
}

TEST_P(TernaryMatmulIsaTest, GroupedMatmulsEqualSeparateOnes) {
    const KernelTable& table = *GetParam();
    for (size_t n_tokens : {1, 5}) {
        // Three matrices with row counts that are not multiples of the tile, one set of activations.
        const Case a = make_case({45, 1300, n_tokens}, 11, table.ternary_layout);
        const Case b = make_case({13, 1300, n_tokens}, 12, table.ternary_layout);
        const Case c = make_case({7, 1300, n_tokens}, 13, table.ternary_layout);
        for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            std::vector<float> separate(n_tokens * 65, kPoison), grouped(n_tokens * 65, kPoison);
            ternary_matmul(table, pool, a.packed, a.acts, separate.data(), 45);
            ternary_matmul(table, pool, b.packed, a.acts, separate.data() + n_tokens * 45, 13);
            ternary_matmul(table, pool, c.packed, a.acts, separate.data() + n_tokens * 58, 7);
            const TernaryProduct products[] = {{&a.packed, grouped.data(), 45},
                                               {&b.packed, grouped.data() + n_tokens * 45, 13},
                                               {&c.packed, grouped.data() + n_tokens * 58, 7}};
            ternary_matmuls(table, pool, products, a.acts);
            EXPECT_EQ(0, std::memcmp(separate.data(), grouped.data(), grouped.size() * sizeof(float)))
                << threads << " threads, " << n_tokens << " tokens";
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, TernaryMatmulIsaTest, ::testing::ValuesIn(tables_here()), [](const auto& info) {
    std::string name = info.param->name;
    for (char& c : name)
        if (c == '+') c = '_';
    return name;
});

TEST(TernaryMatmulTables, Base3KernelsExistForEveryDotProductIsa) {
    EXPECT_NE(kernel_table(Isa::kScalar, Packing::kBase3), nullptr);
#if defined(__x86_64__)
    for (Isa isa : {Isa::kAvx2, Isa::kAvx512Vnni}) {
        ASSERT_NE(kernel_table(isa, Packing::kBase3), nullptr) << isa_name(isa);
        EXPECT_EQ(kernel_table(isa, Packing::kBase3)->ternary_layout, quant::TernaryLayout::kBase3);
        EXPECT_EQ(kernel_table(isa, Packing::kBase3)->isa, isa);
    }
    // The multiplication-free kernel reads sign planes; base 3 has no such form.
    EXPECT_EQ(kernel_table(Isa::kAvx512, Packing::kBase3), nullptr);
#elif defined(__aarch64__)
    for (Isa isa : {Isa::kNeon, Isa::kNeonDot, Isa::kNeonI8mm}) {
        ASSERT_NE(kernel_table(isa, Packing::kBase3), nullptr) << isa_name(isa);
        EXPECT_EQ(kernel_table(isa, Packing::kBase3)->ternary_layout, quant::TernaryLayout::kBase3);
        EXPECT_EQ(kernel_table(isa, Packing::kBase3)->isa, isa);
    }
#endif
    EXPECT_FALSE(parse_packing("base4").ok());
    EXPECT_EQ(parse_packing("base3").value(), Packing::kBase3);
}

// The AMX GEMM's shapes: row blocks of 16 (and a call starting mid-block, as the driver
// splits row tiles), token blocks of 16 in passes of 4 (65 tokens: a second pass with one
// block of one token), K slices of 64 and chunk padding.
std::vector<Shape> amx_shapes() {
    std::vector<Shape> shapes = test_shapes();
    for (size_t n_tokens : {16, 17, 33, 64, 65, 70})
        for (size_t rows : {15, 16, 17, 48})
            for (size_t cols : {64, 300, 2560}) shapes.push_back({rows, cols, n_tokens});
    shapes.push_back({20, 1000, 65, WeightFill::kMinus, ActFill::kMin});
    shapes.push_back({20, 1000, 65, WeightFill::kPlus, ActFill::kMax});
    return shapes;
}

void expect_amx_matches_reference(TernaryMatmulFn gemm) {
    uint32_t seed = 500;
    for (const Shape& s : amx_shapes()) {
        SCOPED_TRACE(describe(s));
        const Case c = make_case(s, seed++);
        const std::vector<float> want = run(ref::ternary_gemm, c);
        expect_same_bits(want, run(gemm, c), s.rows, s.rows + 3);
        // Row tiles [1, n - 1) only, as one thread of a split gets them.
        if (c.packed.n_tiles() >= 3) {
            const size_t stride = s.rows + 3;
            std::vector<float> part(s.n_tokens * stride, kPoison);
            gemm({.weights = &c.packed, .acts = &c.acts, .out = part.data(), .out_stride = stride, .tile_begin = 1,
                  .tile_end = c.packed.n_tiles() - 1});
            for (size_t t = 0; t < s.n_tokens; ++t)
                for (size_t r = 0; r < stride; ++r) {
                    const bool inside = r >= quant::kRowTile && r < (c.packed.n_tiles() - 1) * quant::kRowTile && r < s.rows;
                    const float got = part[t * stride + r];
                    if (inside) ASSERT_EQ(0, std::memcmp(&got, &want[t * stride + r], sizeof got)) << "token " << t << " row " << r;
                    else ASSERT_TRUE(std::isnan(got)) << "token " << t << " row " << r << " is outside the call's tiles";
                }
        }
        if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(TernaryMatmulAmx, EmulatedTilesMatchTheReferenceBitForBit) { expect_amx_matches_reference(amx_emulated::ternary_gemm); }

TEST(TernaryMatmulAmx, HardwareTilesMatchTheReferenceBitForBit) {
#if defined(__x86_64__)
    if (!amx_tiles_usable(detect_cpu_info().features))
        GTEST_SKIP() << "NOT TESTED on this machine: no AMX-INT8 (or the kernel refused the tile state); the emulated tiles ran";
    expect_amx_matches_reference(amx::ternary_gemm);
#else
    GTEST_SKIP() << "NOT TESTED: AMX is x86 only; the emulated tiles ran";
#endif
}

TEST(TernaryMatmulIsas, ReportsIsasThisMachineCannotTest) {
    std::string missing;
    for (size_t i = 0; i < static_cast<size_t>(Isa::kCount); ++i) {
        const auto isa = static_cast<Isa>(i);
        if (!isa_runs_on(isa, detect_cpu_info().features)) missing += str_cat(" ", isa_name(isa));
    }
    if (!missing.empty()) GTEST_SKIP() << "NOT TESTED on this machine (CPU lacks them):" << missing;
}

}  // namespace
}  // namespace tern::kernels
