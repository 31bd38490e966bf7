#include "core/cpu_info.h"

#include <sched.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>
#endif

namespace tern {
namespace {

std::string read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

#if defined(__x86_64__) || defined(__i386__)
uint64_t read_xcr0() {
    uint32_t eax = 0, edx = 0;
    // xgetbv with ecx = 0; encoded as bytes so no -mxsave flag is needed for this file.
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<uint64_t>(edx) << 32) | eax;
}

void detect_x86_features(CpuFeatures& f) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return;
    f.sse42 = (ecx >> 20) & 1;
    const bool osxsave = (ecx >> 27) & 1;
    const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const bool os_ymm = (xcr0 & 0x6) == 0x6;       // SSE + AVX state
    const bool os_zmm = (xcr0 & 0xe6) == 0xe6;     // + opmask, ZMM_Hi256, Hi16_ZMM
    const bool os_amx = (xcr0 & 0x60000) == 0x60000;  // XTILECFG + XTILEDATA
    f.avx = os_ymm && ((ecx >> 28) & 1);
    f.fma = f.avx && ((ecx >> 12) & 1);
    f.f16c = f.avx && ((ecx >> 29) & 1);
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return;
    f.avx2 = f.avx && ((ebx >> 5) & 1);
    f.avx512f = os_zmm && ((ebx >> 16) & 1);
    f.avx512bw = f.avx512f && ((ebx >> 30) & 1);
    f.avx512vl = f.avx512f && ((ebx >> 31) & 1);
    f.avx512vbmi = f.avx512f && ((ecx >> 1) & 1);
    f.avx512vnni = f.avx512f && ((ecx >> 11) & 1);
    f.amx_tile = os_amx && ((edx >> 24) & 1);
    f.amx_int8 = f.amx_tile && ((edx >> 25) & 1);
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) f.avx_vnni = f.avx && ((eax >> 4) & 1);
}

std::string x86_brand_string() {
    unsigned regs[12] = {};
    unsigned max_leaf = __get_cpuid_max(0x80000000u, nullptr);
    if (max_leaf < 0x80000004u) return "";
    for (unsigned i = 0; i < 3; ++i) {
        __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    }
    std::string brand(reinterpret_cast<const char*>(regs), sizeof regs);
    brand.resize(brand.find('\0') == std::string::npos ? brand.size() : brand.find('\0'));
    const size_t first = brand.find_first_not_of(' ');
    const size_t last = brand.find_last_not_of(' ');
    return first == std::string::npos ? "" : brand.substr(first, last - first + 1);
}
#endif

#if defined(__APPLE__)
// macOS has no auxiliary vector: the kernel publishes each ARM feature as a sysctl
// ("hw.optional.arm.FEAT_DotProd" = 1), absent on kernels that predate the feature's name.
bool apple_sysctl_flag(const char* name) {
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname(name, &value, &size, nullptr, 0) == 0 && value != 0;
}

std::string apple_sysctl_string(const char* name) {
    char text[256] = {};
    size_t size = sizeof text - 1;
    return sysctlbyname(name, text, &size, nullptr, 0) == 0 ? std::string(text) : std::string();
}
#endif

std::string proc_cpuinfo_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    for (const std::string_view key : {"model name", "Model", "Hardware", "cpu model"}) {
        in.clear();
        in.seekg(0);
        while (std::getline(in, line)) {
            if (line.rfind(key, 0) != 0) continue;
            const size_t colon = line.find(':');
            if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
        }
    }
    return "";
}

uint64_t parse_cache_size(const std::string& text) {
    // sysfs writes "32K", "1024K", "32M".
    uint64_t value = 0;
    size_t i = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') value = value * 10 + (text[i++] - '0');
    if (i < text.size() && text[i] == 'K') value <<= 10;
    if (i < text.size() && text[i] == 'M') value <<= 20;
    return value;
}

