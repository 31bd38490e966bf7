#include "tern/system.h"

#include "core/cpu_info.h"
#include "core/memory_bandwidth.h"
#include "core/str_cat.h"
#include "distributed/mpi_job.h"
#include "engine/amx_prefill.h"
#include "kernels/dispatch.h"
#include "kernels/isa.h"
#include "tern/version.h"

namespace tern {
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

std::vector<std::string> names_of(const std::vector<const kernels::KernelTable*>& tables) {
    std::vector<std::string> names;
    for (const kernels::KernelTable* t : tables) names.emplace_back(t->name);
    return names;
}

}  // namespace

SystemInfo system_info() {
    const CpuInfo cpu = detect_cpu_info();
    SystemInfo info{.version = kVersion, .cpu = cpu.model_name, .architecture = cpu.architecture,
                    .features = describe_features(cpu.features), .logical_cpus = cpu.logical_cpus,
                    .usable_cpus = cpu.usable_cpus, .kernels = {}, .best_kernels = {}, .amx_prefill = {},
                    .physical_cores = cpu.physical_cores, .caches = describe_caches(cpu.caches),
                    .isa_override = kernels::requested_isa(""), .isa_error = {}, .autotuned_kernels = {},
                    .autotuned_complex_kernels = {}, .mpi = distributed::mpi_built_in(),
                    .mpi_version = distributed::mpi_description()};
    for (const kernels::Isa isa : kernels::isas_supported_here()) info.kernels.emplace_back(kernels::isa_name(isa));
    const Result<kernels::Isa> chosen = kernels::choose_isa(info.isa_override);
    if (!chosen.ok()) {
        info.isa_error = chosen.error().message();
        info.amx_prefill = "off: TERN_ISA cannot be used";
        return info;
    }
    info.best_kernels = std::string(kernels::isa_name(chosen.value()));
    if (!info.isa_override.empty()) {
        info.amx_prefill = "off: the ISA is forced, its own kernels run";
        return info;
    }
    const kernels::KernelTable& table = kernels::kernel_table(chosen.value());
    info.autotuned_kernels = names_of(kernels::tables_sharing_layout(table, cpu.features));
    info.autotuned_complex_kernels = names_of(kernels::tables_running_here(table, cpu.features));
    info.amx_prefill = engine::describe_amx_prefill(cpu.features);
    return info;
}

Result<MemoryBandwidth> measure_memory_bandwidth(int threads, double seconds) {
    if (threads < 1) return Error(str_cat("measure_memory_bandwidth: threads ", threads, " is below 1"));
    if (!(seconds > 0)) return Error(str_cat("measure_memory_bandwidth: seconds ", seconds, " is not positive"));
    const BandwidthResult r = measure_read_bandwidth({.buffer_bytes = 0, .threads = threads, .seconds = seconds});
    return MemoryBandwidth{.gb_per_s = r.gb_per_s, .min_gb_per_s = r.min_gb_per_s, .max_gb_per_s = r.max_gb_per_s,
                           .method = std::string(r.method), .buffer_bytes = r.buffer_bytes, .threads = r.threads};
}

}  // namespace tern
