// Fairy2i's widely-linear int8 kernel for ARMv8.2 with the dot-product extension (SDOT; built
// with +dotprod, dispatched only when the CPU reports asimddp). The float path has no integer
// product: widely_linear_matmul_neon.cpp's serves both tables.
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

#include "kernels/kernel_scratch.h"
#include "kernels/widely_linear_matmul.h"

#define TERN_NEON_SDOT 1
namespace tern::kernels::neondot {
#include "kernels/neon_int8_dot.inc"
#include "kernels/neon_complex_units.inc"
#include "kernels/widely_linear_matmul_neon_body.inc"
}  // namespace tern::kernels::neondot
