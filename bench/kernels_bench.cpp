// Google Benchmark targets for the matmul kernels on the BitNet b1.58 2B4T shapes, single
// threaded, for developers comparing kernel changes (bytes/s is packed weight bytes).
// Users run `tern bench --kernels`, which also measures memory bandwidth and thread scaling.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/kernel_benchmark.h"
#include "kernels/dispatch.h"

namespace {

using namespace tern;

quant::PackedTernary random_matrix(size_t rows, size_t cols, quant::TernaryLayout layout) {
    std::mt19937 rng(1);
    auto packed = quant::pack_ternary(rows, cols, [&](size_t, std::span<int8_t> values) -> Result<float> {
        for (int8_t& v : values) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
        return 1.0f;
    });
    quant::convert_layout(packed.value(), layout);
    return std::move(packed.value());
}

void ternary_matmul_bench(benchmark::State& state, kernels::Isa isa, engine::MatrixShape shape, size_t tokens) {
    if (!kernels::isa_runs_on(isa, detect_cpu_info().features)) {
        state.SkipWithError("this CPU cannot run this ISA");
        return;
    }
    const kernels::KernelTable& table = kernels::kernel_table(isa);
    const quant::PackedTernary w = random_matrix(shape.rows, shape.cols, table.ternary_layout);
    std::vector<float> x(tokens * shape.cols, 0.25f), out(tokens * shape.rows);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
    quant::Int8Activations acts;
    quant::quantize_activations(x.data(), tokens, shape.cols, shape.cols, acts);
    const kernels::TernaryMatmulFn fn = tokens == 1 ? table.ternary_gemv : table.ternary_gemm;
    for (auto _ : state) {
        fn({.weights = &w, .acts = &acts, .out = out.data(), .out_stride = shape.rows, .tile_begin = 0,
            .tile_end = w.n_tiles()});
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.weight_bytes()));
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * tokens), benchmark::Counter::kIsRate);
}

void register_all() {
    for (size_t i = 1; i < static_cast<size_t>(kernels::Isa::kCount); ++i) {
        const auto isa = static_cast<kernels::Isa>(i);
        for (const engine::MatrixShape& shape : engine::bitnet_2b4t_ternary_shapes()) {
            for (size_t tokens : {1, 128}) {
                const std::string name = std::string(tokens == 1 ? "gemv/" : "gemm128/") + std::string(kernels::isa_name(isa)) +
                                         "/" + shape.name;
                benchmark::RegisterBenchmark(name.c_str(), ternary_matmul_bench, isa, shape, tokens)->Unit(benchmark::kMicrosecond);
            }
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    return 0;
}
