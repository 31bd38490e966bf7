// Complex {±1, ±i} GEMV/GEMM for plain ARMv8 Advanced SIMD (every AArch64 CPU): widening multiplies.
#include <arm_neon.h>

#include <cstdint>

#include "kernels/complex_matmul.h"
#include "kernels/kernel_scratch.h"

#define TERN_NEON_SDOT 0
namespace tern::kernels::neon {
#include "kernels/neon_int8_dot.inc"
#include "kernels/neon_complex_units.inc"
#include "kernels/complex_matmul_neon_body.inc"
}  // namespace tern::kernels::neon
