// tern::benchmark_kernels: the options checked and turned into the engine's, the report as JSON.
#include "tern/system.h"

#include "core/str_cat.h"
#include "engine/benchmark_json.h"
#include "engine/kernel_benchmark.h"
#include "kernels/isa.h"

namespace tern {
namespace {

Result<engine::KernelBenchOptions> engine_options(const KernelBenchmarkOptions& options) {
    engine::KernelBenchOptions bench;
    // The scalar reference is the specification, not a contender: timed only when asked for.
    if (options.isas.empty()) {
        for (const kernels::Isa isa : kernels::isas_supported_here())
            if (isa != kernels::Isa::kScalar) bench.isas.push_back(isa);
        if (bench.isas.empty()) bench.isas.push_back(kernels::Isa::kScalar);
    }
    for (const std::string& name : options.isas) {
        Result<kernels::Isa> isa = kernels::choose_isa(name);
        if (!isa.ok()) return Error(str_cat("--isa ", isa.error().message()));
        bench.isas.push_back(isa.value());
    }
    if (options.threads.empty()) return Error("benchmark_kernels: no thread counts");
    for (const int t : options.threads)
        if (t < 1) return Error(str_cat("benchmark_kernels: thread count ", t, " is below 1"));
    if (!(options.seconds_per_point > 0))
        return Error(str_cat("benchmark_kernels: seconds per point ", options.seconds_per_point, " is not positive"));
    bench.threads = options.threads;
    bench.gemm_tokens = options.gemm_tokens;
    bench.float_head = options.head;
    bench.complex = options.complex;
    bench.seconds_per_point = options.seconds_per_point;
    bench.streamed_bytes = options.stream_mb << 20;
    return bench;
}

}  // namespace

Result<std::string> benchmark_kernels(const KernelBenchmarkOptions& options) {
    TERN_ASSIGN_OR_RETURN(const engine::KernelBenchOptions bench, engine_options(options));
    engine::BenchProgress progress;
    if (options.on_point)
        progress = [&options](const engine::KernelBenchPoint& p) {
            options.on_point(str_cat(p.op, " ", p.kernels, " ", p.shape.name, " t=", p.threads));
        };
    return engine::kernel_report_json(engine::run_kernel_benchmark(bench, progress)).dump(2);
}

}  // namespace tern
