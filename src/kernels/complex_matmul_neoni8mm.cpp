// Complex {±1, ±i} GEMM for ARMv8 with the int8 matrix multiply extension (SMMLA; built with
// +i8mm, dispatched only when the CPU reports i8mm): one instruction forms all four sums of a
// row's 8 columns against a token. It defines no GEMV: neondot's serves.
#include <arm_neon.h>

#include <cstdint>

#include "kernels/complex_matmul.h"
#include "kernels/kernel_scratch.h"

#define TERN_NEON_SDOT 1
#define TERN_NEON_I8MM 1
namespace tern::kernels::neoni8mm {
#include "kernels/neon_int8_dot.inc"
#include "kernels/neon_complex_units.inc"
#include "kernels/complex_matmul_neon_body.inc"
}  // namespace tern::kernels::neoni8mm
