#include "engine/amx_prefill.h"

#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/cpu_info.h"
#include "core/str_cat.h"
#include "kernels/amx_permission.h"
#include "quant/int8_activations.h"
#include "quant/packed_ternary.h"

namespace tern::engine {
namespace {

constexpr size_t kSampleRows = 37, kSampleCols = 1000, kSampleTokens = 45;

std::vector<float> run_sample(kernels::TernaryMatmulFn gemm, const quant::PackedTernary& w,
                              const quant::Int8Activations& acts) {
    std::vector<float> out(acts.n_tokens * w.rows, std::numeric_limits<float>::quiet_NaN());
    gemm({.weights = &w, .acts = &acts, .out = out.data(), .out_stride = w.rows, .tile_begin = 0, .tile_end = w.n_tiles()});
    return out;
}

}  // namespace

Status check_gemm_agrees(kernels::TernaryMatmulFn candidate, kernels::TernaryMatmulFn reference) {
    std::mt19937 rng(20261206);
    Result<quant::PackedTernary> w = quant::pack_ternary(kSampleRows, kSampleCols, [&](size_t, std::span<int8_t> values) -> Result<float> {
        for (int8_t& v : values) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
        return 0.5f + static_cast<float>(rng() % 1000) / 1000.0f;
    });
    if (!w.ok()) return w.error();
    std::vector<float> x(kSampleTokens * kSampleCols);
    std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
    for (float& v : x) v = uniform(rng);
    quant::Int8Activations acts;
    quant::quantize_activations(x.data(), kSampleTokens, kSampleCols, kSampleCols, acts);
    const std::vector<float> want = run_sample(reference, w.value(), acts);
    const std::vector<float> got = run_sample(candidate, w.value(), acts);
    for (size_t i = 0; i < want.size(); ++i)
        if (std::memcmp(&want[i], &got[i], sizeof(float)) != 0)
            return Error(str_cat("token ", i / kSampleRows, " row ", i % kSampleRows, " of a ", kSampleRows, " x ", kSampleCols,
                                 " sample: ", got[i], " where ", want[i], " was expected"));
    return {};
}

std::string enable_amx_prefill(kernels::KernelTable& table) {
    const kernels::TernaryMatmulFn amx = kernels::amx_ternary_gemm();
    if (amx == nullptr || table.ternary_layout != quant::TernaryLayout::kCodes) return "";
    if (!kernels::amx_tiles_usable(detect_cpu_info().features)) return "";
    if (Status agrees = check_gemm_agrees(amx, table.ternary_gemm); !agrees.ok())
        return str_cat("the AMX GEMM differs from the ", table.name, " one (", agrees.error().message(), "); prompts use ",
                       table.name);
    table.ternary_gemm_wide = amx;
    return "";
}

std::string describe_amx_prefill(const CpuFeatures& cpu) {
    if (kernels::amx_ternary_gemm() == nullptr) return "not built in (an x86-64 build with AMX compiler support has it)";
    if (!cpu.amx_tile || !cpu.amx_int8) return "no AMX-INT8 in this CPU (the tile kernel runs here only emulated, in tests)";
    if (!kernels::amx_tiles_usable(cpu)) return "the CPU has AMX-INT8 but the kernel refused this process the tile state";
    return str_cat("ternary GEMM calls of ", kernels::kWideGemmTokens,
                   "+ tokens, once checked bit for bit against the autotuned GEMM at load");
}

}  // namespace tern::engine
