#include "engine/model_benchmark.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/check.h"
#include "core/memory_bandwidth.h"
#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "engine/inference_session.h"

namespace tern::engine {
namespace {

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }

double stddev(const std::vector<double>& v) {
    if (v.size() < 2) return 0.0;
    const double m = mean(v);
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    return std::sqrt(ss / (v.size() - 1));
}

// Deterministic token ids spread over the vocabulary (the content does not affect speed).
std::vector<int32_t> bench_tokens(size_t n, size_t n_vocab) {
    std::vector<int32_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 2654435761u + 1) % n_vocab);
    return ids;
}

double time_prompt(InferenceSession& session, const std::vector<int32_t>& prompt) {
    session.truncate(0);
    const auto start = std::chrono::steady_clock::now();
    TERN_CHECK(session.evaluate(prompt).ok());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Fills every one of `sequences` slots with `depth` tokens of context (untimed).
void fill_context(InferenceSession& session, size_t depth, size_t sequences, size_t n_vocab) {
    std::vector<BatchToken> batch;
    for (size_t s = 0; s < sequences; ++s) {
        session.truncate(0, s);
        if (depth == 0) continue;
        batch.clear();
        for (size_t i = 0; i < depth; ++i)
            batch.push_back({.token = static_cast<int32_t>((i * 2654435761u + s + 1) % n_vocab), .slot = s, .logits = false});
        TERN_CHECK(session.evaluate_batch(batch).ok());
    }
}

// Decode steps per position when `sequences` decode together: one, or in a pipeline one per
// group of sequences (decode_step_share).
size_t steps_per_position(size_t sequences, size_t lanes) {
    const size_t share = decode_step_share(sequences, lanes);
    return (sequences + share - 1) / share;
}

// `sequences` slots each generate n tokens in lock-step from `depth` positions of context
// (filled by fill_context): one batched step per position (one sequence: plain decode), or in
// a pipeline, as the server's scheduler runs it, one step per group of sequences with a step
// in flight on each lane (the oldest finished before its lane starts again).
double time_generation(InferenceSession& session, size_t n, size_t sequences, size_t depth, size_t n_vocab,
                       size_t lanes) {
    const size_t share = decode_step_share(sequences, lanes);
    std::vector<std::vector<BatchToken>> groups(steps_per_position(sequences, lanes));
    for (size_t s = 0; s < sequences; ++s) {
        if (depth == 0 || session.can_rewind()) session.truncate(depth, s);
        groups[s / share].push_back({.token = static_cast<int32_t>((s * 7919 + 1) % n_vocab), .slot = s, .logits = true});
    }
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i)
        for (size_t lane = 0; lane < groups.size(); ++lane) {
            if (i > 0) {
                session.finish_batch(lane);
                for (BatchToken& b : groups[lane])
                    b.token = static_cast<int32_t>((b.token * 31 + 7) % static_cast<int32_t>(n_vocab));
            }
            TERN_CHECK(session.start_batch(groups[lane], lane).ok());
        }
    for (size_t lane = 0; lane < groups.size() && n > 0; ++lane) session.finish_batch(lane);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Weights of every projection and the head, read once per step and shared by its sequences
// (`steps` per position: one per group of sequences in a pipeline), plus per sequence what the
// token mixer reads: on average depth + (n + 1) / 2 cached positions of keys and values per
// layer, or a recurrent state (its size, whatever the depth).
void set_decode_bytes_per_token(ModelBenchResult& result, const model::Model& model, const InferenceSession& session,
                                size_t n_gen, size_t depth, size_t sequences, size_t steps, kernels::KvType kv_type) {
    const auto shared = [&](size_t bytes) {
        return static_cast<double>(bytes) * static_cast<double>(steps) / static_cast<double>(sequences);
    };
    result.projection_bytes_per_token = shared(model.projection_weight_bytes());
    result.head_bytes_per_token = shared(model.head_weight_bytes());
    if (model.recurrent()) {
        result.kv_bytes_per_token = static_cast<double>(session.kv_cache_bytes()) / static_cast<double>(session.n_slots());
    } else {
        const double kv_per_position = 2.0 * model.hp.n_layer * model.hp.kv_dim() * kernels::kv_type_bytes(kv_type);
        result.kv_bytes_per_token = kv_per_position * (static_cast<double>(depth) + (n_gen + 1) / 2.0);
    }
    result.bytes_per_token = result.projection_bytes_per_token + result.head_bytes_per_token + result.kv_bytes_per_token;
}

std::string generation_test_name(size_t n_gen, size_t sequences, size_t depth) {
    std::string name = sequences == 1 ? str_cat("tg", n_gen) : str_cat("tg", n_gen, "x", sequences);
    return depth == 0 ? name : str_cat(name, "@d", depth);
}

ModelBenchResult measure_generation(InferenceSession& session, const model::Model& model, const ModelBenchOptions& options,
                                    int threads, size_t sequences, size_t depth) {
    const size_t n_vocab = model.hp.n_vocab;
    const size_t lanes = pipeline_lanes(options.split);
    fill_context(session, depth, sequences, n_vocab);
    time_generation(session, std::min<size_t>(options.n_gen, 8), sequences, depth, n_vocab, lanes);   // warm-up
    std::vector<double> speeds;
    for (int r = 0; r < options.repetitions; ++r) {
        const double seconds = time_generation(session, options.n_gen, sequences, depth, n_vocab, lanes);
        speeds.push_back(static_cast<double>(options.n_gen * sequences) / seconds);
    }
    ModelBenchResult result{.test = generation_test_name(options.n_gen, sequences, depth),
                            .threads = threads, .tokens_per_s = mean(speeds), .stddev = stddev(speeds),
                            .sequences = sequences, .depth = depth};
    set_decode_bytes_per_token(result, model, session, options.n_gen, depth, sequences, steps_per_position(sequences, lanes),
                               options.kv_type);
    result.gb_per_s = result.bytes_per_token * result.tokens_per_s / 1e9;
    return result;
}

}  // namespace

