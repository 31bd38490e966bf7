// What this machine offers tern: the CPU, its SIMD features and the kernels that run here.
#pragma once

#include <string>
#include <vector>

namespace tern {

struct SystemInfo {
    std::string version = {};               // tern's
    std::string cpu = {};                   // the CPU's model name
    std::string architecture = {};          // "x86_64", ...
    std::string features = {};              // SIMD features detected at run time, e.g. "avx2 avx512f avx512vnni"
    int logical_cpus = 0;
    int usable_cpus = 0;                    // CPUs this process may run on
    std::vector<std::string> kernels = {};  // kernel ISAs that run here, slowest first
    std::string best_kernels = {};          // what a model load picks (TERN_ISA overrides)
};

SystemInfo system_info();

}  // namespace tern
