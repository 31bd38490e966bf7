#include "kernels/kernel_scratch.h"

#include <cstdlib>
#include <new>

namespace tern::kernels {

constexpr size_t kScratchAlignment = 64;

// aligned_alloc takes whole multiples of the alignment; the extra line keeps a zero-byte
// request from asking for zero bytes, whose null result would read as out of memory.

KernelScratch::KernelScratch(size_t bytes)
    : data_(std::aligned_alloc(kScratchAlignment, (bytes + kScratchAlignment - 1) / kScratchAlignment * kScratchAlignment + kScratchAlignment)) {
    if (data_ == nullptr) throw std::bad_alloc();
}

KernelScratch::~KernelScratch() { std::free(data_); }

void* KernelScratch::data() const { return data_; }

}  // namespace tern::kernels
