// What a user names on the command line to get a model from the Hugging Face Hub:
// ORG/NAME, ORG/NAME:FILE or ORG/NAME:GLOB (e.g. microsoft/bitnet-b1.58-2B-4T-gguf:*.gguf).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern::hub {

struct RepoSpec {
    std::string repo_id;   // "ORG/NAME"
    std::string pattern;   // "" for the whole repository, else a file path or a glob
};

// Errors name what is wrong: a missing "/", characters the Hub does not allow, "..".
Result<RepoSpec> parse_repo_spec(std::string_view text);

// Whether `text` is meant as a Hub repository rather than a local path: ORG/NAME[:...] that
// does not exist on disk.
bool looks_like_repo_spec(std::string_view text);

// Shell-style matching ("*" within a path segment, "**" across, "?", "[...]").
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace tern::hub
