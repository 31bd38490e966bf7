// Google Benchmark targets for the matmul kernels on the BitNet b1.58 2B4T shapes, single
// threaded, for developers comparing kernel changes (bytes/s is packed weight bytes).
// Users run `tern bench --kernels`, which also measures memory bandwidth and thread scaling.
#include <benchmark/benchmark.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <random>
#include <vector>

#include "engine/kernel_benchmark.h"
#include "kernels/complex_matmul.h"
#include "kernels/dispatch.h"
#include "kernels/head_matmul.h"
#include "kernels/widely_linear_matmul.h"
#include "quant/paired_head_rows.h"
#include "quant/q6_k_head_rows.h"
#include "quant/block_formats.h"
#include "quant/packed_complex.h"
#include "quant/ternary_formats.h"
#include "quant/ternary_repack.h"

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

// iFairy's complex {±1, ±i} matmul (complex_matmul.h) at the iFairy-700M shapes: GEMV (one
// complex token: a re and an im activation row) and GEMM over 4 and 128 tokens. bytes/s counts
// the packed codes and sign_bias (0.25 byte per complex weight).
struct ComplexShape {
    const char* name;
    size_t rows, cols;
};
constexpr ComplexShape kIfairy700mShapes[] = {{"1536x1536", 1536, 1536}, {"4096x1536", 4096, 1536}};

void complex_matmul_bench(benchmark::State& state, kernels::Isa isa, ComplexShape shape, size_t tokens) {
    if (!kernels::isa_runs_on(isa, detect_cpu_info().features)) {
        state.SkipWithError("this CPU cannot run this ISA");
        return;
    }
    const kernels::KernelTable& table = kernels::kernel_table(isa);
    std::mt19937 rng(4);
    auto w = quant::pack_complex(shape.rows, shape.cols, 0.5f, 0.75f, [&](size_t, std::span<uint8_t> codes) -> Status {
        for (uint8_t& c : codes) c = static_cast<uint8_t>(rng() % 4);
        return {};
    });
    std::vector<float> x(2 * tokens * shape.cols), out(tokens * 2 * shape.rows);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
    quant::Int8Activations acts;
    quant::quantize_activations(x.data(), 2 * tokens, shape.cols, shape.cols, acts);
    const kernels::ComplexMatmulFn fn = tokens == 1 ? table.complex_gemv : table.complex_gemm;
    for (auto _ : state) {
        fn({.weights = &w.value(), .acts = &acts, .out = out.data(), .out_stride = 2 * shape.rows, .im_offset = shape.rows,
            .tile_begin = 0, .tile_end = w.value().n_tiles()});
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.value().weight_bytes()));
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * tokens), benchmark::Counter::kIsRate);
}

// Fairy2i's widely-linear projection (widely_linear_matmul.h), two stages (U1, W1, U2, W2) at
// 2048 x 2048 complex, on both activation paths; bytes/s counts the packed codes.
void widely_linear_bench(benchmark::State& state, kernels::Isa isa, bool int8, size_t tokens) {
    if (!kernels::isa_runs_on(isa, detect_cpu_info().features)) {
        state.SkipWithError("this CPU cannot run this ISA");
        return;
    }
    const kernels::KernelTable& table = kernels::kernel_table(isa);
    const size_t n = 2048, m = 2048;
    std::mt19937 rng(5);
    std::vector<std::vector<uint8_t>> codes(4, std::vector<uint8_t>(n * m));
    std::vector<std::span<const uint8_t>> spans;
    for (auto& c : codes) {
        for (uint8_t& code : c) code = static_cast<uint8_t>(rng() % 4);
        spans.emplace_back(c);
    }
    const float scale_re[4] = {0.5f, 0.25f, 0.125f, 0.0625f}, scale_im[4] = {0.75f, 0.375f, 0.1875f, 0.09375f};
    auto w = quant::pack_widely_linear(n, m, spans, scale_re, scale_im);
    std::vector<float> x(2 * tokens * m), out(tokens * 2 * n);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
    quant::Int8Activations acts;
    quant::quantize_activations(x.data(), 2 * tokens, m, m, acts);
    for (auto _ : state) {
        if (int8)
            (tokens == 1 ? table.widely_linear_int8_gemv : table.widely_linear_int8_gemm)({.weights = &w.value(), .acts = &acts, .out = out.data(), .out_stride = 2 * n, .im_offset = n,
                                      .tile_begin = 0, .tile_end = w.value().n_tiles()});
        else
            (tokens == 1 ? table.widely_linear_float_gemv : table.widely_linear_float_gemm)({.weights = &w.value(), .x = x.data(), .x_stride = 2 * m, .n_tokens = tokens, .out = out.data(),
                                       .out_stride = 2 * n, .im_offset = n, .tile_begin = 0, .tile_end = w.value().n_tiles()});
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.value().weight_bytes()));
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * tokens), benchmark::Counter::kIsRate);
}

