// `tern info`: what this machine offers an inference engine: CPU, SIMD features detected at
// run time, cores, caches and the measured memory read bandwidth that bounds decode speed.
#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "core/cpu_info.h"
#include "core/memory_bandwidth.h"
#include "core/str_cat.h"
#include "distributed/mpi_job.h"
#include "engine/amx_prefill.h"
#include "kernels/dispatch.h"
#include "kernels/isa.h"
#include "tern/version.h"

namespace tern::cli {
namespace {

std::string describe_caches(const std::vector<CacheLevel>& caches) {
    std::string out;
    for (const CacheLevel& cache : caches) {
        if (!out.empty()) out += ", ";
        const char* suffix = cache.type == "Data" ? "d" : cache.type == "Instruction" ? "i" : "";
        out += str_cat("L", cache.level, suffix, " ", human_bytes(cache.size_bytes));
        if (cache.shared_by_cpus > 1) out += str_cat(" (shared by ", cache.shared_by_cpus, " CPUs)");
    }
    return out.empty() ? "unknown" : out;
}

std::string bandwidth_text(const BandwidthResult& r) {
    char text[160];
    std::snprintf(text, sizeof text, "%.1f GB/s with %d %s (%.*s; passes %.1f-%.1f)", r.gb_per_s, r.threads,
                  r.threads == 1 ? "thread" : "threads", static_cast<int>(r.method.size()), r.method.data(),
                  r.min_gb_per_s, r.max_gb_per_s);
    return text;
}

void print_bandwidth(const CpuInfo& cpu, double seconds) {
    const int all_threads = std::max(1, cpu.usable_cpus);
    const BandwidthResult one = measure_read_bandwidth({.threads = 1, .seconds = seconds});
    std::printf("%-22s %s\n", "memory read bandwidth:", bandwidth_text(one).c_str());
    if (all_threads > 1) {
        const BandwidthResult all = measure_read_bandwidth({.threads = all_threads, .seconds = seconds});
        std::printf("%-22s %s\n", "", bandwidth_text(all).c_str());
    }
    std::printf("%-22s median pass of the fastest of 4 read loops over a %s buffer (>= 4x the largest cache)\n", "",
                human_bytes(one.buffer_bytes).c_str());
}

// Which tables a model load races for the ternary GEMV and GEMM, and for the complex and
// widely-linear kernels (engine/kernel_autotune.h).
void print_autotune_candidates(const kernels::KernelTable& table, bool forced) {
    if (forced) {
        std::printf("%-22s off: the ISA is forced, its own kernels run\n", "autotune:");
        return;
    }
    std::string names;
    for (const kernels::KernelTable* t : kernels::tables_sharing_layout(table, detect_cpu_info().features))
        names += str_cat(" ", t->name);
    std::printf("%-22s ternary GEMV and GEMM timed at model load among:%s%s\n", "autotune:", names.c_str(),
                names.find(' ', 1) == std::string::npos ? " (nothing to choose)" : "");
    std::string any_layout;
    for (const kernels::KernelTable* t : kernels::tables_running_here(table, detect_cpu_info().features))
        any_layout += str_cat(" ", t->name);
    std::printf("%-22s complex (iFairy) and widely-linear (Fairy2i) kernels among:%s%s\n", "", any_layout.c_str(),
                any_layout.find(' ', 1) == std::string::npos ? " (nothing to choose)" : "");
}

void print_kernels() {
    std::string available;
    for (const kernels::Isa isa : kernels::isas_supported_here()) available += str_cat(" ", kernels::isa_name(isa));
    const std::string requested = kernels::requested_isa("");
    const auto chosen = kernels::choose_isa(requested);
    if (chosen.ok()) {
        std::printf("%-22s %s%s (runs here:%s)\n", "kernels:", std::string(kernels::isa_name(chosen.value())).c_str(),
                    requested.empty() ? "" : " (from TERN_ISA)", available.c_str());
        print_autotune_candidates(kernels::kernel_table(chosen.value()), !requested.empty());
        std::printf("%-22s %s\n", "amx prefill:",
                    requested.empty() ? engine::describe_amx_prefill(detect_cpu_info().features).c_str()
                                      : "off: the ISA is forced, its own kernels run");
    } else {
        std::printf("%-22s TERN_ISA: %s (runs here:%s)\n", "kernels:", chosen.error().message().c_str(), available.c_str());
    }
}

}  // namespace

int run_info(const InfoOptions& options) {
    const CpuInfo cpu = detect_cpu_info();
    std::printf("%-22s %s\n", "tern:", kVersion);
    std::printf("%-22s %s\n", "cpu:", cpu.model_name.c_str());
    std::printf("%-22s %s\n", "architecture:", cpu.architecture.c_str());
    std::printf("%-22s %s\n", "simd (run-time):", describe_features(cpu.features).c_str());
    std::printf("%-22s %d logical CPUs, %d usable by this process, %s physical cores\n", "cores:", cpu.logical_cpus,
                cpu.usable_cpus, cpu.physical_cores > 0 ? std::to_string(cpu.physical_cores).c_str() : "unknown");
    std::printf("%-22s %s\n", "caches:", describe_caches(cpu.caches).c_str());
    print_kernels();
    std::printf("%-22s %s\n", "mpi:",
                distributed::mpi_built_in()
                    ? (distributed::mpi_description() + " (mpirun -n N tern run|chat|perplexity|serve --split rows|layers)").c_str()
                    : distributed::mpi_description().c_str());
    if (options.measure_bandwidth) print_bandwidth(cpu, options.bandwidth_seconds);
    return 0;
}

}  // namespace tern::cli
