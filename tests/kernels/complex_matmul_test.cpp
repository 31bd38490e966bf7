// Every compiled ISA's complex {±1, ±i} GEMV and GEMM against the scalar reference, bit for
// bit; the reference against a naive int64 computation from plain codes and against a
// hand-checked example; the thread-pool driver against one reference call.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "kernels/complex_matmul.h"
#include "kernels/dispatch.h"
#include "kernels/matmul_driver.h"

namespace tern::kernels {
namespace {

// kUnit0..kUnit3: every weight that code (+1, +i, -1, -i).
enum class CodeFill { kRandom, kUnit0, kUnit1, kUnit2, kUnit3 };
enum class ActFill { kRandom, kMax, kMin, kAlternatingExtremes, kZero };

struct Shape {
    size_t rows, cols, n_tokens;
    CodeFill codes = CodeFill::kRandom;
    ActFill acts = ActFill::kRandom;
};

std::string describe(const Shape& s) {
    return str_cat(s.rows, "x", s.cols, " tokens=", s.n_tokens, " codes=", static_cast<int>(s.codes),
                   " acts=", static_cast<int>(s.acts));
}

struct Case {
    std::vector<uint8_t> codes;   // rows x cols, 0..3
    quant::PackedComplex packed;
    quant::Int8Activations acts;   // 2 rows per token: re, im
};

Case make_case(const Shape& s, uint32_t seed) {
    std::mt19937 rng(seed);
    Case c;
    c.codes.resize(s.rows * s.cols);
    for (uint8_t& code : c.codes)
        code = s.codes == CodeFill::kRandom ? static_cast<uint8_t>(rng() % 4) : static_cast<uint8_t>(static_cast<int>(s.codes) - 1);
    std::uniform_real_distribution<float> scale_dist(0.01f, 3.0f);
    const float scale_re = scale_dist(rng), scale_im = scale_dist(rng);
    auto packed = quant::pack_complex(s.rows, s.cols, scale_re, scale_im, [&](size_t row, std::span<uint8_t> out) -> Status {
        std::memcpy(out.data(), c.codes.data() + row * s.cols, s.cols);
        return {};
    });
    EXPECT_TRUE(packed.ok()) << packed.error().message();
    c.packed = std::move(packed.value());

    quant::reshape_activations(c.acts, 2 * s.n_tokens, s.cols);
    std::memset(c.acts.values.data(), 0, c.acts.values.size());
    std::uniform_real_distribution<float> act_scale(0.001f, 0.05f);
    for (size_t row = 0; row < 2 * s.n_tokens; ++row) {
        int8_t* x = c.acts.values.data() + row * c.acts.cols_padded;
        int32_t sum = 0;
        for (size_t k = 0; k < s.cols; ++k) {
            switch (s.acts) {
                case ActFill::kRandom: x[k] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128); break;
                case ActFill::kMax: x[k] = 127; break;
                case ActFill::kMin: x[k] = -128; break;
                case ActFill::kAlternatingExtremes: x[k] = (k + row) % 2 ? 127 : -128; break;
                case ActFill::kZero: x[k] = 0; break;
            }
            sum += x[k];
        }
        c.acts.sum[row] = sum;
        c.acts.scale[row] = act_scale(rng);
    }
    return c;
}

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

// Output layout of the tests: token t's real rows at t * stride, its imaginary rows at
// t * stride + im_offset, with unwritten slots between and after them (rows 2 and 3 apart).
struct Layout {
    size_t rows, stride, im_offset;
    explicit Layout(size_t r) : rows(r), stride(2 * r + 5), im_offset(r + 2) {}
    bool written(size_t i) const {
        const size_t slot = i % stride;
        return slot < rows || (slot >= im_offset && slot < im_offset + rows);
    }
};

std::vector<float> run(ComplexMatmulFn fn, const Case& c) {
    const Layout layout(c.packed.rows);
    std::vector<float> out(c.acts.n_tokens / 2 * layout.stride, kPoison);
    fn({.weights = &c.packed, .acts = &c.acts, .out = out.data(), .out_stride = layout.stride, .im_offset = layout.im_offset,
        .tile_begin = 0, .tile_end = c.packed.n_tiles()});
    return out;
}

void expect_same_bits(const std::vector<float>& want, const std::vector<float>& got, const Layout& layout) {
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) {
        if (!layout.written(i)) {
            ASSERT_TRUE(std::isnan(got[i])) << "wrote unowned slot " << i;
            continue;
        }
        ASSERT_EQ(0, std::memcmp(&want[i], &got[i], sizeof(float)))
            << "token " << i / layout.stride << " slot " << i % layout.stride << ": want " << want[i] << " got " << got[i];
    }
}

