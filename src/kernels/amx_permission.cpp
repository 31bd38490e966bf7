#include "kernels/amx_permission.h"

#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tern::kernels {

bool amx_tiles_usable(const CpuFeatures& cpu) {
    if (!cpu.amx_tile || !cpu.amx_int8) return false;
#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
    constexpr long kArchReqXcompPerm = 0x1023;   // <asm/prctl.h>
    constexpr long kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
}

}  // namespace tern::kernels
