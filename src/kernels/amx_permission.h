// Whether this process may execute AMX tile instructions. The CPU reporting AMX-INT8 is not
// enough: Linux enables the tile data state per process, on request (arch_prctl
// ARCH_REQ_XCOMP_PERM), and a tile instruction without it kills the process with SIGILL.
#pragma once

#include "core/cpu_info.h"

namespace tern::kernels {

// True when `cpu` reports AMX-TILE and AMX-INT8 and the kernel grants the tile data state
// (requested here; asking again after a grant is harmless). False on other CPUs and systems.
bool amx_tiles_usable(const CpuFeatures& cpu);

}  // namespace tern::kernels