// The contract of complex_matmul.h computed the obvious way: int64 sums of P and Q from the
// plain codes, then the float epilogue.
std::vector<float> naive(const Case& c) {
    const size_t rows = c.packed.rows, cols = c.packed.cols;
    const Layout layout(rows);
    std::vector<float> out(c.acts.n_tokens / 2 * layout.stride, kPoison);
    for (size_t t = 0; t < c.acts.n_tokens / 2; ++t) {
        const int8_t* xr = c.acts.row(2 * t);
        const int8_t* xi = c.acts.row(2 * t + 1);
        for (size_t r = 0; r < rows; ++r) {
            int64_t pr = 0, pi = 0, qr = 0, qi = 0;
            for (size_t k = 0; k < cols; ++k) {
                const uint8_t code = c.codes[r * cols + k];
                const int p = code == 0 ? 1 : code == 2 ? -1 : 0, q = code == 1 ? 1 : code == 3 ? -1 : 0;
                pr += p * xr[k], pi += p * xi[k], qr += q * xr[k], qi += q * xi[k];
            }
            const float sr = c.acts.scale[2 * t], si = c.acts.scale[2 * t + 1];
            const float wr = c.packed.scale_re, wi = c.packed.scale_im;
            out[t * layout.stride + r] = static_cast<float>(pr) * sr * wr + static_cast<float>(qi) * si * wi;
            out[t * layout.stride + layout.im_offset + r] = static_cast<float>(qr) * sr * wi - static_cast<float>(pi) * si * wr;
        }
    }
    return out;
}

TEST(ComplexMatmulReference, MatchesNaiveInt64Computation) {
    uint32_t seed = 100;
    for (const Shape& s : {Shape{5, 300, 2}, Shape{8, 1536, 1}, Shape{1, 1, 1}, Shape{3, 700, 3, CodeFill::kUnit3, ActFill::kMin}}) {
        SCOPED_TRACE(describe(s));
        const Case c = make_case(s, seed++);
        expect_same_bits(naive(c), run(ref::complex_gemm, c), Layout(s.rows));
        expect_same_bits(naive(c), run(ref::complex_gemv, c), Layout(s.rows));
    }
}

// 1x2 matrix W = [2i, -0.5] (codes +i, -1; s_re = 0.5, s_im = 2) against one token x with
// xr_q = [3, -4] (scale 1/4) and xi_q = [5, 7] (scale 1/8), i.e. x = [0.75 + 0.625i, -1 + 0.875i]:
//   W conj(x) = 2i (0.75 - 0.625i) - 0.5 (-1 - 0.875i) = (1.25 + 1.5i) + (0.5 + 0.4375i) = 1.75 + 1.9375i.
// In the contract's terms P = [0, -1], Q = [1, 0]: Pr = 4, Pi = -7, Qr = 3, Qi = 5, and
//   re = 4/4 * 0.5 + 5/8 * 2 = 1.75,   im = 3/4 * 2 - (-7/8) * 0.5 = 1.9375 (all exact in float).
Case hand_checked_case() {
    Case c;
    c.codes = {1, 2};
    c.packed = quant::pack_complex(1, 2, 0.5f, 2.0f, [&](size_t, std::span<uint8_t> out) -> Status {
                   out[0] = 1, out[1] = 2;
                   return {};
               }).value();
    quant::reshape_activations(c.acts, 2, 2);
    std::memset(c.acts.values.data(), 0, c.acts.values.size());
    int8_t* xr = c.acts.values.data();
    int8_t* xi = xr + c.acts.cols_padded;
    xr[0] = 3, xr[1] = -4, xi[0] = 5, xi[1] = 7;
    c.acts.sum[0] = -1, c.acts.sum[1] = 12;
    c.acts.scale[0] = 0.25f, c.acts.scale[1] = 0.125f;
    return c;
}

TEST(ComplexMatmulReference, HandCheckedExample) {
    const Case c = hand_checked_case();
    const std::vector<float> out = run(ref::complex_gemv, c);
    const Layout layout(1);
    EXPECT_EQ(out[0], 1.75f);
    EXPECT_EQ(out[layout.im_offset], 1.9375f);
}

// Every ISA, so that a machine that lacks one says so by name instead of passing silently.
class ComplexMatmulIsaTest : public ::testing::TestWithParam<Isa> {
protected:
    void SetUp() override {
        if (!isa_runs_on(GetParam(), detect_cpu_info().features))
            GTEST_SKIP() << "NOT TESTED: this CPU cannot run the " << isa_name(GetParam()) << " complex kernels";
    }
    const KernelTable& table() const { return kernel_table(GetParam()); }
};

void expect_kernels_match_reference(const KernelTable& table, const Shape& s, uint32_t seed) {
    SCOPED_TRACE(describe(s));
    const Case c = make_case(s, seed);
    const std::vector<float> want = run(ref::complex_gemm, c);
    expect_same_bits(want, run(table.complex_gemv, c), Layout(s.rows));
    expect_same_bits(want, run(table.complex_gemm, c), Layout(s.rows));
}

TEST_P(ComplexMatmulIsaTest, RandomShapesMatchReferenceBitForBit) {
    uint32_t seed = 1;
    for (size_t rows : {1, 3, 4, 5, 17, 64}) {
        for (size_t cols : {1, 5, 255, 256, 257, 511, 1000, 4096}) {
            for (size_t n_tokens : {1, 2, 3, 5}) {
                expect_kernels_match_reference(table(), {rows, cols, n_tokens}, seed++);
                if (HasFatalFailure()) return;
            }
        }
    }
}

