#include "engine/random_activations.h"

#include <random>
#include <vector>

namespace tern::engine {

quant::Int8Activations random_activations(size_t n_tokens, size_t cols, uint32_t seed, size_t column_granule) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(n_tokens * cols);
    for (float& v : x) v = dist(rng);
    quant::Int8Activations acts;
    quant::quantize_activations(x.data(), n_tokens, cols, cols, acts, column_granule);
    return acts;
}

}  // namespace tern::engine
