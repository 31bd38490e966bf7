// `tern bench --json`'s reports (a model, the kernels), shared by the CLI and the library.
#pragma once

#include <nlohmann/json.hpp>

#include "core/memory_bandwidth.h"
#include "engine/kernel_benchmark.h"
#include "engine/model_benchmark.h"
#include "engine/model_loading.h"

namespace tern::engine {

nlohmann::json bandwidth_json(const BandwidthResult& bw);
// Which ternary GEMV and GEMM the load picked, with every candidate's time.
nlohmann::json autotune_json(const AutotuneReport& report);
// The model, its kernels, the machine, the bandwidth measured and every result.
nlohmann::json model_report_json(const LoadedModel& lm, const ModelBenchReport& report);
// `tern bench --kernels --json`: the machine, the bandwidth measured and every point.
nlohmann::json kernel_report_json(const KernelBenchReport& report);

}  // namespace tern::engine
