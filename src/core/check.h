// TERN_CHECK: for broken invariants (bugs), never for bad input. Prints file:line and the
// condition, then aborts, in release builds too.
#pragma once

namespace tern {
[[noreturn]] void check_failed(const char* file, int line, const char* condition);
}  // namespace tern

#define TERN_CHECK(cond) \
    ((cond) ? static_cast<void>(0) : ::tern::check_failed(__FILE__, __LINE__, #cond))
