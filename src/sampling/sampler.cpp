#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>

namespace tern::sampling {

Sampler::Sampler(const SamplerOptions& options) : options_(options), state_(options.seed) {}

double Sampler::next_uniform() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1p-53;
}

int32_t Sampler::sample(std::span<const float> logits) {
    if (options_.temperature <= 0.0f)
        return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    candidates_.clear();
    for (size_t i = 0; i < logits.size(); ++i) candidates_.emplace_back(logits[i], static_cast<int32_t>(i));
    // Highest logit first; ties by id, so the order never depends on the sort algorithm.
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    size_t keep = candidates_.size();
    if (options_.top_k > 0) keep = std::min(keep, static_cast<size_t>(options_.top_k));
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
    candidates_.resize(keep);

    // Softmax at temperature 1 for the top-p / min-p cuts (as llama.cpp's chain does).
    std::vector<double> p(keep);
    double sum = 0;
    for (size_t i = 0; i < keep; ++i) sum += (p[i] = std::exp(static_cast<double>(candidates_[i].first - candidates_[0].first)));
    size_t cut = keep;
    if (options_.top_p < 1.0f) {
        double cumulative = 0;
        for (size_t i = 0; i < keep; ++i) {
            cumulative += p[i] / sum;
            if (cumulative >= options_.top_p) {
                cut = i + 1;
                break;
            }
        }
    }
    if (options_.min_p > 0.0f)
        while (cut > 1 && p[cut - 1] < options_.min_p * p[0]) --cut;

    double total = 0;
    std::vector<double> w(cut);
    for (size_t i = 0; i < cut; ++i)
        total += (w[i] = std::exp(static_cast<double>(candidates_[i].first - candidates_[0].first) / options_.temperature));
    double r = next_uniform() * total;
    for (size_t i = 0; i < cut; ++i) {
        if (r < w[i]) return candidates_[i].second;
        r -= w[i];
    }
    return candidates_[cut - 1].second;
}

}  // namespace tern::sampling
