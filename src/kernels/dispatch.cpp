#include "kernels/dispatch.h"

#include "core/check.h"
#include "core/str_cat.h"

namespace tern::kernels {
namespace {

constexpr KernelTable kScalarTable = {
    .isa = Isa::kScalar,
    .name = "scalar",
    .ternary_layout = quant::TernaryLayout::kCodes,
    .ternary_gemv = ref::ternary_gemv,
    .ternary_gemm = ref::ternary_gemm,
    .float_matmul = ref::float_matmul,
    .q8_matmul = ref::q8_matmul,
    .q4_matmul = ref::q4_matmul,
    .q6_k_matmul = ref::q6_k_matmul,
    .attend = ref::attend,
    .quantize_activations = quant::quantize_activation_rows,
    .complex_gemv = ref::complex_gemv,
    .complex_gemm = ref::complex_gemm,
    .widely_linear_int8_gemv = ref::widely_linear_int8,
    .widely_linear_int8_gemm = ref::widely_linear_int8,
    .widely_linear_float_gemv = ref::widely_linear_float,
    .widely_linear_float_gemm = ref::widely_linear_float,
};

#if defined(__aarch64__)
constexpr KernelTable kNeonDotTable = {
    .isa = Isa::kNeonDot,   // SDOT adds nothing to the float kernels: the plain NEON ones serve
    .name = "neondot",
    .ternary_layout = quant::TernaryLayout::kCodes,
    .ternary_gemv = neondot::ternary_gemv,
    .ternary_gemm = neondot::ternary_gemm,
    .float_matmul = neon::float_matmul,
    .q8_matmul = neondot::q8_matmul,
    .q4_matmul = neondot::q4_matmul,
    .q6_k_matmul = neondot::q6_k_matmul,
    .attend = neon::attend,
    .quantize_activations = neon::quantize_activation_rows,
    .complex_gemv = neondot::complex_gemv,
    .complex_gemm = neondot::complex_gemm,
    .widely_linear_int8_gemv = neondot::widely_linear_int8,
    .widely_linear_int8_gemm = neondot::widely_linear_int8,
    .widely_linear_float_gemv = neon::widely_linear_float,
    .widely_linear_float_gemm = neon::widely_linear_float,
};

// neondot's table with the SMMLA kernels for several tokens (ternary and complex GEMMs, the
// widely-linear int8 kernel): every other kernel is neondot's.
constexpr KernelTable neon_i8mm_table() {
    KernelTable table = kNeonDotTable;
    table.isa = Isa::kNeonI8mm;
    table.name = "neoni8mm";
    table.ternary_gemm = neoni8mm::ternary_gemm;
    table.complex_gemm = neoni8mm::complex_gemm;
    table.widely_linear_int8_gemv = neoni8mm::widely_linear_int8;
    table.widely_linear_int8_gemm = neoni8mm::widely_linear_int8;
    return table;
}
#endif

constexpr KernelTable kTables[] = {
    kScalarTable,
#if defined(__x86_64__)
    {.isa = Isa::kAvx2,
     .name = "avx2",
     .ternary_layout = quant::TernaryLayout::kCodes,
     .ternary_gemv = avx2::ternary_gemv,
     .ternary_gemm = avx2::ternary_gemm,
     .float_matmul = avx2::float_matmul,
     .q8_matmul = avx2::q8_matmul,
     .q4_matmul = avx2::q4_matmul,
     .q6_k_matmul = avx2::q6_k_matmul,
     .attend = avx2::attend,
     .quantize_activations = avx2::quantize_activation_rows,
     .complex_gemv = avx2::complex_gemv,
     .complex_gemm = avx2::complex_gemm,
     .widely_linear_int8_gemv = avx2::widely_linear_int8,
     .widely_linear_int8_gemm = avx2::widely_linear_int8,
     .widely_linear_float_gemv = avx2::widely_linear_float,
     .widely_linear_float_gemm = avx2::widely_linear_float},
    {.isa = Isa::kAvx512,   // multiplication-free ternary and complex kernels
     .name = "avx512",
     .ternary_layout = quant::TernaryLayout::kSignPlanes,
     .ternary_gemv = avx512::ternary_gemv,
     .ternary_gemm = avx512::ternary_gemm,
     .float_matmul = avx512::float_matmul,
     .q8_matmul = avx2::q8_matmul,   // no VNNI guaranteed: the AVX2 pmaddubsw kernel
     .q4_matmul = avx2::q4_matmul,
     .q6_k_matmul = avx2::q6_k_matmul,
     .attend = avx512::attend,
     .quantize_activations = avx512::quantize_activation_rows,
     .complex_gemv = avx512::complex_gemv,
     .complex_gemm = avx512::complex_gemm,
     .widely_linear_int8_gemv = avx512::widely_linear_int8,
     .widely_linear_int8_gemm = avx512::widely_linear_int8,
     .widely_linear_float_gemv = avx512::widely_linear_float,
     .widely_linear_float_gemm = avx512::widely_linear_float},
    {.isa = Isa::kAvx512Vnni,   // VNNI adds nothing to the float kernels: AVX-512 F ones serve
     .name = "avx512vnni",
     .ternary_layout = quant::TernaryLayout::kCodes,
     .ternary_gemv = avx512vnni::ternary_gemv,
     .ternary_gemm = avx512vnni::ternary_gemm,
     .float_matmul = avx512::float_matmul,
     .q8_matmul = avx512vnni::q8_matmul,
     .q4_matmul = avx512vnni::q4_matmul,
     .q6_k_matmul = avx512vnni::q6_k_matmul,
     .attend = avx512::attend,
     .quantize_activations = avx512::quantize_activation_rows,
     .complex_gemv = avx512vnni::complex_gemv,
     .complex_gemm = avx512vnni::complex_gemm,
     .widely_linear_int8_gemv = avx512vnni::widely_linear_int8,
     .widely_linear_int8_gemm = avx512vnni::widely_linear_int8,
     .widely_linear_float_gemv = avx512::widely_linear_float,
     .widely_linear_float_gemm = avx512::widely_linear_float},
#elif defined(__aarch64__)
    {.isa = Isa::kNeon,
     .name = "neon",
     .ternary_layout = quant::TernaryLayout::kCodes,
     .ternary_gemv = neon::ternary_gemv,
     .ternary_gemm = neon::ternary_gemm,
     .float_matmul = neon::float_matmul,
     .q8_matmul = neon::q8_matmul,
     .q4_matmul = neon::q4_matmul,
     .q6_k_matmul = neon::q6_k_matmul,
     .attend = neon::attend,
     .quantize_activations = neon::quantize_activation_rows,
     .complex_gemv = neon::complex_gemv,
     .complex_gemm = neon::complex_gemm,
     .widely_linear_int8_gemv = neon::widely_linear_int8,
     .widely_linear_int8_gemm = neon::widely_linear_int8,
     .widely_linear_float_gemv = neon::widely_linear_float,
     .widely_linear_float_gemm = neon::widely_linear_float},
    kNeonDotTable,
    neon_i8mm_table(),
#endif
};

// The ISA's own table with the ternary kernels swapped for its base-3 ones.
constexpr KernelTable base3_variant(Isa isa, const char* name, TernaryMatmulFn gemv, TernaryMatmulFn gemm) {
    for (const KernelTable& table : kTables) {
        if (table.isa != isa) continue;
        KernelTable variant = table;
        variant.name = name;
        variant.ternary_layout = quant::TernaryLayout::kBase3;
        variant.ternary_gemv = gemv;
        variant.ternary_gemm = gemm;
        return variant;
    }
    return kTables[0];
}

constexpr KernelTable kBase3Tables[] = {
    base3_variant(Isa::kScalar, "scalar+base3", ref::ternary_gemv, ref::ternary_gemm),
#if defined(__x86_64__)
    base3_variant(Isa::kAvx2, "avx2+base3", avx2::ternary_gemv_base3, avx2::ternary_gemm_base3),
    base3_variant(Isa::kAvx512Vnni, "avx512vnni+base3", avx512vnni::ternary_gemv_base3, avx512vnni::ternary_gemm_base3),
#elif defined(__aarch64__)
    base3_variant(Isa::kNeon, "neon+base3", neon::ternary_gemv_base3, neon::ternary_gemm_base3),
    base3_variant(Isa::kNeonDot, "neondot+base3", neondot::ternary_gemv_base3, neondot::ternary_gemm_base3),
    base3_variant(Isa::kNeonI8mm, "neoni8mm+base3", neondot::ternary_gemv_base3, neoni8mm::ternary_gemm_base3),
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

const KernelTable* kernel_table(Isa isa, Packing packing) {
    if (packing == Packing::k2Bit) return &kernel_table(isa);
    for (const KernelTable& table : kBase3Tables)
        if (table.isa == isa) return &table;
    return nullptr;
}

std::vector<const KernelTable*> tables_sharing_layout(const KernelTable& table, const CpuFeatures& cpu) {
    std::vector<const KernelTable*> tables = {&table};
    auto consider = [&](const KernelTable& other) {
        if (&other == &table || other.ternary_layout != table.ternary_layout || !isa_runs_on(other.isa, cpu)) return;
        if (other.isa == Isa::kScalar && table.isa != Isa::kScalar) return;
        tables.push_back(&other);
    };
    for (const KernelTable& other : kTables) consider(other);
    for (const KernelTable& other : kBase3Tables) consider(other);
    return tables;
}

std::vector<const KernelTable*> tables_running_here(const KernelTable& table, const CpuFeatures& cpu) {
    std::vector<const KernelTable*> tables = {&table};
    for (const KernelTable& other : kTables) {
        if (other.isa == table.isa || !isa_runs_on(other.isa, cpu)) continue;
        if (other.isa == Isa::kScalar && table.isa != Isa::kScalar) continue;
        tables.push_back(&other);
    }
    return tables;
}

TernaryMatmulFn amx_ternary_gemm() {
#if defined(__x86_64__)
    return amx::ternary_gemm;
#else
    return nullptr;
#endif
}

Result<Packing> parse_packing(std::string_view name) {
    if (name == "2bit") return Packing::k2Bit;
    if (name == "base3") return Packing::kBase3;
    return Error(str_cat("'", name, "' is not a packing (2bit or base3)"));
}

}  // namespace tern::kernels
