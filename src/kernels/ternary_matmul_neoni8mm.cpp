// Ternary GEMM for ARMv8 with the int8 matrix multiply extension (SMMLA; built with +i8mm,
// dispatched only when the CPU reports i8mm): a 2 x 8 by 8 x 2 product per instruction, twice
// the multiply-adds of SDOT. It defines no GEMV: neondot's serves (one token has no second
// column for the matrix product).
#include <arm_neon.h>

#include <cstdint>

#include "kernels/kernel_scratch.h"
#include "kernels/ternary_matmul.h"

#define TERN_NEON_SDOT 1
#define TERN_NEON_I8MM 1
namespace tern::kernels::neoni8mm {
#include "kernels/neon_int8_dot.inc"
#include "kernels/ternary_matmul_neon_body.inc"
}  // namespace tern::kernels::neoni8mm
