// Int8 activations of normally distributed floats, for timing kernels (tern bench --kernels,
// load-time autotuning): realistic magnitudes, reproducible from the seed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/int8_activations.h"

namespace tern::engine {

quant::Int8Activations random_activations(size_t n_tokens, size_t cols, uint32_t seed, size_t column_granule);

}  // namespace tern::engine
