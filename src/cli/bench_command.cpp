// `tern bench --kernels`: times every ternary kernel on the BitNet b1.58 2B4T projection
// shapes (GEMV for decode, GEMM for prefill) and reports GB/s of weights streamed as a fraction
// of the read bandwidth measured in the same run, through the public API (tern::benchmark_kernels);
// `tern bench -m / --synthetic` times a whole model.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "core/cpu_info.h"
#include "core/str_cat.h"
#include "cli/model_setup.h"
#include "cli/split_setup.h"
#include "engine/benchmark_json.h"
#include "engine/model_benchmark.h"
#include "model/synthetic_model.h"
#include "tern/system.h"

namespace tern::cli {
namespace {

// " 45.1 GB/s with 1 thread (4 streams; passes 44.0-46.2);" per thread count, from the
// reports' "read_bandwidth_gb_per_s".
std::string bandwidth_summary(const nlohmann::json& measured) {
    std::string text;
    for (const nlohmann::json& bw : measured) {
        const int threads = bw["threads"].get<int>();
        char line[160];
        std::snprintf(line, sizeof line, " %.1f GB/s with %d thread%s (%s; passes %.1f-%.1f);", bw["gb_per_s"].get<double>(),
                      threads, threads > 1 ? "s" : "", bw["method"].get<std::string>().c_str(),
                      bw["min_gb_per_s"].get<double>(), bw["max_gb_per_s"].get<double>());
        text += line;
    }
    return text;
}

std::string format_seconds(double s) {
    char buf[32];
    if (s < 1e-3) std::snprintf(buf, sizeof buf, "%.1f us", s * 1e6);
    else std::snprintf(buf, sizeof buf, "%.2f ms", s * 1e3);
    return buf;
}

// The GEMV point with the same kernels, shape and threads, to express GEMM as a per-token speed-up.
const nlohmann::json* matching_gemv(const nlohmann::json& points, const nlohmann::json& p) {
    for (const nlohmann::json& q : points)
        if (q["op"] == "gemv" && q["kernels"] == p["kernels"] && q["threads"] == p["threads"] && q["shape"] == p["shape"])
            return &q;
    return nullptr;
}

// `tern bench --kernels`'s table, from tern::benchmark_kernels' report.
void print_table(const nlohmann::json& points) {
    std::printf("%-12s %-16s %-13s %-11s %3s %11s %11s %8s %12s %9s\n", "op", "kernels", "shape", "rows x cols", "t",
                "time/call", "weights", "% of bw", "time/token", "vs gemv");
    for (const nlohmann::json& p : points) {
        const nlohmann::json* gemv = p["op"] == "gemm" ? matching_gemv(points, p) : nullptr;
        const double per_token = p["seconds_per_token"].get<double>();
        const std::string speedup =
            gemv ? str_cat(static_cast<int>((*gemv)["seconds"].get<double>() / per_token * 10) / 10.0, "x") : "";
        std::printf("%-12s %-16s %-13s %-11s %3d %11s %6.1f GB/s %7.0f%% %12s %9s\n", p["op"].get<std::string>().c_str(),
                    p["kernels"].get<std::string>().c_str(), p["shape"].get<std::string>().c_str(),
                    str_cat(p["rows"].get<size_t>(), "x", p["cols"].get<size_t>()).c_str(), p["threads"].get<int>(),
                    format_seconds(p["seconds"].get<double>()).c_str(), p["gb_per_s"].get<double>(),
                    100.0 * p["bandwidth_fraction"].get<double>(), format_seconds(per_token).c_str(), speedup.c_str());
    }
}

std::vector<int> default_thread_counts(const std::vector<int>& given) { return given.empty() ? std::vector<int>{1, 2} : given; }

void print_model_report(const LoadedModel& lm, const engine::ModelBenchReport& report, const std::string& split_line) {
    nlohmann::json bandwidth = nlohmann::json::array();
    for (const BandwidthResult& bw : report.read_bandwidth) bandwidth.push_back(engine::bandwidth_json(bw));
    std::printf("model: %s\ncpu: %s\nread bandwidth (same run):%s", describe(lm).c_str(), detect_cpu_info().model_name.c_str(),
                bandwidth_summary(bandwidth).c_str());
    if (!split_line.empty()) std::printf("\n%s", split_line.c_str());
    std::printf("\n\n| %-13s | %7s | %-18s | %11s | %9s | %8s |\n", "test", "threads", "t/s", "bytes/token", "GB/s", "% of bw");
    std::printf("|---------------|---------|--------------------|-------------|-----------|----------|\n");
    for (const auto& r : report.results) {
        const std::string speed = str_cat(static_cast<long>(r.tokens_per_s * 100) / 100.0, " ± ",
                                          static_cast<long>(r.stddev * 100) / 100.0);
        if (r.bytes_per_token > 0)
            std::printf("| %-13s | %7d | %-18s | %8.1f MB | %9.1f | %7.0f%% |\n", r.test.c_str(), r.threads, speed.c_str(),
                        r.bytes_per_token / 1e6, r.gb_per_s, 100 * r.bandwidth_fraction);
        else
            std::printf("| %-13s | %7d | %-18s | %11s | %9s | %8s |\n", r.test.c_str(), r.threads, speed.c_str(), "", "", "");
    }
    for (const auto& r : report.results)
        if (r.bytes_per_token > 0)
            std::printf("\n%s bytes/token: projections %.1f MB + head %.1f MB + %s %.1f MB", r.test.c_str(),
                        r.projection_bytes_per_token / 1e6, r.head_bytes_per_token / 1e6,
                        lm.model.recurrent() ? "state" : "KV cache", r.kv_bytes_per_token / 1e6);
    std::printf("\n\npeak RSS %.1f MB; KV cache %s; model loaded in %.2f s\n", report.peak_rss_bytes / 1e6,
                kernels::kv_type_name(report.kv_type), lm.load_seconds);
}

int run_model_bench(const BenchOptions& options) {
    if (!options.model.empty() && !options.synthetic.empty())
        return report_failure("bench: give -m MODEL or --synthetic SHAPE, not both");
    if (options.isas.size() > 1) return report_failure("bench: a model benchmark takes one --isa");
    if (!options.split.kind.empty() && options.threads.size() > 1)
        return report_failure("bench: under --split each rank keeps one thread count for the whole run: give -t N");
    Result<std::unique_ptr<SplitRun>> split = start_split(options.split);
    if (!split.ok()) return report_failure(str_cat("bench: ", split.error().message()));
    const std::unique_ptr<SplitRun>& job = split.value();
    const std::vector<int> thread_counts =
        job ? std::vector<int>{thread_count(job, options.threads.empty() ? 0 : options.threads.front())}
            : default_thread_counts(options.threads);
    const std::string isa = options.isas.empty() ? "" : options.isas.front();
    const int load_threads = *std::max_element(thread_counts.begin(), thread_counts.end());
    // A synthetic model is measured as the targets are stated: 2-bit ternary with a Q8_0 head.
    // (A family that computes its own head, HGRN-Bit's ternary one, keeps it.)
    const model::SyntheticShape* shape = model::find_synthetic_shape(options.synthetic);
    const model::Architecture* arch = shape != nullptr ? model::find_gguf_architecture(shape->gguf_arch) : nullptr;
    const bool own_head = arch != nullptr && arch->family == model::ModelFamily::kGatedRecurrent;
    const std::string head = options.head.empty() && !options.synthetic.empty() && !own_head ? "q8_0" : options.head;
    const ModelRequest request = for_this_rank(
        job, {.isa = isa, .threads = load_threads, .head = head == "file" ? "keep" : head, .packing = options.packing,
              .weights = options.weights, .activations = options.activations});
    Result<LoadedModel> loaded = options.model.empty()
                                     ? load_synthetic_model(options.synthetic, options.synthetic_type, request)
                                     : load_model_for_run(options.model, request);
    if (const std::optional<int> done = settle_split(job, loaded, load_threads)) return *done;
    if (!loaded.ok()) return report_failure(str_cat("bench: ", loaded.error().message()));
    engine::ModelBenchOptions bench{.threads = thread_counts, .n_prompt = options.n_prompt,
                                    .n_gen = options.n_gen, .sequences = options.sequences, .depths = options.depths,
                                    .repetitions = options.repetitions, .kv_type = options.kv_type,
                                    .split = model_split_of(job)};
    auto progress = [&](const std::string& test, int threads) {
        if (!options.json) std::fprintf(stderr, "\r%s t=%d ...   ", test.c_str(), threads);
    };
    const engine::ModelBenchReport report =
        engine::run_model_benchmark(loaded.value().model, loaded.value().kernels, bench, progress);
    const size_t ranks = job ? job->split().comm->size() : 1;
    const std::string split_line =
        job ? str_cat("split by ", options.split.kind, " over ", ranks, " ranks, ", thread_counts.front(),
                      " threads each: bytes per token, bandwidth and peak RSS are rank 0's")
            : "";
    if (options.json) {
        nlohmann::json j = engine::model_report_json(loaded.value(), report);
        if (job) j["split"] = {{"kind", options.split.kind}, {"ranks", ranks}};
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::fprintf(stderr, "\r%40s\r", "");
    print_model_report(loaded.value(), report, split_line);
    return 0;
}

}  // namespace

int run_bench(const BenchOptions& options) {
    if (!options.model.empty() || !options.synthetic.empty()) {
        if (options.kernels) return report_failure("bench: --kernels cannot be combined with -m / --synthetic");
        return run_model_bench(options);
    }
    if (!options.kernels)
        return report_failure("bench: nothing to measure; pass -m MODEL, --synthetic SHAPE or --kernels");
    KernelBenchmarkOptions bench{.isas = options.isas, .threads = default_thread_counts(options.threads),
                                 .gemm_tokens = options.gemm_tokens, .head = options.float_head,
                                 .complex = options.complex_kernels, .seconds_per_point = options.seconds_per_point,
                                 .stream_mb = options.stream_mb, .on_point = {}};
    if (!options.json)
        bench.on_point = [](std::string_view point) {
            std::fprintf(stderr, "\r%.*s ...   ", static_cast<int>(point.size()), point.data());
        };
    const Result<std::string> report = benchmark_kernels(bench);
    if (!report.ok()) return report_failure(report.error().message());
    if (options.json) {
        std::printf("%s\n", report.value().c_str());
        return 0;
    }
    const nlohmann::json j = nlohmann::json::parse(report.value());
    std::fprintf(stderr, "\r%60s\r", "");
    std::printf("cpu: %s\nread bandwidth (same run):%s", j["cpu"].get<std::string>().c_str(),
                bandwidth_summary(j["read_bandwidth_gb_per_s"]).c_str());
    std::printf("\n\n");
    print_table(j["points"]);
    return 0;
}

}  // namespace tern::cli
