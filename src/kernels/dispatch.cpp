#include "kernels/dispatch.h"

#include "core/check.h"

namespace tern::kernels {
namespace {

constexpr KernelTable kTables[] = {
    {.isa = Isa::kScalar,
     .ternary_layout = quant::TernaryLayout::kCodes,
     .ternary_gemv = ref::ternary_gemv,
     .ternary_gemm = ref::ternary_gemm,
     .float_matmul = ref::float_matmul,
     .q8_matmul = ref::q8_matmul,
     .attend = ref::attend},
#if defined(__x86_64__)
    {.isa = Isa::kAvx2,
     .ternary_layout = quant::TernaryLayout::kCodes,
     .ternary_gemv = avx2::ternary_gemv,
     .ternary_gemm = avx2::ternary_gemm,
     .float_matmul = avx2::float_matmul,
     .q8_matmul = avx2::q8_matmul,
     .attend = avx2::attend},
    {.isa = Isa::kAvx512,
     .ternary_layout = quant::TernaryLayout::kSignPlanes,
     .ternary_gemv = avx512::ternary_gemv,
     .ternary_gemm = avx512::ternary_gemm,
     .float_matmul = avx512::float_matmul,
     .q8_matmul = avx2::q8_matmul,   // no VNNI guaranteed: the AVX2 pmaddubsw kernel
     .attend = avx512::attend},
    {.isa = Isa::kAvx512Vnni,   // VNNI adds nothing to the float kernels: AVX-512 F ones serve
     .ternary_layout = quant::TernaryLayout::kCodes,
     .ternary_gemv = avx512vnni::ternary_gemv,
     .ternary_gemm = avx512vnni::ternary_gemm,
     .float_matmul = avx512::float_matmul,
     .q8_matmul = avx512vnni::q8_matmul,
     .attend = avx512::attend},
#endif
};

}  // namespace

const KernelTable& kernel_table(Isa isa) {
    for (const KernelTable& table : kTables) {
        if (table.isa == isa) return table;
    }
    TERN_CHECK(!"kernel table requested for an ISA that is not compiled in");
    return kTables[0];
}

}  // namespace tern::kernels
