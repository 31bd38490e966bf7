// Throughput of the scalar reference dequantisers, in bytes of packed weights read per
// second. These are the correctness references, not the inference kernels; the numbers
// show how far the SIMD kernels of later issues have to go.
#include <benchmark/benchmark.h>

#include <vector>

#include "quant/dequantize.h"
#include "testing/test_files.h"

namespace {

void BM_Dequantize(benchmark::State& state, tern::format::GgmlType type) {
    const size_t n = 1 << 20;
    const auto data = tern::testing::sample_tensor_data(type, n, 1);
    std::vector<float> out(n);
    for (auto _ : state) {
        if (!tern::quant::dequantize(type, data, out).ok()) state.SkipWithError("dequantize failed");
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
    state.counters["weights/s"] = benchmark::Counter(static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate);
}

using tern::format::GgmlType;
BENCHMARK_CAPTURE(BM_Dequantize, TQ1_0, GgmlType::kTQ1_0);
BENCHMARK_CAPTURE(BM_Dequantize, TQ2_0, GgmlType::kTQ2_0);
BENCHMARK_CAPTURE(BM_Dequantize, I2_S, GgmlType::kI2_S);
BENCHMARK_CAPTURE(BM_Dequantize, Q8_0, GgmlType::kQ8_0);
BENCHMARK_CAPTURE(BM_Dequantize, Q4_K, GgmlType::kQ4_K);
BENCHMARK_CAPTURE(BM_Dequantize, Q6_K, GgmlType::kQ6_K);
BENCHMARK_CAPTURE(BM_Dequantize, F16, GgmlType::kF16);

}  // namespace

BENCHMARK_MAIN();