// A block-quantised LM head (128256 x 2560, as `--head q8_0|q6_k|q4_0` converts it) for 1 token
// and for a batched decode step of 4 sequences: the head is the largest single matrix of a step.
enum class HeadType { kQ8_0, kQ6_K, kQ4_0 };

template <class Rows>
void head_bench_of(benchmark::State& state, size_t tokens, void (*quantize)(const float*, std::byte*, size_t),
                   Result<Rows> (*build)(size_t, size_t, const quant::BlockRowSource&, int),
                   void (*kernel)(const kernels::HeadMatmulArgs<Rows>&)) {
    const size_t rows = 128256, cols = 2560, blocks = cols / kernels::kQ8BlockElems;
    const size_t row_bytes = blocks * kernels::kQ8BlockBytes;
    std::vector<float> row(cols);
    std::vector<std::byte> x(tokens * row_bytes);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    auto source = [&](size_t, std::span<std::byte> blocks) -> Status {
        for (float& v : row) v = uniform(rng);
        quantize(row.data(), blocks.data(), cols);
        return {};
    };
    for (size_t t = 0; t < tokens; ++t) {
        for (float& v : row) v = uniform(rng);
        quant::quantize_row_q8_0(row.data(), &x[t * row_bytes], cols);
    }
    std::vector<float> out(tokens * rows);
    const Result<Rows> w = build(rows, cols, source, 1);
    for (auto _ : state) {
        kernel({.weights = &w.value(), .x = x.data(), .n_tokens = tokens, .out = out.data(), .out_stride = rows,
                .row_begin = 0, .row_end = rows});
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.value().bytes()));
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * tokens), benchmark::Counter::kIsRate);
}

void head_bench(benchmark::State& state, kernels::Isa isa, size_t tokens, HeadType type) {
    if (!kernels::isa_runs_on(isa, detect_cpu_info().features)) {
        state.SkipWithError("this CPU cannot run this ISA");
        return;
    }
    const kernels::KernelTable& table = kernels::kernel_table(isa);
    switch (type) {
        case HeadType::kQ8_0: return head_bench_of(state, tokens, quant::quantize_row_q8_0, quant::pair_q8_0_rows, table.q8_matmul);
        case HeadType::kQ6_K: return head_bench_of(state, tokens, quant::quantize_row_q6_k, quant::gather_q6_k_rows, table.q6_k_matmul);
        case HeadType::kQ4_0: return head_bench_of(state, tokens, quant::quantize_row_q4_0, quant::pair_q4_0_rows, table.q4_matmul);
    }
}

#if defined(__x86_64__)
// The ceiling for the VNNI GEMM: independent vpdpbusd on registers (64 int8 MACs each), no
// memory traffic. GEMM per-token speed-ups over GEMV cannot exceed this over GEMV's MAC rate.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void vpdpbusd_peak(benchmark::State& state) {
    if (!kernels::isa_runs_on(kernels::Isa::kAvx512Vnni, detect_cpu_info().features)) {
        state.SkipWithError("no AVX-512 VNNI");
        return;
    }
    constexpr int kChains = 12, kSteps = 4096;
    __m512i acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_epi32(i);
    const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
    for (auto _ : state) {
        for (int step = 0; step < kSteps; ++step) {
            for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
        }
        benchmark::DoNotOptimize(acc);
    }
    state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kSteps * kChains * 64 / 1e9,
                                                  benchmark::Counter::kIsRate);
}
#endif

