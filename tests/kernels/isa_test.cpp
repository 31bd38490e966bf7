#include "kernels/isa.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace tern::kernels {
namespace {

TEST(Isa, NamesRoundTrip) {
    for (size_t i = 0; i < static_cast<size_t>(Isa::kCount); ++i) {
        const auto isa = static_cast<Isa>(i);
        auto parsed = isa_from_name(isa_name(isa));
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(parsed.value(), isa);
    }
    auto bad = isa_from_name("avx1024");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message(), "unknown ISA 'avx1024' (expected scalar, avx2, avx512, avx512vnni, neon, neondot or neoni8mm)");
}

TEST(Isa, ScalarAlwaysRunsAndDefaultIsTheLast) {
    const auto isas = isas_supported_here();
    ASSERT_FALSE(isas.empty());
    EXPECT_EQ(isas.front(), Isa::kScalar);
    EXPECT_EQ(best_isa_here(), isas.back());
    EXPECT_EQ(choose_isa("").value(), isas.back());
    EXPECT_EQ(choose_isa("scalar").value(), Isa::kScalar);
}

TEST(Isa, ForcingAnIsaTheCpuLacksNamesTheMissingFeature) {
    CpuFeatures none;
    EXPECT_FALSE(isa_runs_on(Isa::kAvx2, none));
    EXPECT_TRUE(isa_runs_on(Isa::kScalar, none));
    CpuFeatures avx512_only;
    avx512_only.avx512f = avx512_only.avx512bw = avx512_only.avx512vl = true;
    EXPECT_EQ(isa_runs_on(Isa::kAvx512, avx512_only), isa_runs_on(Isa::kAvx512, avx512_only));
    EXPECT_FALSE(isa_runs_on(Isa::kAvx512Vnni, avx512_only));
    CpuFeatures neon_only;
    neon_only.neon = true;
    EXPECT_FALSE(isa_runs_on(Isa::kNeonDot, neon_only));
    CpuFeatures dot_only = neon_only;
    dot_only.neon_dotprod = true;
    EXPECT_FALSE(isa_runs_on(Isa::kNeonI8mm, dot_only));
#if defined(__aarch64__)
    EXPECT_TRUE(isa_runs_on(Isa::kNeonDot, dot_only));
    dot_only.neon_i8mm = true;
    EXPECT_TRUE(isa_runs_on(Isa::kNeonI8mm, dot_only));
#endif
#if defined(__aarch64__)
    EXPECT_TRUE(isa_runs_on(Isa::kNeon, neon_only));
    EXPECT_EQ(choose_isa("avx2").error().message(), "avx2: this build has no avx2 kernels");
#else
    EXPECT_FALSE(isa_runs_on(Isa::kNeon, neon_only));
    EXPECT_EQ(choose_isa("neon").error().message(), "neon: this build has no neon kernels");
#endif
    for (size_t i = 0; i < static_cast<size_t>(Isa::kCount); ++i) {
        const auto isa = static_cast<Isa>(i);
        const auto chosen = choose_isa(isa_name(isa));
        const bool runs = isa_runs_on(isa, detect_cpu_info().features);
        EXPECT_EQ(chosen.ok(), runs);
        if (!chosen.ok()) {
            const std::string& why = chosen.error().message();
            EXPECT_TRUE(why.find("this CPU lacks") != std::string::npos || why.find("this build has no") != std::string::npos)
                << why;
        }
    }
}

TEST(Isa, FlagWinsOverEnvironment) {
    ::setenv("TERN_ISA", "scalar", 1);
    EXPECT_EQ(requested_isa(""), "scalar");
    EXPECT_EQ(requested_isa("avx2"), "avx2");
    ::unsetenv("TERN_ISA");
    EXPECT_EQ(requested_isa(""), "");
}

}  // namespace
}  // namespace tern::kernels
