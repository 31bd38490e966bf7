// One table of kernel entry points per ISA. The engine picks a table once (choose_isa) and
// keeps a reference; nothing here is mutable or global.
#pragma once

#include "kernels/activation_quant.h"
#include "kernels/attention.h"
#include "kernels/complex_matmul.h"
#include "kernels/float_matmul.h"
#include "kernels/isa.h"
#include "kernels/head_matmul.h"
#include "kernels/ternary_matmul.h"
#include "kernels/widely_linear_matmul.h"
#include "tern/status.h"

#include <string_view>
#include <vector>

namespace tern::kernels {

// How ternary weights are stored in memory: 2 bits per weight (each ISA's own 2-bit layout),
// or five per byte in base 3 (1.6 bits; kernels for scalar, AVX2 and AVX-512 VNNI).
enum class Packing { k2Bit, kBase3 };

struct KernelTable {
    Isa isa;
    const char* name;                      // "avx512vnni", "avx512vnni+base3", ... for reports
    quant::TernaryLayout ternary_layout;   // the layout ternary_gemv/gemm read
    TernaryMatmulFn ternary_gemv;   // tuned for one token
    TernaryMatmulFn ternary_gemm;   // tuned for many tokens
    FloatMatmulFn float_matmul;     // F32/F16/BF16 rows (LM head, tied embedding)
    Q8MatmulFn q8_matmul;           // Q8_0 rows x Q8_0 activations (--head q8_0)
    Q4MatmulFn q4_matmul;           // Q4_0 rows x Q8_0 activations (--head q4_0)
    Q6KMatmulFn q6_k_matmul;        // Q6_K rows x Q8_0 activations (--head q6_k)
    AttendFn attend;                // one query head over the KV cache
    QuantizeActivationsFn quantize_activations;   // float rows to per-token int8
    ComplexMatmulFn complex_gemv;   // complex {±1, ±i} weights (iFairy), tuned for one token
    ComplexMatmulFn complex_gemm;   // the same for many tokens
    // Fairy2i projections (one kernel per path serves any token count in every table; the
    // gemv/gemm pair lets load-time autotuning pick per case, as for the complex kernels).
    WidelyLinearInt8Fn widely_linear_int8_gemv;     // int8 activations, one token
    WidelyLinearInt8Fn widely_linear_int8_gemm;     // the same for many tokens
    WidelyLinearFloatFn widely_linear_float_gemv;   // float activations, one token
    WidelyLinearFloatFn widely_linear_float_gemm;   // the same for many tokens
    // Set at load only where AMX runs (engine/amx_prefill.h): the ternary GEMM for calls of
    // kWideGemmTokens tokens or more (prompts), in place of ternary_gemm.
    TernaryMatmulFn ternary_gemm_wide = nullptr;
};

inline constexpr size_t kWideGemmTokens = 32;

// Precondition: `isa` is compiled in (isa_runs_on says whether this CPU can run it).
const KernelTable& kernel_table(Isa isa);   // 2-bit packing
// nullptr when `isa` has no kernels for that packing.
const KernelTable* kernel_table(Isa isa, Packing packing);
// The SIMD tables this CPU runs whose ternary kernels read `table`'s layout, `table` first;
// any of their GEMV/GEMM kernels can stand in for `table`'s (engine/kernel_autotune.h).
// The scalar reference only when `table` is scalar.
std::vector<const KernelTable*> tables_sharing_layout(const KernelTable& table, const CpuFeatures& cpu);
// Every 2-bit table this CPU runs, `table` first, the scalar reference only when `table` is
// scalar: the candidates for kernels that read the same layout on every ISA (complex).
std::vector<const KernelTable*> tables_running_here(const KernelTable& table, const CpuFeatures& cpu);
// The AMX-INT8 ternary GEMM (layout kCodes) where it is compiled in (x86), else nullptr. Call
// it only where kernels::amx_tiles_usable says so.
TernaryMatmulFn amx_ternary_gemm();
// Parses "2bit" / "base3"; errors name the accepted values.
Result<Packing> parse_packing(std::string_view name);

}  // namespace tern::kernels
