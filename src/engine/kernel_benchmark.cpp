#include "engine/kernel_benchmark.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include "core/check.h"
#include "core/cpu_info.h"
#include "core/memory_bandwidth.h"
#include "core/thread_pool.h"
#include "engine/random_activations.h"
#include "kernels/dispatch.h"
#include "kernels/matmul_driver.h"
#include "quant/block_formats.h"
#include "quant/packed_complex.h"
#include "quant/paired_head_rows.h"
#include "quant/q6_k_head_rows.h"
#include "quant/widely_linear.h"

namespace tern::engine {
namespace {

using Clock = std::chrono::steady_clock;

quant::PackedTernary random_matrix(size_t rows, size_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    auto packed = quant::pack_ternary(rows, cols, [&](size_t, std::span<int8_t> values) -> Result<float> {
        for (int8_t& v : values) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
        return 0.5f;
    });
    TERN_CHECK(packed.ok());
    return std::move(packed.value());
}

template <typename T>
AlignedBuffer<T> copy_of(const AlignedBuffer<T>& buffer) {
    AlignedBuffer<T> copy(buffer.size());
    if (buffer.size() > 0) std::memcpy(copy.data(), buffer.data(), buffer.size_bytes());   // empty: data() is null
    return copy;
}

quant::PackedTernary copy_of(const quant::PackedTernary& m) {
    quant::PackedTernary c;
    c.layout = m.layout;
    c.rows = m.rows;
    c.cols = m.cols;
    c.rows_padded = m.rows_padded;
    c.cols_padded = m.cols_padded;
    c.codes = copy_of(m.codes);
    c.row_scale = copy_of(m.row_scale);
    c.sign_planes_bias = copy_of(m.sign_planes_bias);
    return c;
}

quant::PackedComplex random_complex_matrix(size_t rows, size_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    auto packed = quant::pack_complex(rows, cols, 0.5f, 0.75f, [&](size_t, std::span<uint8_t> codes) -> Status {
        for (uint8_t& code : codes) code = static_cast<uint8_t>(rng() % 4);
        return {};
    });
    TERN_CHECK(packed.ok());
    return std::move(packed.value());
}

quant::PackedComplex copy_of(const quant::PackedComplex& m) {
    quant::PackedComplex c;
    c.rows = m.rows;
    c.cols = m.cols;
    c.rows_padded = m.rows_padded;
    c.cols_padded = m.cols_padded;
    c.scale_re = m.scale_re;
    c.scale_im = m.scale_im;
    c.codes = copy_of(m.codes);
    c.sign_bias = copy_of(m.sign_bias);
    return c;
}

// Random codes for U1, W1 (, U2, W2) of `stages` PhaseQuant stages.
quant::PackedWidelyLinear random_widely_linear(size_t rows, size_t cols, size_t stages, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::vector<uint8_t>> codes(2 * stages, std::vector<uint8_t>(rows * cols));
    std::vector<std::span<const uint8_t>> spans;
    for (std::vector<uint8_t>& matrix : codes) {
        for (uint8_t& code : matrix) code = static_cast<uint8_t>(rng() % 4);
        spans.emplace_back(matrix);
    }
    const float scale_re[] = {0.5f, 0.25f, 0.125f, 0.0625f}, scale_im[] = {0.75f, 0.375f, 0.1875f, 0.09375f};
    auto packed = quant::pack_widely_linear(rows, cols, spans, std::span(scale_re, 2 * stages), std::span(scale_im, 2 * stages));
    TERN_CHECK(packed.ok());
    return std::move(packed.value());
}

quant::PackedWidelyLinear copy_of(const quant::PackedWidelyLinear& m) {
    quant::PackedWidelyLinear c;
    c.rows = m.rows;
    c.cols = m.cols;
    c.rows_padded = m.rows_padded;
    c.cols_padded = m.cols_padded;
    c.n_matrices = m.n_matrices;
    std::copy(std::begin(m.scale_re), std::end(m.scale_re), std::begin(c.scale_re));
    std::copy(std::begin(m.scale_im), std::end(m.scale_im), std::begin(c.scale_im));
    c.codes = copy_of(m.codes);
    return c;
}

// `original` and copies of it, `streamed` bytes in all (at least one).
template <typename Matrix>
std::vector<Matrix> streamed_copies(const Matrix& original, size_t streamed) {
    std::vector<Matrix> copies;
    const size_t n_copies = std::max<size_t>(1, streamed / original.weight_bytes());
    while (copies.size() < n_copies) copies.push_back(copy_of(original));
    return copies;
}

size_t default_streamed_bytes() {
    uint64_t llc = 0;
    for (const CacheLevel& cache : detect_cpu_info().caches) llc = std::max(llc, cache.size_bytes);
    return std::max<size_t>(size_t{256} << 20, 4 * llc);
}

// Median of per-round times, where one round calls `call(i)` for i over all copies.
double median_seconds_per_call(size_t n_copies, double budget_s, const std::function<void(size_t)>& call) {
    for (size_t i = 0; i < n_copies; ++i) call(i);   // warm-up: page in, spin up threads
    std::vector<double> rounds;
    const auto start = Clock::now();
    do {
        const auto t0 = Clock::now();
        for (size_t i = 0; i < n_copies; ++i) call(i);
        rounds.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(n_copies));
    } while (rounds.size() < 3 || (std::chrono::duration<double>(Clock::now() - start).count() < budget_s && rounds.size() < 1000));
    std::nth_element(rounds.begin(), rounds.begin() + static_cast<long>(rounds.size() / 2), rounds.end());
    return rounds[rounds.size() / 2];
}

// Completes a point from its time (GB/s, share of the bandwidth at its thread count, time per
// token), adds it to the report and tells `progress`.
void record_point(KernelBenchPoint p, double bandwidth, KernelBenchReport& report, const BenchProgress& progress) {
    p.gb_per_s = p.weight_bytes / p.seconds / 1e9;
    p.bandwidth_fraction = bandwidth > 0 ? p.gb_per_s / bandwidth : 0.0;
    p.seconds_per_token = p.seconds / static_cast<double>(p.tokens);
    report.points.push_back(p);
    if (progress) progress(p);
}

// The tied F16 embedding of 2B4T used as LM head: 657 MB, one GEMV per generated token.
void benchmark_float_head(const KernelBenchOptions& options, const std::vector<kernels::Isa>& isas,
                          const std::function<double(int)>& bandwidth_at, KernelBenchReport& report,
                          const BenchProgress& progress) {
    const MatrixShape shape{"lm_head", 128256, 2560};
    std::vector<std::byte> weights(shape.rows * shape.cols * 2);
    std::mt19937 rng(99);
    for (size_t i = 0; i < weights.size(); i += 2) {
        const uint16_t h = 0x3000 | static_cast<uint16_t>(rng() & 0x83ff);   // |w| < 1, random sign
        std::memcpy(&weights[i], &h, 2);
    }
    std::vector<float> x(shape.cols, 0.5f), out(shape.rows);
    for (const kernels::Isa isa : isas) {
        const kernels::KernelTable& table = kernels::kernel_table(isa);
        for (const int threads : options.threads) {
            ThreadPool pool(threads);
            const double seconds = median_seconds_per_call(1, options.seconds_per_point, [&](size_t) {
                pool.parallel_for(shape.rows, 16, [&](size_t begin, size_t end) {
                    table.float_matmul({.weights = weights.data(), .type = format::GgmlType::kF16, .cols = shape.cols,
                                        .row_bytes = shape.cols * 2, .x = x.data(), .x_stride = shape.cols,
                                        .n_tokens = 1, .out = out.data(), .out_stride = shape.rows,
                                        .row_begin = begin, .row_end = end});
                });
            });
            record_point({.op = "f16 gemv", .isa = isa, .kernels = kernels::isa_name(isa).data(), .shape = shape,
                          .threads = threads, .tokens = 1, .seconds = seconds,
                          .weight_bytes = static_cast<double>(weights.size())},
                         bandwidth_at(threads), report, progress);
        }
    }
}

// How each block-quantised head format is built and computed (kernels/head_matmul.h).
template <class Rows>
struct HeadFormat;

template <>
struct HeadFormat<quant::PairedQ8Rows> {
    static constexpr const char* kOp = "q8_0 gemv";
    static void quantize(const float* x, std::byte* blocks, size_t n) { quant::quantize_row_q8_0(x, blocks, n); }
    static Result<quant::PairedQ8Rows> build(size_t rows, size_t cols, const quant::BlockRowSource& source) {
        return quant::pair_q8_0_rows(rows, cols, source);
    }
    static void run(const kernels::KernelTable& t, ThreadPool& p, const kernels::Q8MatmulArgs& a) { kernels::q8_matmul(t, p, a); }
};

template <>
struct HeadFormat<quant::PairedQ4Rows> {
    static constexpr const char* kOp = "q4_0 gemv";
    static void quantize(const float* x, std::byte* blocks, size_t n) { quant::quantize_row_q4_0(x, blocks, n); }
    static Result<quant::PairedQ4Rows> build(size_t rows, size_t cols, const quant::BlockRowSource& source) {
        return quant::pair_q4_0_rows(rows, cols, source);
    }
    static void run(const kernels::KernelTable& t, ThreadPool& p, const kernels::Q4MatmulArgs& a) { kernels::q4_matmul(t, p, a); }
};

template <>
struct HeadFormat<quant::Q6KRows> {
    static constexpr const char* kOp = "q6_k gemv";
    static void quantize(const float* x, std::byte* blocks, size_t n) { quant::quantize_row_q6_k(x, blocks, n); }
    static Result<quant::Q6KRows> build(size_t rows, size_t cols, const quant::BlockRowSource& source) {
        return quant::gather_q6_k_rows(rows, cols, source, 2);
    }
    static void run(const kernels::KernelTable& t, ThreadPool& p, const kernels::Q6KMatmulArgs& a) { kernels::q6_k_matmul(t, p, a); }
};

// The same head converted to Q8_0 (--head auto|q8_0, or a Q8_0 file; 349 MB), to Q4_0 (--head
// q4_0; 185 MB) and to Q6_K (--head q6_k; 269 MB), in the kernels' layouts, one GEMV per
// generated token.
template <class Rows>
void benchmark_quantized_head(const KernelBenchOptions& options, const std::vector<kernels::Isa>& isas,
                              const std::function<double(int)>& bandwidth_at, KernelBenchReport& report,
                              const BenchProgress& progress) {
    using Format = HeadFormat<Rows>;
    const MatrixShape shape{"lm_head", 128256, 2560};
    auto source = [&](size_t r, std::span<std::byte> blocks) -> Status {
        std::vector<float> values(shape.cols);
        std::mt19937 rng(static_cast<uint32_t>(r));
        for (float& v : values) v = static_cast<float>(static_cast<int>(rng() % 255) - 127) / 256.0f;
        Format::quantize(values.data(), blocks.data(), shape.cols);
        return {};
    };
    Result<Rows> weights = Format::build(shape.rows, shape.cols, source);
    TERN_CHECK(weights.ok());
    std::vector<float> row(shape.cols);
    for (size_t c = 0; c < shape.cols; ++c) row[c] = static_cast<float>(c % 17) / 17.0f - 0.5f;
    std::vector<std::byte> x(shape.cols / kernels::kQ8BlockElems * kernels::kQ8BlockBytes);
    quant::quantize_row_q8_0(row.data(), x.data(), shape.cols);
    std::vector<float> out(shape.rows);
    for (const kernels::Isa isa : isas) {
        const kernels::KernelTable& table = kernels::kernel_table(isa);
        for (const int threads : options.threads) {
            ThreadPool pool(threads);
            const kernels::HeadMatmulArgs<Rows> args{.weights = &weights.value(), .x = x.data(), .n_tokens = 1, .out = out.data(),
                                                     .out_stride = shape.rows, .row_begin = 0, .row_end = shape.rows};
            const double seconds =
                median_seconds_per_call(1, options.seconds_per_point, [&](size_t) { Format::run(table, pool, args); });
            record_point({.op = Format::kOp, .isa = isa, .kernels = kernels::isa_name(isa).data(), .shape = shape,
                          .threads = threads, .tokens = 1, .seconds = seconds,
                          .weight_bytes = static_cast<double>(weights.value().bytes())},
                         bandwidth_at(threads), report, progress);
        }
    }
}

// The complex families' decode kernels, one token streamed from memory like the ternary GEMV:
// iFairy's complex GEMV at the 700M shapes, and Fairy2i's widely-linear GEMV (two stages) at the
// 7B projection shape, 2048 x 2048 complex (4096 x 4096 real), on both activation paths.
void benchmark_complex(const KernelBenchOptions& options, const std::vector<kernels::Isa>& isas, size_t streamed,
                       const std::function<double(int)>& bandwidth_at, KernelBenchReport& report, const BenchProgress& progress) {
    uint32_t seed = 1000;
    for (const MatrixShape& shape : {MatrixShape{"ifairy attn", 1536, 1536}, MatrixShape{"ifairy ffn_up", 4096, 1536}}) {
        const std::vector<quant::PackedComplex> copies = streamed_copies(random_complex_matrix(shape.rows, shape.cols, seed++), streamed);
        const quant::Int8Activations acts = random_activations(2, shape.cols, seed++, quant::kChunkCols);   // re, im
        std::vector<float> out(2 * shape.rows);
        for (const kernels::Isa isa : isas) {
            const kernels::KernelTable& table = kernels::kernel_table(isa);
            for (const int threads : options.threads) {
                ThreadPool pool(threads);
                const double seconds = median_seconds_per_call(copies.size(), options.seconds_per_point, [&](size_t i) {
                    kernels::complex_matmul(table, pool, copies[i], acts, out.data(), 2 * shape.rows, shape.rows);
                });
                record_point({.op = "complex gemv", .isa = isa, .kernels = table.name, .shape = shape, .threads = threads,
                              .tokens = 1, .seconds = seconds, .weight_bytes = static_cast<double>(copies[0].weight_bytes())},
                             bandwidth_at(threads), report, progress);
            }
        }
    }
    const MatrixShape shape{"fairy2i w2", 2048, 2048};
    const std::vector<quant::PackedWidelyLinear> copies = streamed_copies(random_widely_linear(shape.rows, shape.cols, 2, seed++), streamed);
    const quant::Int8Activations acts = random_activations(2, shape.cols, seed++, quant::kChunkCols);
    std::vector<float> x(2 * shape.cols), out(2 * shape.rows);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) / 8.0f - 1.0f;
    for (const kernels::Isa isa : isas) {
        const kernels::KernelTable& table = kernels::kernel_table(isa);
        for (const int threads : options.threads) {
            ThreadPool pool(threads);
            auto record = [&](const char* op, double seconds) {
                record_point({.op = op, .isa = isa, .kernels = table.name, .shape = shape, .threads = threads, .tokens = 1,
                              .seconds = seconds, .weight_bytes = static_cast<double>(copies[0].weight_bytes())},
                             bandwidth_at(threads), report, progress);
            };
            record("wl int8 gemv", median_seconds_per_call(copies.size(), options.seconds_per_point, [&](size_t i) {
                       kernels::widely_linear_int8(table, pool, copies[i], acts, out.data(), 2 * shape.rows, shape.rows);
                   }));
            record("wl f32 gemv", median_seconds_per_call(copies.size(), options.seconds_per_point, [&](size_t i) {
                       kernels::widely_linear_float(table, pool, copies[i], x.data(), x.size(), 1, out.data(), 2 * shape.rows,
                                                    shape.rows);
                   }));
        }
    }
}

}  // namespace

