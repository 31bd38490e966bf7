// `tern info`: what this machine offers an inference engine: CPU, SIMD features detected at
// run time, cores, caches, the kernels that run here and the measured memory read bandwidth
// that bounds decode speed, through the public library (tern::system_info).
#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "core/str_cat.h"
#include "tern/system.h"

namespace tern::cli {
namespace {

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) out += " " + name;
    return out;
}

std::string bandwidth_text(const MemoryBandwidth& r) {
    char text[160];
    std::snprintf(text, sizeof text, "%.1f GB/s with %d %s (%s; passes %.1f-%.1f)", r.gb_per_s, r.threads,
                  r.threads == 1 ? "thread" : "threads", r.method.c_str(), r.min_gb_per_s, r.max_gb_per_s);
    return text;
}

void print_bandwidth(const SystemInfo& info, double seconds) {
    const int all_threads = std::max(1, info.usable_cpus);
    const MemoryBandwidth one = measure_memory_bandwidth(1, seconds).value();
    std::printf("%-22s %s\n", "memory read bandwidth:", bandwidth_text(one).c_str());
    if (all_threads > 1)
        std::printf("%-22s %s\n", "", bandwidth_text(measure_memory_bandwidth(all_threads, seconds).value()).c_str());
    std::printf("%-22s median pass of the fastest of 4 read loops over a %s buffer (>= 4x the largest cache)\n", "",
                human_bytes(one.buffer_bytes).c_str());
}

// Which tables a model load races for the ternary GEMV and GEMM, and for the complex and
// widely-linear kernels (engine/kernel_autotune.h).
void print_autotune_candidates(const SystemInfo& info) {
    if (!info.isa_override.empty()) {
        std::printf("%-22s off: the ISA is forced, its own kernels run\n", "autotune:");
        return;
    }
    const auto nothing_to_choose = [](const std::vector<std::string>& names) {
        return names.size() < 2 ? " (nothing to choose)" : "";
    };
    std::printf("%-22s ternary GEMV and GEMM timed at model load among:%s%s\n", "autotune:",
                joined(info.autotuned_kernels).c_str(), nothing_to_choose(info.autotuned_kernels));
    std::printf("%-22s complex (iFairy) and widely-linear (Fairy2i) kernels among:%s%s\n", "",
                joined(info.autotuned_complex_kernels).c_str(), nothing_to_choose(info.autotuned_complex_kernels));
}

void print_kernels(const SystemInfo& info) {
    const std::string available = joined(info.kernels);
    if (!info.isa_error.empty()) {
        std::printf("%-22s TERN_ISA: %s (runs here:%s)\n", "kernels:", info.isa_error.c_str(), available.c_str());
        return;
    }
    std::printf("%-22s %s%s (runs here:%s)\n", "kernels:", info.best_kernels.c_str(),
                info.isa_override.empty() ? "" : " (from TERN_ISA)", available.c_str());
    print_autotune_candidates(info);
    std::printf("%-22s %s\n", "amx prefill:", info.amx_prefill.c_str());
}

}  // namespace

int run_info(const InfoOptions& options) {
    if (!(options.bandwidth_seconds > 0))
        return report_failure(str_cat("--bandwidth-seconds ", options.bandwidth_seconds, " is not positive"));
    const SystemInfo info = system_info();
    std::printf("%-22s %s\n", "tern:", info.version.c_str());
    std::printf("%-22s %s\n", "cpu:", info.cpu.c_str());
    std::printf("%-22s %s\n", "architecture:", info.architecture.c_str());
    std::printf("%-22s %s\n", "simd (run-time):", info.features.c_str());
    std::printf("%-22s %d logical CPUs, %d usable by this process, %s physical cores\n", "cores:", info.logical_cpus,
                info.usable_cpus, info.physical_cores > 0 ? std::to_string(info.physical_cores).c_str() : "unknown");
    std::printf("%-22s %s\n", "caches:", info.caches.c_str());
    print_kernels(info);
    std::printf("%-22s %s\n", "mpi:",
                info.mpi ? (info.mpi_version + " (mpirun -n N tern run|chat|perplexity|serve --split rows|layers)").c_str()
                         : info.mpi_version.c_str());
    if (options.measure_bandwidth) print_bandwidth(info, options.bandwidth_seconds);
    return 0;
}

}  // namespace tern::cli
