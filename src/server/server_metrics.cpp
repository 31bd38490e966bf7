#include "server/server_metrics.h"

#include <cstdio>

#include "core/str_cat.h"

namespace tern::server {
namespace {

std::string_view endpoint_label(std::string_view path) {
    static constexpr std::string_view kKnown[] = {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health",
                                                  "/tokenize",           "/detokenize",     "/metrics",   "/"};
    for (std::string_view known : kKnown)
        if (path == known) return known;
    if (path.starts_with("/v1/models/")) return "/v1/models/{id}";
    if (path.starts_with("/webui/")) return "/webui/*";
    return "other";
}

std::string number(double v) {
    char out[32];
    std::snprintf(out, sizeof out, "%.6g", v);
    return out;
}

void metric_header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += str_cat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

void LatencyHistogram::observe(double seconds) {
    // The total first: a scrape between the two never sees a bucket above +Inf.
    ++count_;
    for (size_t i = 0; i < kBounds.size(); ++i)
        if (seconds <= kBounds[i]) ++counts_[i];
    sum_microseconds_ += static_cast<uint64_t>(seconds * 1e6 + 0.5);
}

void LatencyHistogram::render(std::string& out, std::string_view name, std::string_view help) const {
    metric_header(out, name, "histogram", help);
    for (size_t i = 0; i < kBounds.size(); ++i)
        out += str_cat(name, "_bucket{le=\"", number(kBounds[i]), "\"} ", counts_[i].load(), "\n");
    out += str_cat(name, "_bucket{le=\"+Inf\"} ", count_.load(), "\n");
    out += str_cat(name, "_sum ", number(static_cast<double>(sum_microseconds_.load()) / 1e6), "\n");
    out += str_cat(name, "_count ", count_.load(), "\n");
}

void ServerMetrics::count_request(std::string_view path, int status) {
    std::lock_guard lock(mutex_);
    ++requests_[{std::string(endpoint_label(path)), status}];
}

std::string ServerMetrics::prometheus_text(const ServingGauges& gauges) const {
    std::string out;
    metric_header(out, "tern_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, count] : requests_)
            out += str_cat("tern_requests_total{endpoint=\"", key.first, "\",status=\"", key.second, "\"} ", count, "\n");
    }
    metric_header(out, "tern_prompt_tokens_total", "counter", "Prompt tokens of admitted completion requests.");
    out += str_cat("tern_prompt_tokens_total ", prompt_tokens_.load(), "\n");
    metric_header(out, "tern_completion_tokens_total", "counter", "Tokens generated.");
    out += str_cat("tern_completion_tokens_total ", completion_tokens_.load(), "\n");
    metric_header(out, "tern_draft_tokens_checked_total", "counter",
                  "Speculative decoding: guessed tokens checked against the model.");
    out += str_cat("tern_draft_tokens_checked_total ", guesses_checked_.load(), "\n");
    metric_header(out, "tern_draft_tokens_accepted_total", "counter", "Speculative decoding: guessed tokens that held.");
    out += str_cat("tern_draft_tokens_accepted_total ", guesses_held_.load(), "\n");
    time_to_first_token_.render(out, "tern_time_to_first_token_seconds",
                                "From a request's arrival at the scheduler to its first generated token.");
    time_between_tokens_.render(out, "tern_time_between_tokens_seconds", "Between consecutive tokens of a request.");
    auto gauge = [&](std::string_view name, std::string_view help, size_t value) {
        metric_header(out, name, "gauge", help);
        out += str_cat(name, " ", value, "\n");
    };
    gauge("tern_slots_total", "KV cache slots (requests that can generate at once).", gauges.slots_total);
    gauge("tern_slots_busy", "Slots generating now.", gauges.slots_busy);
    gauge("tern_requests_queued", "Requests waiting for a slot.", gauges.requests_queued);
    gauge("tern_kv_cells_used", "KV cache positions holding tokens, all slots.", gauges.kv_cells_used);
    gauge("tern_kv_cells_total", "KV cache positions, all slots.", gauges.kv_cells_total);
    return out;
}

}  // namespace tern::server
