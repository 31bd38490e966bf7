#include "quant/abs_max.h"

#include <algorithm>
#include <cmath>

namespace tern::quant {

// Sixteen independent running maxima let this vectorise; one chain would wait on each max's
// latency.
float abs_max(const float* x, size_t n) {
    constexpr size_t kLanes = 16;
    float lane_max[kLanes] = {};
    size_t k = 0;
    for (; k + kLanes <= n; k += kLanes)
        for (size_t l = 0; l < kLanes; ++l) lane_max[l] = std::max(lane_max[l], std::fabs(x[k + l]));
    for (; k < n; ++k) lane_max[0] = std::max(lane_max[0], std::fabs(x[k]));
    float amax = 0.0f;
    for (const float m : lane_max) amax = std::max(amax, m);
    return amax;
}

}  // namespace tern::quant
