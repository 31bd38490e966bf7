#include "kernels/isa.h"

#include <cstdlib>

#include "core/str_cat.h"

namespace tern::kernels {
namespace {

constexpr std::string_view kNames[] = {"scalar", "avx2", "avx512", "avx512vnni", "neon", "neondot", "neoni8mm"};
static_assert(std::size(kNames) == static_cast<size_t>(Isa::kCount));

// What each ISA needs, spelled as in /proc/cpuinfo for error messages.
std::string missing_features(Isa isa, const CpuFeatures& f) {
    std::string missing;
    auto need = [&](bool has, std::string_view name) {
        if (!has) missing += str_cat(missing.empty() ? "" : " ", name);
    };
    switch (isa) {
        case Isa::kScalar:
        case Isa::kCount:
            break;
        case Isa::kAvx2:
            need(f.avx2, "avx2");
            need(f.fma, "fma");
            need(f.f16c, "f16c");
            break;
        case Isa::kAvx512Vnni:
            need(f.avx512vnni, "avx512_vnni");
            [[fallthrough]];
        case Isa::kAvx512:
            need(f.avx512f, "avx512f");
            need(f.avx512bw, "avx512bw");
            need(f.avx512vl, "avx512vl");
            break;
        case Isa::kNeonI8mm:
            need(f.neon_i8mm, "i8mm");
            [[fallthrough]];
        case Isa::kNeonDot:
            need(f.neon_dotprod, "asimddp");
            [[fallthrough]];
        case Isa::kNeon:
            need(f.neon, "asimd");
            break;
    }
    return missing;
}

constexpr bool compiled_in(Isa isa) {
#if defined(__x86_64__)
    return isa == Isa::kScalar || isa == Isa::kAvx2 || isa == Isa::kAvx512 || isa == Isa::kAvx512Vnni;
#elif defined(__aarch64__)
    return isa == Isa::kScalar || isa == Isa::kNeon || isa == Isa::kNeonDot || isa == Isa::kNeonI8mm;
#else
    return isa == Isa::kScalar;
#endif
}

}  // namespace

std::string_view isa_name(Isa isa) {
    const auto i = static_cast<size_t>(isa);
    return i < std::size(kNames) ? kNames[i] : "invalid";
}

Result<Isa> isa_from_name(std::string_view name) {
    for (size_t i = 0; i < std::size(kNames); ++i) {
        if (kNames[i] == name) return static_cast<Isa>(i);
    }
    return Error(str_cat("unknown ISA ", quote(name), " (expected scalar, avx2, avx512, avx512vnni, neon, neondot or neoni8mm)"));
}

bool isa_runs_on(Isa isa, const CpuFeatures& features) {
    return compiled_in(isa) && missing_features(isa, features).empty();
}

std::vector<Isa> isas_supported_here() {
    const CpuFeatures features = detect_cpu_info().features;
    std::vector<Isa> isas;
    for (size_t i = 0; i < static_cast<size_t>(Isa::kCount); ++i) {
        if (isa_runs_on(static_cast<Isa>(i), features)) isas.push_back(static_cast<Isa>(i));
    }
    return isas;
}

Isa best_isa_here() { return isas_supported_here().back(); }

Result<Isa> choose_isa(std::string_view requested) {
    if (requested.empty()) return best_isa_here();
    TERN_ASSIGN_OR_RETURN(const Isa isa, isa_from_name(requested));
    if (!compiled_in(isa)) return Error(str_cat(requested, ": this build has no ", requested, " kernels"));
    const CpuFeatures features = detect_cpu_info().features;
    if (const std::string missing = missing_features(isa, features); !missing.empty()) {
        return Error(str_cat(requested, ": this CPU lacks ", missing, " (it has: ", describe_features(features), ")"));
    }
    return isa;
}

std::string requested_isa(std::string_view flag) {
    if (!flag.empty()) return std::string(flag);
    const char* env = std::getenv("TERN_ISA");
    return env != nullptr ? std::string(env) : std::string();
}

}  // namespace tern::kernels