// One-time load cost: repacking a file's ternary tensor (ffn_gate/up, 6912x2560) into tern's
// layout. items/s is weights per second; 2B4T has 2.08e9 ternary weights.
void repack_bench(benchmark::State& state, format::GgmlType type) {
    const size_t rows = 6912, cols = 2560;
    std::vector<float> w(rows * cols);
    std::mt19937 rng(2);
    for (float& v : w) v = static_cast<float>(static_cast<int>(rng() % 3) - 1) * 0.5f;
    std::vector<std::byte> data;
    if (type == format::GgmlType::kI2_S) {
        data.resize(quant::i2_s_tensor_bytes(w.size()));
        quant::quantize_i2_s(w, data);
    } else {
        const size_t row_bytes = cols / 256 * (type == format::GgmlType::kTQ2_0 ? quant::kTq2BlockBytes : quant::kTq1BlockBytes);
        data.resize(rows * row_bytes);
        for (size_t r = 0; r < rows; ++r) {
            if (type == format::GgmlType::kTQ2_0) quant::quantize_row_tq2_0(&w[r * cols], &data[r * row_bytes], cols);
            else quant::quantize_row_tq1_0(&w[r * cols], &data[r * row_bytes], cols);
        }
    }
    for (auto _ : state) {
        auto packed = quant::repack_ggml_ternary(type, data, rows, cols);
        benchmark::DoNotOptimize(packed.value().codes.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rows * cols));
}

void register_all() {
    benchmark::RegisterBenchmark("repack/TQ2_0", repack_bench, format::GgmlType::kTQ2_0)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("repack/TQ1_0", repack_bench, format::GgmlType::kTQ1_0)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("repack/I2_S", repack_bench, format::GgmlType::kI2_S)->Unit(benchmark::kMillisecond);
#if defined(__x86_64__)
    benchmark::RegisterBenchmark("vpdpbusd_peak", vpdpbusd_peak);
#endif
    for (size_t i = 0; i < static_cast<size_t>(kernels::Isa::kCount); ++i) {
        const auto isa = static_cast<kernels::Isa>(i);
        for (const ComplexShape& shape : kIfairy700mShapes) {
            // The scalar reference only as a GEMV baseline: its GEMM would take seconds.
            for (size_t tokens : {1, 4, 128}) {
                if (isa == kernels::Isa::kScalar && tokens > 1) continue;
                const std::string kind = tokens == 1 ? "complex_gemv/" : "complex_gemm" + std::to_string(tokens) + "/";
                const std::string name = kind + std::string(kernels::isa_name(isa)) + "/" + shape.name;
                benchmark::RegisterBenchmark(name.c_str(), complex_matmul_bench, isa, shape, tokens)->Unit(benchmark::kMicrosecond);
            }
        }
    }
    for (size_t i = 0; i < static_cast<size_t>(kernels::Isa::kCount); ++i) {
        const auto isa = static_cast<kernels::Isa>(i);
        for (bool int8 : {true, false})
            for (size_t tokens : {1, 4, 16}) {
                const std::string name = std::string("widely_linear_") + (int8 ? "int8" : "float") + std::to_string(tokens) + "/" +
                                         std::string(kernels::isa_name(isa)) + "/2stage_2048x2048";
                benchmark::RegisterBenchmark(name.c_str(), widely_linear_bench, isa, int8, tokens)->Unit(benchmark::kMicrosecond);
            }
    }
    for (size_t i = 1; i < static_cast<size_t>(kernels::Isa::kCount); ++i) {
        const auto isa = static_cast<kernels::Isa>(i);
        for (const engine::MatrixShape& shape : engine::bitnet_2b4t_ternary_shapes()) {
            for (size_t tokens : {1, 4, 128}) {
                const std::string kind = tokens == 1 ? "gemv/" : "gemm" + std::to_string(tokens) + "/";
                const std::string name = kind + std::string(kernels::isa_name(isa)) + "/" + shape.name;
                benchmark::RegisterBenchmark(name.c_str(), ternary_matmul_bench, isa, shape, tokens)->Unit(benchmark::kMicrosecond);
            }
        }
    }
}

}  // namespace

void register_head() {
    for (size_t i = 1; i < static_cast<size_t>(kernels::Isa::kCount); ++i) {
        const auto isa = static_cast<kernels::Isa>(i);
        // Only tables compiled into this binary exist (an x86 build has no NEON table).
        if (!kernels::isa_runs_on(isa, detect_cpu_info().features)) continue;
        if (kernels::kernel_table(isa).q8_matmul == nullptr) continue;
        for (const auto& [type, prefix] : {std::pair{HeadType::kQ8_0, "q8_head/"}, std::pair{HeadType::kQ6_K, "q6_k_head/"},
                                           std::pair{HeadType::kQ4_0, "q4_head/"}})
            for (size_t tokens : {1, 4}) {
                const std::string name = prefix + std::string(kernels::isa_name(isa)) + "/tokens:" + std::to_string(tokens);
                benchmark::RegisterBenchmark(name.c_str(), head_bench, isa, tokens, type)->Unit(benchmark::kMillisecond);
            }
    }
}

int main(int argc, char** argv) {
    register_all();
    register_head();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    return 0;
}
