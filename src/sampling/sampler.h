// Picks the next token from logits with llama.cpp's default chain: logit bias, repetition /
// frequency / presence penalties over the last tokens, then (unless greedy) top-k, typical-p,
// top-p, min-p, temperature and a draw from a seeded generator (splitmix64 -> 53-bit uniform).
// The logits are bit-identical across ISAs and thread counts, and every step here is plain
// scalar code in a fixed order, so a seed gives the same text everywhere.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace tern::sampling {

struct SamplerOptions {
    float temperature = 0.8f;   // <= 0: greedy (after bias and penalties)
    int top_k = 40;             // <= 0: off
    float top_p = 0.95f;        // >= 1: off
    float min_p = 0.05f;        // <= 0: off
    float typical_p = 1.0f;     // >= 1: off
    float repeat_penalty = 1.0f;      // 1: off; > 1 discourages tokens in the window
    float frequency_penalty = 0.0f;   // subtracted once per occurrence in the window
    float presence_penalty = 0.0f;    // subtracted once if present in the window
    int penalty_last_n = 64;          // window size; 0: off
    std::map<int32_t, float> logit_bias = {};   // added to the logit of that token id
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplerOptions& options);
    // `recent` is the sequence so far (its last penalty_last_n tokens are penalised).
    int32_t sample(std::span<const float> logits, std::span<const int32_t> recent = {});

private:
    double next_uniform();   // [0, 1)
    void apply_penalties(std::span<const int32_t> recent);
    size_t truncate(size_t keep);   // top-k / typical / top-p / min-p on sorted candidates_

    SamplerOptions options_;
    uint64_t state_;
    std::vector<float> adjusted_;
    std::vector<std::pair<float, int32_t>> candidates_;
};

}  // namespace tern::sampling
