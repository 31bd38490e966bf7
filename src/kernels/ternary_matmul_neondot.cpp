// Ternary GEMV/GEMM for ARMv8.2 with the dot-product extension (SDOT; built with +dotprod,
// dispatched only when the CPU reports asimddp).
#include <arm_neon.h>

#include <cstdint>

#include "kernels/kernel_scratch.h"
#include "kernels/ternary_matmul.h"

#define TERN_NEON_SDOT 1
#define TERN_NEON_I8MM 0
namespace tern::kernels::neondot {
#include "kernels/neon_int8_dot.inc"
#include "kernels/ternary_matmul_neon_body.inc"
}  // namespace tern::kernels::neondot
