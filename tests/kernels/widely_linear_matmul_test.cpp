// Every compiled ISA's widely-linear kernels (int8 and float activations) against the scalar
// reference, bit for bit, for one and two stages; and the dispatch table's entries against the
// kernels each ISA is meant to run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/str_cat.h"
#include "kernels/dispatch.h"
#include "kernels/widely_linear_matmul.h"

namespace tern::kernels {
namespace {

enum class ActFill { kRandom, kMax, kMin, kZero };

struct Shape {
    size_t rows, cols, n_tokens, stages;
    ActFill acts = ActFill::kRandom;
};

std::string describe(const Shape& s) {
    return str_cat(s.rows, "x", s.cols, " tokens=", s.n_tokens, " stages=", s.stages, " acts=", static_cast<int>(s.acts));
}

struct Case {
    quant::PackedWidelyLinear packed;
    quant::Int8Activations acts;   // 2 rows per token: re, im
    std::vector<float> x;          // float path: token t's [x_re | x_im] at t * x_stride
    size_t x_stride = 0;
};

Case make_case(const Shape& s, uint32_t seed) {
    std::mt19937 rng(seed);
    Case c;
    const size_t n_matrices = 2 * s.stages;
    std::vector<std::vector<uint8_t>> codes(n_matrices, std::vector<uint8_t>(s.rows * s.cols));
    std::vector<std::span<const uint8_t>> spans;
    std::vector<float> scale_re, scale_im;
    std::uniform_real_distribution<float> scale_dist(0.01f, 3.0f);
    for (auto& m : codes) {
        for (uint8_t& code : m) code = static_cast<uint8_t>(rng() % 4);
        spans.emplace_back(m);
        scale_re.push_back(scale_dist(rng));
        scale_im.push_back(scale_dist(rng));
    }
    auto packed = quant::pack_widely_linear(s.rows, s.cols, spans, scale_re, scale_im);
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
                case ActFill::kZero: x[k] = 0; break;
            }
            sum += x[k];
        }
        c.acts.sum[row] = sum;
        c.acts.scale[row] = act_scale(rng);
    }

    // Float activations: ordinary values, negative zeros, large magnitudes (sums may overflow to
    // infinity and meet the opposite infinity: NaN bits must match too). The x row is exactly
    // 2 cols floats, then guard values a kernel must not read into its sums.
    c.x_stride = 2 * s.cols + 3;
    c.x.assign(s.n_tokens * c.x_stride, std::numeric_limits<float>::quiet_NaN());
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (size_t t = 0; t < s.n_tokens; ++t)
        for (size_t k = 0; k < 2 * s.cols; ++k) {
            float& v = c.x[t * c.x_stride + k];
            switch (s.acts) {
                case ActFill::kRandom: {
                    const uint32_t kind = rng() % 16;
                    v = kind == 0 ? -0.0f : kind == 1 ? 0.0f : kind == 2 ? normal(rng) * 3e38f : kind == 3 ? normal(rng) * 1e-40f : normal(rng);
                    break;
                }
                case ActFill::kMax: v = 1e30f; break;
                case ActFill::kMin: v = -3.0e38f; break;
                case ActFill::kZero: v = (k % 2) ? -0.0f : 0.0f; break;
            }
        }
    return c;
}

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

// Token t's real rows at t * stride, its imaginary rows at + im_offset, unwritten slots between.
struct Layout {
    size_t rows, stride, im_offset;
    explicit Layout(size_t r) : rows(r), stride(2 * r + 5), im_offset(r + 2) {}
    bool written(size_t i) const {
        const size_t slot = i % stride;
        return slot < rows || (slot >= im_offset && slot < im_offset + rows);
    }
};

std::vector<float> run_int8(WidelyLinearInt8Fn fn, const Case& c) {
    const Layout layout(c.packed.rows);
    std::vector<float> out(c.acts.n_tokens / 2 * layout.stride, kPoison);
    fn({.weights = &c.packed, .acts = &c.acts, .out = out.data(), .out_stride = layout.stride, .im_offset = layout.im_offset,
        .tile_begin = 0, .tile_end = c.packed.n_tiles()});
    return out;
}