std::vector<MatrixShape> bitnet_2b4t_ternary_shapes() {
    return {{"attn_q/o", 2560, 2560}, {"attn_k/v", 640, 2560}, {"ffn_gate/up", 6912, 2560}, {"ffn_down", 2560, 6912}};
}

KernelBenchReport run_kernel_benchmark(const KernelBenchOptions& options, const BenchProgress& progress) {
    const std::vector<kernels::Isa> isas = options.isas.empty() ? kernels::isas_supported_here() : options.isas;
    const std::vector<MatrixShape> shapes = options.shapes.empty() ? bitnet_2b4t_ternary_shapes() : options.shapes;
    const size_t streamed = options.streamed_bytes ? options.streamed_bytes : default_streamed_bytes();
    // Each ISA's 2-bit kernels, then its base-3 ones where it has them.
    std::vector<const kernels::KernelTable*> tables;
    for (const kernels::Isa isa : isas)
        for (const kernels::Packing packing : {kernels::Packing::k2Bit, kernels::Packing::kBase3})
            if (const kernels::KernelTable* table = kernels::kernel_table(isa, packing)) tables.push_back(table);
    KernelBenchReport report;
    for (const int threads : options.threads) {
        report.read_bandwidth.push_back(measure_read_bandwidth({.threads = threads}));
    }
    const std::function<double(int)> bandwidth_at = [&](int threads) {
        for (const BandwidthResult& bw : report.read_bandwidth) if (bw.threads == threads) return bw.gb_per_s;
        return 0.0;
    };
    uint32_t seed = 1;
    for (const MatrixShape& shape : shapes) {
        const quant::PackedTernary original = random_matrix(shape.rows, shape.cols, seed++);
        const size_t n_copies = std::max<size_t>(1, streamed / original.weight_bytes());
        const uint32_t one_seed = seed++, many_seed = seed++;
        std::vector<float> out(std::max<size_t>(1, options.gemm_tokens) * shape.rows);
        for (const kernels::KernelTable* table_ptr : tables) {
            const kernels::KernelTable& table = *table_ptr;
            const kernels::Isa isa = table.isa;
            const size_t granule = quant::layout_chunk_cols(table.ternary_layout);
            const quant::Int8Activations one = random_activations(1, shape.cols, one_seed, granule);
            const quant::Int8Activations many =
                random_activations(std::max<size_t>(1, options.gemm_tokens), shape.cols, many_seed, granule);
            std::vector<quant::PackedTernary> copies;
            copies.push_back(copy_of(original));
            quant::convert_layout(copies[0], table.ternary_layout);
            while (copies.size() < n_copies) copies.push_back(copy_of(copies[0]));
            for (const int threads : options.threads) {
                ThreadPool pool(threads);
                auto record = [&](const char* op, size_t tokens, double seconds) {
                    record_point({.op = op, .isa = isa, .kernels = table.name, .shape = shape, .threads = threads,
                                  .tokens = tokens, .seconds = seconds,
                                  .weight_bytes = static_cast<double>(copies[0].weight_bytes())},
                                 bandwidth_at(threads), report, progress);
                };
                // Single-token calls go through the same driver as the engine (GEMV).
                const double gemv_s = median_seconds_per_call(copies.size(), options.seconds_per_point, [&](size_t i) {
                    kernels::ternary_matmul(table, pool, copies[i], one, out.data(), shape.rows);
                });
                record("gemv", 1, gemv_s);
                if (options.gemm_tokens > 1) {
                    // Streamed like GEMV: a batched decode step or a prefill chunk reads its
                    // weights from memory too, and a cache-resident matrix hides the latency
                    // that few-token GEMMs must cover.
                    // A GEMM reuses each weight across its tokens, so its time hardly depends on
                    // the cache: cycling through every copy (hundreds on a large-L3 Xeon, seconds
                    // per round) would only stretch the run. Enough copies for a third of the
                    // budget per round are used.
                    const auto probe_start = Clock::now();
                    kernels::ternary_matmul(table, pool, copies[0], many, out.data(), shape.rows);
                    const double one_call = std::chrono::duration<double>(Clock::now() - probe_start).count();
                    const size_t gemm_copies = std::clamp<size_t>(
                        static_cast<size_t>(options.seconds_per_point / 3 / std::max(one_call, 1e-6)), 1, copies.size());
                    const double gemm_s = median_seconds_per_call(gemm_copies, options.seconds_per_point, [&](size_t i) {
                        kernels::ternary_matmul(table, pool, copies[i], many, out.data(), shape.rows);
                    });
                    record("gemm", options.gemm_tokens, gemm_s);
                }
            }
        }
    }
    if (options.float_head) {
        benchmark_float_head(options, isas, bandwidth_at, report, progress);
        benchmark_quantized_head<quant::PairedQ8Rows>(options, isas, bandwidth_at, report, progress);
        benchmark_quantized_head<quant::Q6KRows>(options, isas, bandwidth_at, report, progress);
        benchmark_quantized_head<quant::PairedQ4Rows>(options, isas, bandwidth_at, report, progress);
    }
    if (options.complex) benchmark_complex(options, isas, streamed, bandwidth_at, report, progress);
    return report;
}

}  // namespace tern::engine