TEST_P(ComplexMatmulIsaTest, EqualCodesAndExtremeActivationsMatchReference) {
    uint32_t seed = 1000;
    for (CodeFill codes : {CodeFill::kUnit0, CodeFill::kUnit1, CodeFill::kUnit2, CodeFill::kUnit3, CodeFill::kRandom}) {
        for (ActFill acts : {ActFill::kRandom, ActFill::kMax, ActFill::kMin, ActFill::kAlternatingExtremes, ActFill::kZero}) {
            expect_kernels_match_reference(table(), {5, 1000, 3, codes, acts}, seed++);
            expect_kernels_match_reference(table(), {6, 4096 + 77, 2, codes, acts}, seed++);
            if (HasFatalFailure()) return;
        }
    }
}

TEST_P(ComplexMatmulIsaTest, HugeKMatchesReference) {
    // 2^16 columns: int16 and vpsadbw partial sums far past any one chunk. Equal codes against
    // -128 are each sum's extreme (|sum| = 2^23) and the largest biased bytes (255).
    uint32_t seed = 2000;
    for (CodeFill codes : {CodeFill::kRandom, CodeFill::kUnit0, CodeFill::kUnit1, CodeFill::kUnit2, CodeFill::kUnit3}) {
        expect_kernels_match_reference(table(), {5, size_t{1} << 16, 3, codes, codes == CodeFill::kRandom ? ActFill::kRandom : ActFill::kMin},
                                       seed++);
        if (HasFatalFailure()) return;
    }
}

TEST_P(ComplexMatmulIsaTest, HandCheckedExample) {
    const Case c = hand_checked_case();
    const Layout layout(1);
    for (ComplexMatmulFn fn : {table().complex_gemv, table().complex_gemm}) {
        const std::vector<float> out = run(fn, c);
        EXPECT_EQ(out[0], 1.75f);
        EXPECT_EQ(out[layout.im_offset], 1.9375f);
    }
}

TEST_P(ComplexMatmulIsaTest, DriverOnTwoThreadsMatchesOneReferenceCall) {
    ThreadPool pool(2);
    // 17 tokens take the driver's dynamic split; 1 the GEMV, 5 the fixed-split GEMM.
    for (size_t n_tokens : {1, 5, 17}) {
        SCOPED_TRACE(str_cat(n_tokens, " tokens"));
        const Case a = make_case({45, 1300, n_tokens}, 11);
        const Case b = make_case({13, 1300, n_tokens}, 12);
        const Case c = make_case({7, 1300, n_tokens}, 13);
        const Case* cases[] = {&a, &b, &c};
        std::vector<std::vector<float>> grouped;
        std::vector<ComplexProduct> products;
        for (const Case* k : cases) {
            const Layout layout(k->packed.rows);
            grouped.emplace_back(n_tokens * layout.stride, kPoison);
            products.push_back({.weights = &k->packed, .out = grouped.back().data(), .out_stride = layout.stride,
                                .im_offset = layout.im_offset});
        }
        complex_matmuls(table(), pool, products, a.acts);   // all three share a's activations
        for (size_t i = 0; i < 3; ++i) {
            const Layout layout(cases[i]->packed.rows);
            std::vector<float> want(n_tokens * layout.stride, kPoison);
            ref::complex_gemm({.weights = &cases[i]->packed, .acts = &a.acts, .out = want.data(), .out_stride = layout.stride,
                               .im_offset = layout.im_offset, .tile_begin = 0, .tile_end = cases[i]->packed.n_tiles()});
            expect_same_bits(want, grouped[i], layout);
            std::vector<float> single(n_tokens * layout.stride, kPoison);
            complex_matmul(table(), pool, cases[i]->packed, a.acts, single.data(), layout.stride, layout.im_offset);
            expect_same_bits(want, single, layout);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, ComplexMatmulIsaTest,
                         ::testing::Values(Isa::kScalar
#if defined(__x86_64__)
                                           ,
                                           Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni
#elif defined(__aarch64__)
                                           ,
                                           Isa::kNeon, Isa::kNeonDot, Isa::kNeonI8mm
#endif
                                           ),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

TEST(ComplexMatmulTables, EveryTableHasComplexKernelsAndBase3InheritsThem) {
    for (const Isa isa : isas_supported_here()) {
        const KernelTable& table = kernel_table(isa);
        EXPECT_NE(table.complex_gemv, nullptr) << isa_name(isa);
        EXPECT_NE(table.complex_gemm, nullptr) << isa_name(isa);
        if (const KernelTable* base3 = kernel_table(isa, Packing::kBase3)) {
            EXPECT_EQ(base3->complex_gemv, table.complex_gemv) << isa_name(isa);
            EXPECT_EQ(base3->complex_gemm, table.complex_gemm) << isa_name(isa);
        }
    }
}

}  // namespace
}  // namespace tern::kernels