std::vector<float> run_float(WidelyLinearFloatFn fn, const Case& c) {
    const Layout layout(c.packed.rows);
    const size_t n_tokens = c.acts.n_tokens / 2;
    std::vector<float> out(n_tokens * layout.stride, kPoison);
    fn({.weights = &c.packed, .x = c.x.data(), .x_stride = c.x_stride, .n_tokens = n_tokens, .out = out.data(),
        .out_stride = layout.stride, .im_offset = layout.im_offset, .tile_begin = 0, .tile_end = c.packed.n_tiles()});
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

struct IsaKernels {
    WidelyLinearInt8Fn int8;
    WidelyLinearFloatFn flt;
};

// The kernels each ISA's table should hold (VNNI and SDOT add nothing to the float path).
IsaKernels kernels_for(Isa isa) {
    switch (isa) {
#if defined(__x86_64__)
        case Isa::kAvx2: return {avx2::widely_linear_int8, avx2::widely_linear_float};
        case Isa::kAvx512: return {avx512::widely_linear_int8, avx512::widely_linear_float};
        case Isa::kAvx512Vnni: return {avx512vnni::widely_linear_int8, avx512::widely_linear_float};
#elif defined(__aarch64__)
        case Isa::kNeon: return {neon::widely_linear_int8, neon::widely_linear_float};
        case Isa::kNeonDot: return {neondot::widely_linear_int8, neon::widely_linear_float};
        case Isa::kNeonI8mm: return {neoni8mm::widely_linear_int8, neon::widely_linear_float};
#endif
        default: return {ref::widely_linear_int8, ref::widely_linear_float};
    }
}

class WidelyLinearIsaTest : public ::testing::TestWithParam<Isa> {
protected:
    void SetUp() override {
        if (!isa_runs_on(GetParam(), detect_cpu_info().features))
            GTEST_SKIP() << "NOT TESTED: this CPU cannot run the " << isa_name(GetParam()) << " widely-linear kernels";
    }
};

TEST_P(WidelyLinearIsaTest, EveryShapeMatchesReferenceBitForBit) {
    const IsaKernels k = kernels_for(GetParam());
    uint32_t seed = 1;
    for (size_t stages : {1, 2})
        for (size_t rows : {1, 3, 4, 5, 17})
            for (size_t cols : {1, 5, 255, 256, 257, 1000})
                for (size_t n_tokens : {1, 2, 3, 5}) {
                    const Shape s{rows, cols, n_tokens, stages};
                    SCOPED_TRACE(describe(s));
                    const Case c = make_case(s, seed++);
                    expect_same_bits(run_int8(ref::widely_linear_int8, c), run_int8(k.int8, c), Layout(rows));
                    expect_same_bits(run_float(ref::widely_linear_float, c), run_float(k.flt, c), Layout(rows));
                    if (HasFatalFailure()) return;
                }
}

TEST_P(WidelyLinearIsaTest, ExtremeActivationsMatchReferenceBitForBit) {
    const IsaKernels k = kernels_for(GetParam());
    uint32_t seed = 1000;
    for (size_t stages : {1, 2})
        for (ActFill fill : {ActFill::kMax, ActFill::kMin, ActFill::kZero})
            for (const Shape& base : {Shape{5, 1000, 3, 1}, Shape{4, 257, 2, 1}, Shape{17, 4096, 2, 1}, Shape{3, 5, 5, 1}}) {
                Shape s = base;
                s.stages = stages, s.acts = fill;
                SCOPED_TRACE(describe(s));
                const Case c = make_case(s, seed++);
                expect_same_bits(run_int8(ref::widely_linear_int8, c), run_int8(k.int8, c), Layout(s.rows));
                expect_same_bits(run_float(ref::widely_linear_float, c), run_float(k.flt, c), Layout(s.rows));
                if (HasFatalFailure()) return;
            }
}

// A tile range computes exactly those rows.
TEST_P(WidelyLinearIsaTest, TileRangesWriteOnlyTheirRows) {
    const IsaKernels k = kernels_for(GetParam());
    const Case c = make_case({17, 300, 3, 2}, 77);
    const Layout layout(17);
    std::vector<float> want = run_int8(ref::widely_linear_int8, c);
    std::vector<float> got(want.size(), kPoison);
    for (size_t tile = 0; tile < c.packed.n_tiles(); ++tile)
        k.int8({.weights = &c.packed, .acts = &c.acts, .out = got.data(), .out_stride = layout.stride, .im_offset = layout.im_offset,
                .tile_begin = tile, .tile_end = tile + 1});
    expect_same_bits(want, got, layout);
}

TEST_P(WidelyLinearIsaTest, DispatchTableHoldsTheIsasKernels) {
    const KernelTable& table = kernel_table(GetParam());
    const IsaKernels k = kernels_for(GetParam());
    EXPECT_EQ(table.widely_linear_int8_gemv, k.int8);
    EXPECT_EQ(table.widely_linear_int8_gemm, k.int8);
    EXPECT_EQ(table.widely_linear_float_gemv, k.flt);
    EXPECT_EQ(table.widely_linear_float_gemm, k.flt);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, WidelyLinearIsaTest,
                         ::testing::Values(Isa::kScalar
#if defined(__x86_64__)
                                           ,
                                           Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni
#elif defined(__aarch64__)
                                           ,
                                           Isa::kNeon, Isa::kNeonDot, Isa::kNeonI8mm
#endif
                                           ),
                         [](const ::testing::TestParamInfo<Isa>& info) { return std::string(isa_name(info.param)); });

}  // namespace
}  // namespace tern::kernels
