// Fairy2i's widely-linear int8 kernel for ARMv8 with the int8 matrix multiply extension (SMMLA;
// built with +i8mm, dispatched only when the CPU reports i8mm): for several tokens one
// instruction forms all four sums of a matrix's 8 columns against a token; one token streams
// the codes with SDOT as neondot's kernel does.
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

#include "kernels/kernel_scratch.h"
#include "kernels/widely_linear_matmul.h"

#define TERN_NEON_SDOT 1
#define TERN_NEON_I8MM 1
namespace tern::kernels::neoni8mm {
#include "kernels/neon_int8_dot.inc"
#include "kernels/neon_complex_units.inc"
#include "kernels/widely_linear_matmul_neon_body.inc"
}  // namespace tern::kernels::neoni8mm
