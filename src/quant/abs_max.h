// The largest magnitude in a run of floats: the scale of every absmax quantiser (int8
// activations, Q8_0 blocks, the ternary formats).
#pragma once

#include <cstddef>

namespace tern::quant {

// max |x[k]| over the non-NaN values of x[0..n) (NaN is skipped, as std::fmax skips it), 0 for
// none. Max is exact, so the result does not depend on the order it is taken in.
float abs_max(const float* x, size_t n);

}  // namespace tern::quant
