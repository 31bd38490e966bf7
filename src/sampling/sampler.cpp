#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace tern::sampling {
namespace {

// Softmax weights of sorted candidates (largest first), relative to the first.
std::vector<double> softmax_weights(const std::vector<std::pair<float, int32_t>>& c, size_t n, double temperature) {
    std::vector<double> w(n);
    for (size_t i = 0; i < n; ++i) w[i] = std::exp(static_cast<double>(c[i].first - c[0].first) / temperature);
    return w;
}

}  // namespace

Sampler::Sampler(const SamplerOptions& options) : options_(options), state_(options.seed) {}

double Sampler::next_uniform() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1p-53;
}

void Sampler::apply_penalties(std::span<const int32_t> recent) {
    const bool any = options_.repeat_penalty != 1.0f || options_.frequency_penalty != 0.0f ||
                     options_.presence_penalty != 0.0f;
    if (!any || options_.penalty_last_n <= 0 || recent.empty()) return;
    const size_t window = std::min(recent.size(), static_cast<size_t>(options_.penalty_last_n));
    std::unordered_map<int32_t, int> counts;
    for (int32_t id : recent.last(window))
        if (id >= 0 && static_cast<size_t>(id) < adjusted_.size()) ++counts[id];
    for (const auto& [id, count] : counts) {
        float& l = adjusted_[id];
        l = l > 0 ? l / options_.repeat_penalty : l * options_.repeat_penalty;
        l -= static_cast<float>(count) * options_.frequency_penalty + options_.presence_penalty;
    }
}

size_t Sampler::truncate(size_t keep) {
    if (options_.typical_p < 1.0f && keep > 1) {
        // Locally typical sampling: keep the tokens whose surprise is closest to the entropy.
        const std::vector<double> w = softmax_weights(candidates_, keep, 1.0);
        double sum = 0;
        for (double x : w) sum += x;
        double entropy = 0;
        for (double x : w) entropy -= x / sum > 0 ? x / sum * std::log(x / sum) : 0.0;
        std::vector<std::pair<double, size_t>> shift(keep);
        for (size_t i = 0; i < keep; ++i) shift[i] = {std::fabs(-std::log(w[i] / sum) - entropy), i};
        std::stable_sort(shift.begin(), shift.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        double cumulative = 0;
        size_t n = 0;
        std::vector<std::pair<float, int32_t>> kept;
        for (; n < keep; ++n) {
            kept.push_back(candidates_[shift[n].second]);
            cumulative += w[shift[n].second] / sum;
            if (cumulative >= options_.typical_p) break;
        }
        std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
            return a.first > b.first || (a.first == b.first && a.second < b.second);
        });
        std::copy(kept.begin(), kept.end(), candidates_.begin());
        keep = kept.size();
    }
    const std::vector<double> p = softmax_weights(candidates_, keep, 1.0);
    double sum = 0;
    for (double x : p) sum += x;
    if (options_.top_p < 1.0f) {
        double cumulative = 0;
        for (size_t i = 0; i < keep; ++i) {
            cumulative += p[i] / sum;
            if (cumulative >= options_.top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    if (options_.min_p > 0.0f)
        while (keep > 1 && p[keep - 1] < options_.min_p * p[0]) --keep;
    return keep;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> recent) {
    adjusted_.assign(logits.begin(), logits.end());
    for (const auto& [id, bias] : options_.logit_bias)
        if (id >= 0 && static_cast<size_t>(id) < adjusted_.size()) adjusted_[id] += bias;
    apply_penalties(recent);
    if (options_.temperature <= 0.0f)
        return static_cast<int32_t>(std::max_element(adjusted_.begin(), adjusted_.end()) - adjusted_.begin());

    candidates_.clear();
    for (size_t i = 0; i < adjusted_.size(); ++i) candidates_.emplace_back(adjusted_[i], static_cast<int32_t>(i));
    // Highest logit first; ties by id, so the order never depends on the sort algorithm.
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    size_t keep = candidates_.size();
    if (options_.top_k > 0) keep = std::min(keep, static_cast<size_t>(options_.top_k));
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
    keep = truncate(keep);

    const std::vector<double> w = softmax_weights(candidates_, keep, options_.temperature);
    double total = 0;
    for (double x : w) total += x;
    double r = next_uniform() * total;
    for (size_t i = 0; i < keep; ++i) {
        if (r < w[i]) return candidates_[i].second;
        r -= w[i];
    }
    return candidates_[keep - 1].second;
}

}  // namespace tern::sampling
