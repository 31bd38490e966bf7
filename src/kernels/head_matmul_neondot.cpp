// Head kernels (Q8_0, Q4_0, Q6_K) for ARMv8.2 with the dot-product extension (SDOT; built with +dotprod,
// dispatched only when the CPU reports asimddp).
#include <arm_neon.h>

#include <cstdint>
#include <type_traits>

#include "core/float16.h"
#include "kernels/head_matmul.h"

#define TERN_NEON_SDOT 1
namespace tern::kernels::neondot {
#include "kernels/head_matmul_neon_body.inc"
}  // namespace tern::kernels::neondot
