// What `GET /metrics` reports, in Prometheus's text format: requests by endpoint and status,
// prompt and completion tokens, speculative guesses checked and held, histograms of time to
// first token and of the time between tokens, and (read at scrape time) slots busy, requests
// queued and KV cells used.
// Thread-safe: HTTP threads count requests, the scheduler thread counts tokens.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace tern::server {

// Cumulative buckets in seconds, as Prometheus histograms are.
class LatencyHistogram {
public:
    static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,   0.25,   0.5,   1.0,  2.5,   10.0};
    void observe(double seconds);
    void render(std::string& out, std::string_view name, std::string_view help) const;

private:
    std::array<std::atomic<uint64_t>, kBounds.size()> counts_{};
    std::atomic<uint64_t> count_{0};
    std::atomic<uint64_t> sum_microseconds_{0};
};

struct ServingGauges {
    size_t slots_total = 0;
    size_t slots_busy = 0;
    size_t requests_queued = 0;
    size_t kv_cells_used = 0;
    size_t kv_cells_total = 0;
};

class ServerMetrics {
public:
    // `path` is folded to the known endpoints (anything else counts as "other"), so a client
    // cannot grow the label set.
    void count_request(std::string_view path, int status);
    void count_prompt_tokens(size_t n) { prompt_tokens_ += n; }
    void count_completion_token() { ++completion_tokens_; }
    // Speculative decoding: guesses checked in a step, and how many of them held.
    void count_guesses(size_t checked, size_t held) {
        guesses_checked_ += checked;
        guesses_held_ += held;
    }
    void observe_time_to_first_token(std::chrono::duration<double> t) { time_to_first_token_.observe(t.count()); }
    void observe_time_between_tokens(std::chrono::duration<double> t) { time_between_tokens_.observe(t.count()); }

    std::string prometheus_text(const ServingGauges& gauges) const;

private:
    mutable std::mutex mutex_;   // guards requests_
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::atomic<uint64_t> prompt_tokens_{0};
    std::atomic<uint64_t> completion_tokens_{0};
    std::atomic<uint64_t> guesses_checked_{0};
    std::atomic<uint64_t> guesses_held_{0};
    LatencyHistogram time_to_first_token_;
    LatencyHistogram time_between_tokens_;
};

}  // namespace tern::server
