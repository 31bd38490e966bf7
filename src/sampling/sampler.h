// Picks the next token from logits. Greedy when temperature <= 0; otherwise llama.cpp's
// default chain: top-k, top-p, min-p, temperature, then a draw from a seeded generator
// (splitmix64 -> 53-bit uniform), so a seed gives the same text on every machine, ISA and
// thread count (the logits themselves are bit-identical across those).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tern::sampling {

struct SamplerOptions {
    float temperature = 0.8f;
    int top_k = 40;          // <= 0: off
    float top_p = 0.95f;     // >= 1: off
    float min_p = 0.05f;     // <= 0: off
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplerOptions& options);
    int32_t sample(std::span<const float> logits);

private:
    double next_uniform();   // [0, 1)

    SamplerOptions options_;
    uint64_t state_;
    std::vector<std::pair<float, int32_t>> candidates_;
};

}  // namespace tern::sampling
