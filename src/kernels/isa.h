// The instruction sets tern has kernels for, and which of them this CPU and this build can
// run. Chosen once at start-up (never fixed at compile time); overridable with --isa or the
// TERN_ISA environment variable.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/cpu_info.h"
#include "tern/status.h"

namespace tern::kernels {

enum class Isa {
    kScalar,       // portable C++ reference: the specification every other kernel must match
    kAvx2,         // AVX2 + FMA + F16C
    kAvx512,       // AVX-512 F/BW/VL, multiplication-free ternary kernels (masked add/sub)
    kAvx512Vnni,   // AVX-512 F/BW/VL + VNNI dot products
    kNeon,         // AArch64 Advanced SIMD (every ARMv8 CPU)
    kNeonDot,      // AArch64 Advanced SIMD + the ARMv8.2 dot-product extension (SDOT)
    kNeonI8mm,     // the above + the int8 matrix multiply extension (SMMLA) for prefill
    kCount,
};

std::string_view isa_name(Isa isa);   // "scalar", "avx2", "avx512", "avx512vnni", "neon", "neondot", "neoni8mm"
Result<Isa> isa_from_name(std::string_view name);
inline std::ostream& operator<<(std::ostream& os, Isa isa) { return os << isa_name(isa); }

// Whether the kernels for `isa` were compiled into this binary and `features` can run them.
bool isa_runs_on(Isa isa, const CpuFeatures& features);

// Every Isa this machine can run, slowest first; the scalar reference is always there.
std::vector<Isa> isas_supported_here();

// The default choice: the ISA whose ternary kernels are fastest on this kind of CPU.
Isa best_isa_here();

// "" means best_isa_here(); otherwise the named ISA, or an error that says why it cannot be
// used ("avx512vnni: this CPU lacks avx512_vnni (it has: avx2 ...)").
Result<Isa> choose_isa(std::string_view requested);

// The request from `flag` if set, else from the TERN_ISA environment variable, else "".
std::string requested_isa(std::string_view flag);

}  // namespace tern::kernels
