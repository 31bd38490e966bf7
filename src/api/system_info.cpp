#include "tern/system.h"

#include "core/cpu_info.h"
#include "engine/amx_prefill.h"
#include "kernels/dispatch.h"
#include "kernels/isa.h"
#include "tern/version.h"

namespace tern {

SystemInfo system_info() {
    const CpuInfo cpu = detect_cpu_info();
    SystemInfo info{.version = kVersion, .cpu = cpu.model_name, .architecture = cpu.architecture,
                    .features = describe_features(cpu.features), .logical_cpus = cpu.logical_cpus,
                    .usable_cpus = cpu.usable_cpus, .kernels = {}, .best_kernels = {}, .amx_prefill = {}};
    for (const kernels::Isa isa : kernels::isas_supported_here()) info.kernels.emplace_back(kernels::isa_name(isa));
    const Result<kernels::Isa> chosen = kernels::choose_isa(kernels::requested_isa(""));
    info.best_kernels = chosen.ok() ? std::string(kernels::isa_name(chosen.value())) : chosen.error().message();
    info.amx_prefill = engine::describe_amx_prefill(cpu.features);
    return info;
}

}  // namespace tern
