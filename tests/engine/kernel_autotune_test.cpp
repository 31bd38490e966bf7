// Autotuning picks among interchangeable kernel tables by timing them on the model: it must
// keep the other kernels of the first table, pick a clearly faster candidate over a clearly
// slower one, and leave a single candidate untimed.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/cpu_info.h"
#include "engine/kernel_autotune.h"
#include "format/gguf_reader.h"
#include "model/gguf_model_loader.h"
#include "model/synthetic_model.h"

namespace tern::engine {
namespace {

using kernels::Isa;
using kernels::KernelTable;

const std::string kGguf = (std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories" / "tinystories-bitnet.gguf").string();

model::Model load_shipped_model(quant::TernaryLayout layout) {
    auto m = model::load_gguf_model(kGguf, {.layout = layout, .head = model::HeadConversion::kKeep, .threads = 1, .progress = {}});
    EXPECT_TRUE(m.ok()) << m.error().message();
    return std::move(m).value();
}

bool runs_here(Isa isa) { return kernels::isa_runs_on(isa, detect_cpu_info().features); }

TEST(KernelAutotune, TablesSharingLayoutStartWithTheTableAndReadItsLayout) {
    for (Isa isa : kernels::isas_supported_here()) {
        for (kernels::Packing packing : {kernels::Packing::k2Bit, kernels::Packing::kBase3}) {
            const KernelTable* table = kernels::kernel_table(isa, packing);
            if (table == nullptr) continue;
            SCOPED_TRACE(table->name);
            const auto tables = kernels::tables_sharing_layout(*table, detect_cpu_info().features);
            ASSERT_FALSE(tables.empty());
            EXPECT_EQ(tables[0], table);
            for (const KernelTable* other : tables) {
                EXPECT_EQ(other->ternary_layout, table->ternary_layout) << other->name;
                EXPECT_TRUE(runs_here(other->isa)) << other->name;
                if (isa != Isa::kScalar) {
                    EXPECT_NE(other->isa, Isa::kScalar) << other->name;
                }
            }
        }
    }
    if (!runs_here(Isa::kAvx512Vnni)) GTEST_SKIP() << "NOT TESTED: the avx512vnni candidates (CPU lacks it)";
    const auto vnni = kernels::tables_sharing_layout(kernels::kernel_table(Isa::kAvx512Vnni), detect_cpu_info().features);
    ASSERT_EQ(vnni.size(), 2u);   // the VNNI kernels and the AVX2 ones read the same 2-bit codes
    EXPECT_EQ(vnni[1]->isa, Isa::kAvx2);
    const auto vnni_base3 = kernels::tables_sharing_layout(*kernels::kernel_table(Isa::kAvx512Vnni, kernels::Packing::kBase3),
                                                           detect_cpu_info().features);
    ASSERT_EQ(vnni_base3.size(), 2u);   // and both have base-3 kernels
    EXPECT_EQ(std::string(vnni_base3[1]->name), "avx2+base3");
}

TEST(KernelAutotune, PicksTheClearlyFasterCandidateAndKeepsTheOtherKernels) {
    if (!runs_here(Isa::kAvx2)) GTEST_SKIP() << "NOT TESTED: needs AVX2 to race against the scalar reference";
    const KernelTable& scalar = kernels::kernel_table(Isa::kScalar);
    const KernelTable& avx2 = kernels::kernel_table(Isa::kAvx2);
    ASSERT_EQ(scalar.ternary_layout, avx2.ternary_layout);
    const model::Model m = load_shipped_model(scalar.ternary_layout);
    ThreadPool pool(2);
    const KernelTable* candidates[] = {&scalar, &avx2};   // the reference is many times slower
    const TunedKernels tuned = autotune_ternary_kernels(candidates, m, pool);
    EXPECT_EQ(tuned.table.ternary_gemv, avx2.ternary_gemv);
    EXPECT_EQ(tuned.table.ternary_gemm, avx2.ternary_gemm);
    EXPECT_EQ(tuned.table.float_matmul, scalar.float_matmul);
    EXPECT_EQ(tuned.table.attend, scalar.attend);
    EXPECT_STREQ(tuned.table.name, "scalar");
    EXPECT_STREQ(tuned.report.gemv_choice, "avx2");
    EXPECT_STREQ(tuned.report.gemm_choice, "avx2");
    ASSERT_EQ(tuned.report.gemv.size(), 2u);
    ASSERT_EQ(tuned.report.gemm.size(), 2u);
    EXPECT_STREQ(tuned.report.gemv[0].kernels, "scalar");
    EXPECT_GT(tuned.report.gemv[0].seconds, tuned.report.gemv[1].seconds);
    EXPECT_GT(tuned.report.seconds, 0.0);
    EXPECT_EQ(tuned.report.threads, 2);
    const std::string summary = tuned.report.summary();
    std::printf("%s\n", summary.c_str());
    EXPECT_EQ(summary.rfind("gemv avx2 (scalar ", 0), 0u) << summary;
    EXPECT_NE(summary.find(", gemm avx2 (scalar "), std::string::npos) << summary;
    EXPECT_NE(summary.find("; timed with 2 threads"), std::string::npos) << summary;
}

TEST(KernelAutotune, OneCandidateIsReturnedUntimed) {
    const KernelTable& scalar = kernels::kernel_table(Isa::kScalar);
    const model::Model m = load_shipped_model(scalar.ternary_layout);
    ThreadPool pool(1);
    const KernelTable* candidates[] = {&scalar};
    const TunedKernels tuned = autotune_ternary_kernels(candidates, m, pool);
    EXPECT_EQ(tuned.table.ternary_gemv, scalar.ternary_gemv);
    EXPECT_EQ(tuned.table.ternary_gemm, scalar.ternary_gemm);
    EXPECT_TRUE(tuned.report.gemv.empty());
    EXPECT_EQ(tuned.report.summary(), "");
}

// Complex models time the complex kernels of every table this CPU runs (they read one layout
// everywhere): the scalar reference against AVX2 loses, and the ternary kernels stay the first table's.
TEST(KernelAutotune, ComplexModelsRaceTheComplexKernels) {
    if (!runs_here(Isa::kAvx2)) GTEST_SKIP() << "NOT TESTED: needs AVX2 to race against the scalar reference";
    auto writer = model::synthetic_gguf(*model::find_synthetic_shape("ifairy-tiny"), {.seed = 3});
    ASSERT_TRUE(writer.ok());
    auto bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    auto gguf = format::parse_gguf(*bytes, "ifairy-tiny.gguf");
    ASSERT_TRUE(gguf.ok());
    auto m = model::load_gguf_model(gguf.value(), bytes, "ifairy-tiny.gguf", {.threads = 1, .progress = {}});
    ASSERT_TRUE(m.ok()) << m.error().message();
    const KernelTable& scalar = kernels::kernel_table(Isa::kScalar);
    const KernelTable& avx2 = kernels::kernel_table(Isa::kAvx2);
    ThreadPool pool(1);
    const KernelTable* candidates[] = {&scalar, &avx2};
    const TunedKernels tuned = autotune_ternary_kernels(candidates, m.value(), pool);
    EXPECT_EQ(tuned.table.complex_gemv, avx2.complex_gemv);
    EXPECT_EQ(tuned.table.complex_gemm, avx2.complex_gemm);
    EXPECT_EQ(tuned.table.attend, scalar.attend);
    ASSERT_EQ(tuned.report.gemv.size(), 2u);
    EXPECT_GT(tuned.report.gemv[0].seconds, tuned.report.gemv[1].seconds);
    const auto running = kernels::tables_running_here(kernels::kernel_table(kernels::best_isa_here()), detect_cpu_info().features);
    EXPECT_EQ(running[0], &kernels::kernel_table(kernels::best_isa_here()));
    EXPECT_EQ(running.size(), kernels::isas_supported_here().size() - 1);   // all but the scalar reference
}

// Widely-linear (Fairy2i) models time the widely-linear kernels of their activation path, on
// every table this CPU runs: the scalar reference against AVX2 loses on both paths.
TEST(KernelAutotune, WidelyLinearModelsRaceTheirActivationPathsKernels) {
    if (!runs_here(Isa::kAvx2)) GTEST_SKIP() << "NOT TESTED: needs AVX2 to race against the scalar reference";
    auto writer = model::synthetic_gguf(*model::find_synthetic_shape("fairy2i-tiny"), {.seed = 4});
    ASSERT_TRUE(writer.ok());
    auto bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    auto gguf = format::parse_gguf(*bytes, "fairy2i-tiny.gguf");
    ASSERT_TRUE(gguf.ok());
    const KernelTable& scalar = kernels::kernel_table(Isa::kScalar);
    const KernelTable& avx2 = kernels::kernel_table(Isa::kAvx2);
    const KernelTable* candidates[] = {&scalar, &avx2};
    for (const auto path : {model::WidelyLinearActivations::kInt8, model::WidelyLinearActivations::kFloat}) {
        const bool float_path = path == model::WidelyLinearActivations::kFloat;
        SCOPED_TRACE(float_path ? "float activations" : "int8 activations");
        auto m = model::load_gguf_model(gguf.value(), bytes, "fairy2i-tiny.gguf",
                                        {.threads = 1, .progress = {}, .widely_linear_activations = path});
        ASSERT_TRUE(m.ok()) << m.error().message();
        ASSERT_TRUE(m.value().widely_linear());
        ThreadPool pool(1);
        const TunedKernels tuned = autotune_ternary_kernels(candidates, m.value(), pool);
        ASSERT_EQ(tuned.report.gemv.size(), 2u);
        ASSERT_EQ(tuned.report.gemm.size(), 2u);
        EXPECT_GT(tuned.report.gemv[0].seconds, tuned.report.gemv[1].seconds);
        EXPECT_GT(tuned.report.gemm[0].seconds, tuned.report.gemm[1].seconds);
        if (float_path) {
            EXPECT_EQ(tuned.table.widely_linear_float_gemv, avx2.widely_linear_float_gemv);
            EXPECT_EQ(tuned.table.widely_linear_float_gemm, avx2.widely_linear_float_gemm);
        } else {
            EXPECT_EQ(tuned.table.widely_linear_int8_gemv, avx2.widely_linear_int8_gemv);
            EXPECT_EQ(tuned.table.widely_linear_int8_gemm, avx2.widely_linear_int8_gemm);
        }
        EXPECT_EQ(tuned.table.attend, scalar.attend);
        EXPECT_EQ(tuned.table.float_matmul, scalar.float_matmul);
    }
}

}  // namespace
}  // namespace tern::engine
