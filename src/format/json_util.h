// Strict JSON parsing for untrusted model metadata: nlohmann-json, plus what it does not
// check by itself (duplicate keys, which it silently collapses; nesting depth), with its
// exceptions turned into one-line errors.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern::format {

// max_depth counts containers: 1 allows {"a": 1}, 2 allows {"a": [1]}.
Result<nlohmann::json> parse_json_strict(std::string_view text, std::string_view source, int max_depth);

// "a string", "an integer", ... for error messages.
std::string_view json_kind(const nlohmann::json& value);

// Compact one-line rendering of a value, at most max_bytes shown.
std::string json_preview(const nlohmann::json& value, size_t max_bytes = 60);

}  // namespace tern::format
