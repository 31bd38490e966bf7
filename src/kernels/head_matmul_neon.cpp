// Head kernels (Q8_0, Q4_0, Q6_K) for plain ARMv8 Advanced SIMD (every AArch64 CPU): widening multiplies.
#include <arm_neon.h>

#include <cstdint>
#include <type_traits>

#include "core/float16.h"
#include "kernels/head_matmul.h"

#define TERN_NEON_SDOT 0
namespace tern::kernels::neon {
#include "kernels/head_matmul_neon_body.inc"
}  // namespace tern::kernels::neon
