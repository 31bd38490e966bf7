// AMX-INT8 for prompts: where the CPU reports AMX-INT8 and Linux grants this process the tile
// state, a table reading the 2-bit codes layout sends calls of kernels::kWideGemmTokens tokens
// or more to the AMX GEMM, once that GEMM has given the table's own GEMM's results, bit for
// bit, on a sample. A forced ISA (--isa) keeps exactly its own kernels.
#pragma once

#include <string>

#include "core/cpu_info.h"
#include "kernels/dispatch.h"
#include "tern/status.h"

namespace tern::engine {

// OK when `candidate` and `reference` write the same bits for a random ternary matrix of
// awkward shape (rows and columns off every block size) times a prompt's worth of tokens; else
// an error naming the first differing output.
Status check_gemm_agrees(kernels::TernaryMatmulFn candidate, kernels::TernaryMatmulFn reference);

// Sets table.ternary_gemm_wide to the AMX GEMM where it may run and agrees with
// table.ternary_gemm; returns a one-line warning when AMX is here but disagreed (the table is
// then left as it was), "" otherwise.
std::string enable_amx_prefill(kernels::KernelTable& table);

// One line for `tern info`: whether prompts would use AMX here, or why not (not built in, no
// AMX-INT8 in this CPU, tile state refused by the kernel).
std::string describe_amx_prefill(const CpuFeatures& cpu);

}  // namespace tern::engine
