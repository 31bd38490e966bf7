#include "engine/benchmark_json.h"

#include <string>

#include "core/cpu_info.h"

namespace tern::engine {

nlohmann::json bandwidth_json(const BandwidthResult& bw) {
    return {{"threads", bw.threads}, {"gb_per_s", bw.gb_per_s}, {"min_gb_per_s", bw.min_gb_per_s},
            {"max_gb_per_s", bw.max_gb_per_s}, {"method", std::string(bw.method)}, {"passes", bw.passes}};
}

nlohmann::json autotune_json(const AutotuneReport& report) {
    auto timings = [](const std::vector<KernelTiming>& list) {
        nlohmann::json out = nlohmann::json::array();
        for (const KernelTiming& t : list) out.push_back({{"kernels", t.kernels}, {"seconds", t.seconds}});
        return out;
    };
    return {{"threads", report.threads}, {"seconds", report.seconds},
            {"gemv", report.gemv_choice}, {"gemm", report.gemm_choice},
            {"gemv_timings", timings(report.gemv)}, {"gemm_timings", timings(report.gemm)}};
}

nlohmann::json model_report_json(const LoadedModel& lm, const ModelBenchReport& report) {
    nlohmann::json j;
    j["model"] = lm.model.source;
    j["architecture"] = lm.model.arch->name;
    j["description"] = describe(lm);
    j["recurrent"] = lm.model.recurrent();
    j["ternary_type"] = lm.model.ternary_type;
    j["isa"] = kernels::isa_name(lm.kernels.isa);
    j["kernels"] = lm.kernels.name;
    if (!lm.autotune.gemv.empty()) j["autotune"] = autotune_json(lm.autotune);
    j["cpu"] = detect_cpu_info().model_name;
    j["peak_rss_bytes"] = report.peak_rss_bytes;
    j["kv_type"] = kernels::kv_type_name(report.kv_type);
    j["load_seconds"] = lm.load_seconds;
    j["read_bandwidth_gb_per_s"] = nlohmann::json::array();   // empty when no decode test asked for it (-n 0)
    for (const BandwidthResult& bw : report.read_bandwidth) j["read_bandwidth_gb_per_s"].push_back(bandwidth_json(bw));
    j["results"] = nlohmann::json::array();
    for (const auto& r : report.results)
        j["results"].push_back({{"test", r.test}, {"threads", r.threads}, {"sequences", r.sequences}, {"depth", r.depth},
                                {"tokens_per_s", r.tokens_per_s},
                                {"stddev", r.stddev}, {"bytes_per_token", r.bytes_per_token},
                                {"projection_bytes_per_token", r.projection_bytes_per_token},
                                {"head_bytes_per_token", r.head_bytes_per_token},
                                {"kv_bytes_per_token", r.kv_bytes_per_token},
                                {"gb_per_s", r.gb_per_s}, {"bandwidth_fraction", r.bandwidth_fraction}});
    return j;
}

nlohmann::json kernel_report_json(const KernelBenchReport& report) {
    nlohmann::json j;
    j["cpu"] = detect_cpu_info().model_name;
    j["read_bandwidth_gb_per_s"] = nlohmann::json::array();
    for (const BandwidthResult& bw : report.read_bandwidth) j["read_bandwidth_gb_per_s"].push_back(bandwidth_json(bw));
    j["points"] = nlohmann::json::array();
    for (const auto& p : report.points) {
        j["points"].push_back({{"op", p.op}, {"isa", kernels::isa_name(p.isa)}, {"kernels", p.kernels}, {"shape", p.shape.name},
                               {"rows", p.shape.rows}, {"cols", p.shape.cols}, {"threads", p.threads},
                               {"tokens", p.tokens}, {"seconds", p.seconds}, {"weight_bytes", p.weight_bytes},
                               {"gb_per_s", p.gb_per_s}, {"bandwidth_fraction", p.bandwidth_fraction},
                               {"seconds_per_token", p.seconds_per_token}});
    }
    return j;
}

}  // namespace tern::engine
