// Ternary GEMV/GEMM for plain ARMv8 Advanced SIMD (every AArch64 CPU): widening multiplies.
#include <arm_neon.h>

#include <cstdint>

#include "kernels/kernel_scratch.h"
#include "kernels/ternary_matmul.h"

#define TERN_NEON_SDOT 0
#define TERN_NEON_I8MM 0
namespace tern::kernels::neon {
#include "kernels/neon_int8_dot.inc"
#include "kernels/ternary_matmul_neon_body.inc"
}  // namespace tern::kernels::neon