int count_cpu_list(const std::string& list) {
    // "0-3,8,10-11"
    int count = 0;
    std::stringstream stream(list);
    std::string range;
    while (std::getline(stream, range, ',')) {
        const size_t dash = range.find('-');
        if (range.empty()) continue;
        if (dash == std::string::npos) {
            ++count;
        } else {
            count += std::stoi(range.substr(dash + 1)) - std::stoi(range.substr(0, dash)) + 1;
        }
    }
    return count;
}

std::vector<CacheLevel> read_caches() {
    std::vector<CacheLevel> caches;
    for (int index = 0; index < 16; ++index) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
        const std::string level = read_first_line(dir + "/level");
        if (level.empty()) break;
        CacheLevel cache;
        cache.level = level[0] - '0';
        cache.type = read_first_line(dir + "/type");
        cache.size_bytes = parse_cache_size(read_first_line(dir + "/size"));
        try {
            cache.shared_by_cpus = count_cpu_list(read_first_line(dir + "/shared_cpu_list"));
        } catch (const std::exception&) {
            cache.shared_by_cpus = 0;
        }
        caches.push_back(cache);
    }
    return caches;
}

int count_physical_cores(int logical_cpus) {
    std::set<std::pair<std::string, std::string>> cores;
    for (int cpu = 0; cpu < logical_cpus; ++cpu) {
        const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        const std::string core = read_first_line(dir + "core_id");
        if (core.empty()) return 0;
        cores.emplace(read_first_line(dir + "physical_package_id"), core);
    }
    return static_cast<int>(cores.size());
}

}  // namespace

CpuInfo detect_cpu_info() {
    CpuInfo info;
#if defined(__x86_64__) || defined(__i386__)
    info.architecture = "x86-64";
    detect_x86_features(info.features);
    info.model_name = x86_brand_string();
#elif defined(__aarch64__)
    info.architecture = "aarch64";
    info.features.neon = true;  // mandatory in AArch64
#if defined(__linux__)
    info.features.neon_dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#if defined(HWCAP2_I8MM)
    info.features.neon_i8mm = (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#endif
#elif defined(__APPLE__)
    info.features.neon_dotprod = apple_sysctl_flag("hw.optional.arm.FEAT_DotProd");
    info.features.neon_i8mm = apple_sysctl_flag("hw.optional.arm.FEAT_I8MM");
    info.model_name = apple_sysctl_string("machdep.cpu.brand_string");
#endif
#else
    info.architecture = "unknown";
#endif
    if (info.model_name.empty()) info.model_name = proc_cpuinfo_model();
    if (info.model_name.empty()) info.model_name = "unknown";

    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    info.logical_cpus = online > 0 ? static_cast<int>(online)
                                   : static_cast<int>(std::thread::hardware_concurrency());
#if defined(__linux__)
    cpu_set_t mask;
    CPU_ZERO(&mask);
    info.usable_cpus = sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) : info.logical_cpus;
#else
    info.usable_cpus = info.logical_cpus;   // macOS has no affinity masks
#endif
    info.physical_cores = count_physical_cores(info.logical_cpus);
    info.caches = read_caches();
    return info;
}

std::string describe_features(const CpuFeatures& f) {
    const std::pair<bool, const char*> flags[] = {
        {f.sse42, "sse4.2"},       {f.avx, "avx"},           {f.avx2, "avx2"},
        {f.fma, "fma"},            {f.f16c, "f16c"},         {f.avx512f, "avx512f"},
        {f.avx512bw, "avx512bw"},  {f.avx512vl, "avx512vl"}, {f.avx512vnni, "avx512vnni"},
        {f.avx512vbmi, "avx512vbmi"}, {f.avx_vnni, "avx-vnni"}, {f.amx_tile, "amx-tile"},
        {f.amx_int8, "amx-int8"},  {f.neon, "neon"},         {f.neon_dotprod, "dotprod"},
        {f.neon_i8mm, "i8mm"},
    };
    std::string out;
    for (const auto& [present, name] : flags) {
        if (!present) continue;
        if (!out.empty()) out += ' ';
        out += name;
    }
    return out.empty() ? "none" : out;
}

}  // namespace tern
