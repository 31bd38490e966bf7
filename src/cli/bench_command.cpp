// `tern bench --kernels`: times every ternary kernel on the BitNet b1.58 2B4T projection
// shapes (GEMV for decode, GEMM for prefill) and reports GB/s of weights streamed as a fraction
// of the read bandwidth measured in the same run, through the public API (tern::benchmark_kernels);
// `tern bench -m / --synthetic` times a whole model.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/library_model.h"
#include "core/str_cat.h"
#include "model/synthetic_model.h"
#include "tern/system.h"

namespace tern::cli {
namespace {

// " 45.1 GB/s with 1 thread (4 streams; passes 44.0-46.2);" per thread count, from the
// reports' "read_bandwidth_gb_per_s".
std::string bandwidth_summary(const nlohmann::json& measured) {
    if (measured.empty()) return " not measured (no decode test)";
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

// `tern bench -m`'s tables, from tern::Model::benchmark's report.
void print_model_report(const nlohmann::json& j, const std::string& split_line) {
    std::printf("model: %s\ncpu: %s\nread bandwidth (same run):%s", j["description"].get<std::string>().c_str(),
                j["cpu"].get<std::string>().c_str(), bandwidth_summary(j["read_bandwidth_gb_per_s"]).c_str());
    if (!split_line.empty()) std::printf("\n%s", split_line.c_str());
    std::printf("\n\n| %-13s | %7s | %-18s | %11s | %9s | %8s |\n", "test", "threads", "t/s", "bytes/token", "GB/s", "% of bw");
    std::printf("|---------------|---------|--------------------|-------------|-----------|----------|\n");
    for (const nlohmann::json& r : j["results"]) {
        const std::string speed = str_cat(static_cast<long>(r["tokens_per_s"].get<double>() * 100) / 100.0, " ± ",
                                          static_cast<long>(r["stddev"].get<double>() * 100) / 100.0);
        const std::string test = r["test"].get<std::string>();
        if (r["bytes_per_token"].get<double>() > 0)
            std::printf("| %-13s | %7d | %-18s | %8.1f MB | %9.1f | %7.0f%% |\n", test.c_str(), r["threads"].get<int>(),
                        speed.c_str(), r["bytes_per_token"].get<double>() / 1e6, r["gb_per_s"].get<double>(),
                        100 * r["bandwidth_fraction"].get<double>());
        else
            std::printf("| %-13s | %7d | %-18s | %11s | %9s | %8s |\n", test.c_str(), r["threads"].get<int>(), speed.c_str(),
                        "", "", "");
    }
    for (const nlohmann::json& r : j["results"])
        if (r["bytes_per_token"].get<double>() > 0)
            std::printf("\n%s bytes/token: projections %.1f MB + head %.1f MB + %s %.1f MB", r["test"].get<std::string>().c_str(),
                        r["projection_bytes_per_token"].get<double>() / 1e6, r["head_bytes_per_token"].get<double>() / 1e6,
                        j["recurrent"].get<bool>() ? "state" : "KV cache", r["kv_bytes_per_token"].get<double>() / 1e6);
    std::printf("\n\npeak RSS %.1f MB; KV cache %s; model loaded in %.2f s\n", j["peak_rss_bytes"].get<double>() / 1e6,
                j["kv_type"].get<std::string>().c_str(), j["load_seconds"].get<double>());
}

// A synthetic model is measured as the targets are stated: 2-bit ternary with a Q8_0 head.
// (A family that computes its own head, HGRN-Bit's ternary one, keeps it.)
std::string head_to_measure(const BenchOptions& options) {
    if (!options.head.empty()) return options.head == "file" ? "keep" : options.head;
    if (options.synthetic.empty()) return "";
    const model::SyntheticShape* shape = model::find_synthetic_shape(options.synthetic);
    const model::Architecture* arch = shape != nullptr ? model::find_gguf_architecture(shape->gguf_arch) : nullptr;
    const bool own_head = arch != nullptr && arch->family == model::ModelFamily::kGatedRecurrent;
    return own_head ? "" : "q8_0";
}

int run_model_bench(const BenchOptions& options) {
    if (!options.model.empty() && !options.synthetic.empty())
        return report_failure("bench: give -m MODEL or --synthetic SHAPE, not both");
    if (options.isas.size() > 1) return report_failure("bench: a model benchmark takes one --isa");
    if (!options.split.kind.empty() && options.threads.size() > 1)
        return report_failure("bench: under --split each rank keeps one thread count for the whole run: give -t N");
    const std::vector<int> thread_counts = options.split.kind.empty() ? default_thread_counts(options.threads)
                                                                      : options.threads;
    LoadOptions load;
    load.threads = thread_counts.empty() ? 0 : *std::max_element(thread_counts.begin(), thread_counts.end());
    load.isa = options.isas.empty() ? "" : options.isas.front();
    load.head = head_to_measure(options);
    copy_model_flags(options, load);
    Result<Model> loaded = options.model.empty() ? Model::synthetic(options.synthetic, options.synthetic_type, load)
                                                 : load_for_command(options.model, load);
    if (!loaded.ok()) return report_failure(str_cat("bench: ", loaded.error().message()));
    const Model& model = loaded.value();
    if (model.info().rank > 0) return follow_rank_zero(model);
    for (const std::string& warning : options.model.empty() ? model.info().warnings : std::vector<std::string>{})
        std::fprintf(stderr, "tern: warning: %s\n", warning.c_str());
    BenchmarkOptions bench{.prompt_tokens = options.n_prompt, .generate_tokens = options.n_gen,
                           .threads = options.split.kind.empty() ? thread_counts : std::vector<int>{},
                           .repetitions = options.repetitions, .sequences = options.sequences,
                           .depths = options.depths, .on_test = {}};
    if (!options.json)
        bench.on_test = [](std::string_view test, int threads) {
            std::fprintf(stderr, "\r%.*s t=%d ...   ", static_cast<int>(test.size()), test.data(), threads);
        };
    const Result<std::string> report = model.benchmark(bench);
    if (!report.ok()) return report_failure(report.error().message());
    if (options.json) {
        std::printf("%s\n", report.value().c_str());
        return 0;
    }
    const nlohmann::json j = nlohmann::json::parse(report.value());
    const std::string split_line =
        model.info().ranks > 1 || !options.split.kind.empty()
            ? str_cat("split by ", options.split.kind, " over ", model.info().ranks, " ranks, ", model.info().threads,
                      " threads each: bytes per token, bandwidth and peak RSS are rank 0's")
            : "";
    std::fprintf(stderr, "\r%40s\r", "");
    print_model_report(j, split_line);
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
