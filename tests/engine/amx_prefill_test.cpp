// AMX for prompts: the load-time sample check (passes equal kernels, names a difference), the
// AMX GEMM over emulated tiles passing it, the driver sending only wide calls to the wide GEMM,
// and the AMX GEMM enabled only where the tiles may run.
#include "engine/amx_prefill.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/cpu_info.h"
#include "core/thread_pool.h"
#include "kernels/amx_permission.h"
#include "kernels/matmul_driver.h"

namespace tern::engine {
namespace {

void off_by_one_ulp(const kernels::TernaryMatmulArgs& a) {
    kernels::ref::ternary_gemm(a);
    if (a.tile_begin == 0 && a.acts->n_tokens > 3) a.out[3 * a.out_stride + 2] = std::nextafter(a.out[3 * a.out_stride + 2], 1e9f);
}

TEST(AmxPrefill, TheSampleCheckPassesEqualKernelsAndNamesADifference) {
    const kernels::KernelTable& best = kernels::kernel_table(kernels::best_isa_here());
    EXPECT_TRUE(check_gemm_agrees(best.ternary_gemm, kernels::ref::ternary_gemm).ok());
    const Status differs = check_gemm_agrees(off_by_one_ulp, kernels::ref::ternary_gemm);
    ASSERT_FALSE(differs.ok());
    EXPECT_EQ(differs.error().message().rfind("token 3 row 2 of a 37 x 1000 sample: ", 0), 0u) << differs.error().message();
}

TEST(AmxPrefill, TheAmxGemmOverEmulatedTilesPassesTheSampleCheck) {
    EXPECT_TRUE(check_gemm_agrees(kernels::amx_emulated::ternary_gemm, kernels::ref::ternary_gemm).ok());
}

TEST(AmxPrefill, EnabledOnlyWhereTheTilesRun) {
    kernels::KernelTable table = kernels::kernel_table(kernels::best_isa_here());
    const std::string warning = enable_amx_prefill(table);
    EXPECT_EQ(warning, "");
    if (!kernels::amx_tiles_usable(detect_cpu_info().features)) {
        EXPECT_EQ(table.ternary_gemm_wide, nullptr);
        GTEST_SKIP() << "NOT TESTED on this machine: no AMX-INT8, so prompts keep " << table.name << "'s GEMM";
    }
    EXPECT_EQ(table.ternary_gemm_wide == kernels::amx_ternary_gemm(), table.ternary_layout == quant::TernaryLayout::kCodes);
}

void write_sevens(const kernels::TernaryMatmulArgs& a) {
    for (size_t t = 0; t < a.acts->n_tokens; ++t)
        for (size_t r = a.tile_begin * quant::kRowTile; r < a.tile_end * quant::kRowTile && r < a.weights->rows; ++r)
            a.out[t * a.out_stride + r] = 7.0f;
}

TEST(AmxPrefill, OnlyCallsOfManyTokensGoToTheWideGemm) {
    kernels::KernelTable table = kernels::kernel_table(kernels::Isa::kScalar);
    table.ternary_gemm_wide = write_sevens;
    auto w = quant::pack_ternary(9, 300, [](size_t, std::span<int8_t> v) -> Result<float> {
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int8_t>(i % 3) - 1;
        return 1.0f;
    });
    ASSERT_TRUE(w.ok());
    ThreadPool pool(2);
    for (const size_t tokens : {size_t{1}, kernels::kWideGemmTokens - 1, kernels::kWideGemmTokens, size_t{50}}) {
        std::vector<float> x(tokens * 300, 0.25f), out(tokens * 9, 0.0f);
        quant::Int8Activations acts;
        quant::quantize_activations(x.data(), tokens, 300, 300, acts);
        kernels::ternary_matmul(table, pool, w.value(), acts, out.data(), 9);
        const bool wide = tokens >= kernels::kWideGemmTokens;
        for (const float v : out) ASSERT_EQ(v == 7.0f, wide) << tokens << " tokens";
    }
}

}  // namespace
}  // namespace tern::engine
