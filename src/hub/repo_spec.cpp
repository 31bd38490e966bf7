#include "hub/repo_spec.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>

#include "core/str_cat.h"

namespace tern::hub {
namespace {

// The Hub's rule for a namespace or repository name.
bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 96 || name == "." || name == ".." || name.starts_with('-') || name.starts_with('.'))
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    });
}

}  // namespace

Result<RepoSpec> parse_repo_spec(std::string_view text) {
    const size_t colon = text.find(':');
    const std::string_view repo = text.substr(0, colon);
    const size_t slash = repo.find('/');
    if (slash == std::string_view::npos || repo.find('/', slash + 1) != std::string_view::npos)
        return Error(str_cat("'", text, "' is not a Hub repository: expected ORG/NAME[:FILE]"));
    const std::string_view org = repo.substr(0, slash);
    const std::string_view name = repo.substr(slash + 1);
    if (!valid_name(org) || !valid_name(name))
        return Error(str_cat("'", repo, "' is not a valid Hub repository name (letters, digits, '-', '_', '.')"));
    RepoSpec spec{std::string(repo), {}};
    if (colon != std::string_view::npos) {
        spec.pattern = std::string(text.substr(colon + 1));
        if (spec.pattern.empty()) return Error(str_cat("'", text, "': nothing after ':' (a file name or glob)"));
        if (spec.pattern.starts_with('/') || spec.pattern.find("..") != std::string::npos)
            return Error(str_cat("'", spec.pattern, "' is not a file inside the repository"));
    }
    return spec;
}

bool looks_like_repo_spec(std::string_view text) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(text), ec)) return false;
    if (text.starts_with('.') || text.starts_with('/') || text.starts_with('~')) return false;
    return parse_repo_spec(text).ok();
}

bool glob_match(std::string_view pattern, std::string_view path) {
    const std::string p(pattern);
    const std::string s(path);
    if (p.find("**") != std::string::npos) {
        // "**" crosses directories: match without FNM_PATHNAME after collapsing it to "*".
        std::string collapsed;
        for (size_t i = 0; i < p.size(); ++i) {
            if (p.compare(i, 3, "**/") == 0) {
                collapsed += '*';
                i += 2;
            } else if (p.compare(i, 2, "**") == 0) {
                collapsed += '*';
                ++i;
            } else {
                collapsed += p[i];
            }
        }
        return fnmatch(collapsed.c_str(), s.c_str(), 0) == 0;
    }
    return fnmatch(p.c_str(), s.c_str(), FNM_PATHNAME) == 0;
}

}  // namespace tern::hub
