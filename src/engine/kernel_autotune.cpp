#include "engine/kernel_autotune.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <random>

#include "core/check.h"
#include "core/str_cat.h"
#include "engine/random_activations.h"
#include "kernels/matmul_driver.h"

namespace tern::engine {
namespace {

constexpr int kGemvRounds = 5;
constexpr int kGemmRounds = 3;

// The projections the timing passes run, with random activations of each input width: one
// call per matrix, for ternary models the ternary kernels, for complex ones the complex
// kernels, for widely-linear ones the widely-linear kernels of the model's activation path.
struct TimingWork {
    using Call = std::function<void(const kernels::KernelTable&, ThreadPool&)>;
    std::vector<Call> gemv_calls;   // first layers, all roles
    std::vector<Call> gemm_calls;   // first layer
    std::map<size_t, quant::Int8Activations> one_token;   // by cols (complex: 2 rows per token)
    std::map<size_t, quant::Int8Activations> many_tokens;
    std::map<size_t, std::vector<float>> float_one_token;     // by cols: [x_re | x_im] per token
    std::map<size_t, std::vector<float>> float_many_tokens;
    std::vector<float> out;
};

void add_ternary_work(TimingWork& work, const model::Model& model) {
    size_t max_rows = 0, timed_layers = 0;
    // The first layers this process holds (a pipeline rank of --split layers holds only its own).
    for (size_t l = 0; l < model.layers.size() && timed_layers < kAutotuneGemvLayers; ++l) {
        const model::LayerWeights& layer = model.layers[l];
        if (layer.down.rows == 0) continue;
        const bool first = timed_layers++ == 0;
        for (const quant::PackedTernary* w : {&layer.q, &layer.k, &layer.v, &layer.o, &layer.gate, &layer.up, &layer.down}) {
            if (w->rows == 0) continue;
            max_rows = std::max(max_rows, w->rows);
            if (!work.one_token.contains(w->cols)) {
                work.one_token.emplace(w->cols, random_activations(1, w->cols, 1, w->chunk_cols()));
                work.many_tokens.emplace(w->cols, random_activations(kAutotuneGemmTokens, w->cols, 2, w->chunk_cols()));
            }
            auto call = [w, &work](std::map<size_t, quant::Int8Activations>& acts) -> TimingWork::Call {
                return [w, &acts, &work](const kernels::KernelTable& table, ThreadPool& pool) {
                    kernels::ternary_matmul(table, pool, *w, acts.at(w->cols), work.out.data(), w->rows);
                };
            };
            work.gemv_calls.push_back(call(work.one_token));
            if (first) work.gemm_calls.push_back(call(work.many_tokens));
        }
    }
    work.out.resize(max_rows * kAutotuneGemmTokens);
}

void add_complex_work(TimingWork& work, const model::Model& model) {
    size_t max_rows = 0;
    const size_t n_layers = std::min(model.layers.size(), kAutotuneGemvLayers);
    for (size_t l = 0; l < n_layers; ++l) {
        const model::ComplexProjections& p = model.layers[l].complex;
        for (const quant::PackedComplex* w : {&p.q, &p.k, &p.v, &p.o, &p.gate, &p.up, &p.down}) {
            max_rows = std::max(max_rows, w->rows);
            if (!work.one_token.contains(w->cols)) {
                work.one_token.emplace(w->cols, random_activations(2, w->cols, 1, quant::kChunkCols));
                work.many_tokens.emplace(w->cols, random_activations(2 * kAutotuneGemmTokens, w->cols, 2, quant::kChunkCols));
            }
            auto call = [w, &work](std::map<size_t, quant::Int8Activations>& acts) -> TimingWork::Call {
                return [w, &acts, &work](const kernels::KernelTable& table, ThreadPool& pool) {
                    kernels::complex_matmul(table, pool, *w, acts.at(w->cols), work.out.data(), 2 * w->rows, w->rows);
                };
            };
            work.gemv_calls.push_back(call(work.one_token));
            if (l == 0) work.gemm_calls.push_back(call(work.many_tokens));
        }
    }
    work.out.resize(2 * max_rows * kAutotuneGemmTokens);
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(n);
    for (float& v : x) v = normal(rng);
    return x;
}

void add_widely_linear_work(TimingWork& work, const model::Model& model) {
    size_t max_rows = 0;
    const size_t n_layers = std::min(model.layers.size(), kAutotuneGemvLayers);
    for (size_t l = 0; l < n_layers; ++l) {
        const model::WidelyLinearProjections& p = model.layers[l].widely_linear;
        for (const quant::PackedWidelyLinear* w : {&p.q, &p.k, &p.v, &p.o, &p.gate, &p.up, &p.down}) {
            if (w->rows == 0) continue;
            max_rows = std::max(max_rows, w->rows);
            const size_t m = w->cols;
            TimingWork::Call one, many;
            if (model.float_activations) {
                if (!work.float_one_token.contains(m)) {
                    work.float_one_token.emplace(m, random_floats(2 * m, 1));
                    work.float_many_tokens.emplace(m, random_floats(2 * m * kAutotuneGemmTokens, 2));
                }
                auto call = [w, m, &work](std::map<size_t, std::vector<float>>& xs, size_t tokens) -> TimingWork::Call {
                    return [w, m, tokens, &xs, &work](const kernels::KernelTable& table, ThreadPool& pool) {
                        kernels::widely_linear_float(table, pool, *w, xs.at(m).data(), 2 * m, tokens, work.out.data(), 2 * w->rows,
                                                     w->rows);
                    };
                };
                one = call(work.float_one_token, 1);
                many = call(work.float_many_tokens, kAutotuneGemmTokens);
            } else {
                if (!work.one_token.contains(m)) {
                    work.one_token.emplace(m, random_activations(2, m, 1, quant::kChunkCols));
                    work.many_tokens.emplace(m, random_activations(2 * kAutotuneGemmTokens, m, 2, quant::kChunkCols));
                }
                auto call = [w, m, &work](std::map<size_t, quant::Int8Activations>& acts) -> TimingWork::Call {
                    return [w, m, &acts, &work](const kernels::KernelTable& table, ThreadPool& pool) {
                        kernels::widely_linear_int8(table, pool, *w, acts.at(m), work.out.data(), 2 * w->rows, w->rows);
                    };
                };
                one = call(work.one_token);
                many = call(work.many_tokens);
            }
            work.gemv_calls.push_back(std::move(one));
            if (l == 0) work.gemm_calls.push_back(std::move(many));
        }
    }
    work.out.resize(2 * max_rows * kAutotuneGemmTokens);
}

double time_pass(const kernels::KernelTable& table, ThreadPool& pool, std::span<const TimingWork::Call> calls) {
    const auto start = std::chrono::steady_clock::now();
    for (const TimingWork::Call& call : calls) call(table, pool);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Median over rounds of one pass per candidate; candidates alternate within a round so that
// a burst of load from elsewhere does not land on one of them only.
std::vector<KernelTiming> time_candidates(std::span<const kernels::KernelTable> variants, int rounds, ThreadPool& pool,
                                          std::span<const TimingWork::Call> calls) {
    for (const kernels::KernelTable& table : variants) time_pass(table, pool, calls);   // warm-up
    std::vector<std::vector<double>> seconds(variants.size());
    for (int round = 0; round < rounds; ++round) {
        for (size_t c = 0; c < variants.size(); ++c) seconds[c].push_back(time_pass(variants[c], pool, calls));
    }
    std::vector<KernelTiming> timings;
    for (size_t c = 0; c < variants.size(); ++c) {
        std::ranges::sort(seconds[c]);
        timings.push_back({.kernels = variants[c].name, .seconds = seconds[c][seconds[c].size() / 2]});
    }
    return timings;
}

size_t fastest(std::span<const KernelTiming> timings) {
    size_t best = 0;
    for (size_t c = 1; c < timings.size(); ++c)
        if (timings[c].seconds < timings[best].seconds) best = c;
    return best;
}

std::string milliseconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f ms", seconds * 1e3);
    return text;
}

// "gemv avx2 (avx512vnni 3.20 ms; avx2 2.91 ms)": the choice, then each candidate's time in order.
std::string describe_timings(const char* op, const char* choice, std::span<const KernelTiming> timings) {
    std::string text = str_cat(op, " ", choice, " (");
    for (size_t c = 0; c < timings.size(); ++c)
        text += str_cat(c == 0 ? "" : "; ", timings[c].kernels, " ", milliseconds(timings[c].seconds));
    return text + ")";
}

}  // namespace

std::string AutotuneReport::summary() const {
    if (gemv.empty()) return "";
    return str_cat(describe_timings("gemv", gemv_choice, gemv), ", ", describe_timings("gemm", gemm_choice, gemm), "; timed with ", threads,
                   threads == 1 ? " thread" : " threads", " in ", milliseconds(seconds));
}

TunedKernels autotune_ternary_kernels(std::span<const kernels::KernelTable* const> candidates, const model::Model& model,
                                      ThreadPool& pool) {
    TERN_CHECK(!candidates.empty());
    TunedKernels tuned{.table = *candidates[0], .report = {}};
    tuned.report.threads = pool.size();
    if (candidates.size() < 2 || model.layers.empty()) return tuned;
    const auto start = std::chrono::steady_clock::now();
    // Each variant is the first table with one candidate's ternary kernels; only those run.
    std::vector<kernels::KernelTable> variants;
    for (const kernels::KernelTable* candidate : candidates) {
        TERN_CHECK(model.complex() || model.widely_linear() || candidate->ternary_layout == candidates[0]->ternary_layout);
        kernels::KernelTable variant = *candidates[0];
        variant.name = candidate->name;
        variant.ternary_gemv = candidate->ternary_gemv;
        variant.ternary_gemm = candidate->ternary_gemm;
        variant.complex_gemv = candidate->complex_gemv;
        variant.complex_gemm = candidate->complex_gemm;
        variant.widely_linear_int8_gemv = candidate->widely_linear_int8_gemv;
        variant.widely_linear_int8_gemm = candidate->widely_linear_int8_gemm;
        variant.widely_linear_float_gemv = candidate->widely_linear_float_gemv;
        variant.widely_linear_float_gemm = candidate->widely_linear_float_gemm;
        variants.push_back(variant);
    }
    TimingWork work;
    if (model.complex()) add_complex_work(work, model);
    else if (model.widely_linear()) add_widely_linear_work(work, model);
    else add_ternary_work(work, model);
    tuned.report.gemv = time_candidates(variants, kGemvRounds, pool, work.gemv_calls);
    tuned.report.gemm = time_candidates(variants, kGemmRounds, pool, work.gemm_calls);
    const kernels::KernelTable& gemv_choice = variants[fastest(tuned.report.gemv)];
    const kernels::KernelTable& gemm_choice = variants[fastest(tuned.report.gemm)];
    tuned.table.ternary_gemv = gemv_choice.ternary_gemv;
    tuned.table.ternary_gemm = gemm_choice.ternary_gemm;
    tuned.table.complex_gemv = gemv_choice.complex_gemv;
    tuned.table.complex_gemm = gemm_choice.complex_gemm;
    tuned.table.widely_linear_int8_gemv = gemv_choice.widely_linear_int8_gemv;
    tuned.table.widely_linear_int8_gemm = gemm_choice.widely_linear_int8_gemm;
    tuned.table.widely_linear_float_gemv = gemv_choice.widely_linear_float_gemv;
    tuned.table.widely_linear_float_gemm = gemm_choice.widely_linear_float_gemm;
    tuned.report.gemv_choice = gemv_choice.name;
    tuned.report.gemm_choice = gemm_choice.name;
    tuned.report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return tuned;
}

}  // namespace tern::engine
