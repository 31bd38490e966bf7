#include "core/check.h"

#include <cstdio>
#include <cstdlib>

namespace tern {

void check_failed(const char* file, int line, const char* condition) {
    std::fprintf(stderr, "tern: internal error at %s:%d: check failed: %s\n", file, line, condition);
    std::abort();
}

}  // namespace tern