double peak_rss_bytes() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) * 1024.0;
}

ModelBenchReport run_model_benchmark(const model::Model& model, const kernels::KernelTable& table,
                                     const ModelBenchOptions& options, const ModelBenchProgress& progress) {
    ModelBenchReport report;
    report.kv_type = options.kv_type;
    // Room for the deepest context and the generation; a recurrent state, never cut back, also
    // keeps the warm-up's and every repetition's tokens.
    const size_t max_depth = options.depths.empty() ? 0 : *std::max_element(options.depths.begin(), options.depths.end());
    const size_t generated = model.recurrent() ? 8 + options.n_gen * options.repetitions : options.n_gen;
    const size_t n_ctx = std::max<size_t>(std::max(options.n_prompt, max_depth + generated), 1);
    size_t n_slots = 1;
    for (size_t sequences : options.sequences) n_slots = std::max(n_slots, sequences);
    const std::vector<int32_t> prompt = bench_tokens(options.n_prompt, model.hp.n_vocab);
    for (int threads : options.threads) {
        ThreadPool pool(threads);
        InferenceSession session(model, table, pool, n_ctx, n_slots, options.kv_type, options.split);
        if (options.n_prompt > 0) {
            if (progress) progress(str_cat("pp", options.n_prompt), threads);
            time_prompt(session, prompt);   // warm-up, as llama-bench does
            std::vector<double> speeds;
            for (int r = 0; r < options.repetitions; ++r)
                speeds.push_back(options.n_prompt / time_prompt(session, prompt));
            report.results.push_back({.test = str_cat("pp", options.n_prompt), .threads = threads,
                                      .tokens_per_s = mean(speeds), .stddev = stddev(speeds)});
        }
        for (size_t depth : options.n_gen > 0 ? options.depths : std::vector<size_t>{}) {
            for (size_t sequences : options.sequences) {
                if (sequences == 0) continue;
                if (progress) progress(generation_test_name(options.n_gen, sequences, depth), threads);
                report.results.push_back(measure_generation(session, model, options, threads, sequences, depth));
            }
        }
    }
    // Taken before the bandwidth probe, whose buffer would otherwise be the peak.
    report.peak_rss_bytes = peak_rss_bytes();
    if (options.n_gen == 0) return report;
    for (int threads : options.threads) {
        if (progress) progress("read bandwidth", threads);
        report.read_bandwidth.push_back(measure_read_bandwidth({.threads = threads, .seconds = options.bandwidth_seconds}));
        const double gb_per_s = report.read_bandwidth.back().gb_per_s;
        for (ModelBenchResult& r : report.results)
            if (r.threads == threads && r.bytes_per_token > 0 && gb_per_s > 0) r.bandwidth_fraction = r.gb_per_s / gb_per_s;
    }
    return report;
}

}  // namespace tern::engine
