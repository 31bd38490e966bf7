// The library's version, as printed by `tern --version`.
#pragma once

namespace tern {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace tern
