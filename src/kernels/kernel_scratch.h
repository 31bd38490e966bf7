// Scratch memory for the per-ISA kernel files: uninitialised, 64-byte aligned, freed at scope
// end.
//
// Every member is defined out of line, in a file built for the portable baseline, on purpose.
// A template or inline function from a shared header that a file built with -mavx512* flags
// instantiates becomes a weak symbol, and the linker may keep that copy for every caller in
// the binary. An AVX2-only CPU then runs AVX-512 code outside any dispatch: the sanitizer
// build did exactly that with std::vector<float>::_M_default_append (a vmovdqu8 fill) and
// died with SIGILL on Zen 3. tests/kernels/isa_objects_test.sh keeps the ISA objects free of
// such symbols.
#pragma once

#include <cstddef>

namespace tern::kernels {

class KernelScratch {
public:
    explicit KernelScratch(size_t bytes);
    ~KernelScratch();
    KernelScratch(const KernelScratch&) = delete;
    KernelScratch& operator=(const KernelScratch&) = delete;

    void* data() const;

private:
    void* data_;
};

}  // namespace tern::kernels
