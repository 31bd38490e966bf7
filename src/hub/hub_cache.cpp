#include "hub/hub_cache.h"

#include <algorithm>
#include <fstream>

#include "core/str_cat.h"

namespace tern::hub {
namespace {

std::filesystem::path home_dir(const std::function<const char*(const char*)>& getenv) {
    const char* home = getenv("HOME");
    return home != nullptr && *home != '\0' ? std::filesystem::path(home) : std::filesystem::path(".");
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    size_t start = 0;
    while (start < s.size() && s[start] == ' ') ++start;
    return s.substr(start);
}

bool truthy_env(const char* value) {
    if (value == nullptr) return false;
    std::string v(value);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return v == "1" || v == "true" || v == "yes" || v == "on";
}

}  // namespace

HubSettings HubSettings::from_environment(const std::function<const char*(const char*)>& getenv) {
    HubSettings settings;
    if (const char* endpoint = getenv("HF_ENDPOINT"); endpoint != nullptr && *endpoint != '\0') {
        settings.endpoint = endpoint;
        while (settings.endpoint.ends_with('/')) settings.endpoint.pop_back();
    }
    std::filesystem::path hf_home;
    if (const char* h = getenv("HF_HOME"); h != nullptr && *h != '\0') {
        hf_home = h;
    } else if (const char* xdg = getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
        hf_home = std::filesystem::path(xdg) / "huggingface";
    } else {
        hf_home = home_dir(getenv) / ".cache" / "huggingface";
    }
    const char* hub_cache = getenv("HF_HUB_CACHE");
    settings.cache_dir = hub_cache != nullptr && *hub_cache != '\0' ? std::filesystem::path(hub_cache) : hf_home / "hub";
    if (const char* token = getenv("HF_TOKEN"); token != nullptr && *token != '\0') {
        settings.token = trim(token);
    } else {
        std::ifstream file(hf_home / "token");
        std::string line;
        if (file && std::getline(file, line)) settings.token = trim(line);
    }
    settings.offline = truthy_env(getenv("HF_HUB_OFFLINE"));
    return settings;
}

RepoCache::RepoCache(const std::filesystem::path& cache_dir, std::string_view repo_id) {
    std::string folder = "models--" + std::string(repo_id);
    for (size_t at = folder.find('/'); at != std::string::npos; at = folder.find('/', at)) folder.replace(at, 1, "--");
    root_ = cache_dir / folder;
}

std::optional<std::string> RepoCache::commit_for(std::string_view revision) const {
    if (is_commit_hash(revision)) return std::string(revision);
    std::ifstream ref(root_ / "refs" / std::string(revision));
    std::string commit;
    if (!ref || !std::getline(ref, commit)) return std::nullopt;
    commit = trim(commit);
    if (!is_commit_hash(commit)) return std::nullopt;
    return commit;
}

Status RepoCache::write_ref(std::string_view revision, std::string_view commit) const {
    if (revision == commit) return {};
    const std::filesystem::path path = root_ / "refs" / std::string(revision);
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    std::ofstream out(path, std::ios::trunc);
    out << commit;
    out.close();
    if (!out) return Error(str_cat("cannot write ", path.string()));
    return {};
}

Status RepoCache::link_snapshot(std::string_view commit, std::string_view path, std::string_view etag) const {
    const std::filesystem::path link = snapshot_dir(commit) / std::string(path);
    std::error_code ec;
    std::filesystem::create_directories(link.parent_path(), ec);
    if (ec) return Error(str_cat("cannot create ", link.parent_path().string(), ": ", ec.message()));
    const std::filesystem::path target = std::filesystem::relative(blob_path(etag), link.parent_path(), ec);
    if (ec) return Error(str_cat("cannot link ", link.string(), ": ", ec.message()));
    // A link already there is kept when another pull made the same one, else replaced.
    for (int attempt = 0; attempt < 3; ++attempt) {
        std::filesystem::create_symlink(target, link, ec);
        if (!ec || ec != std::errc::file_exists) break;
        std::error_code read_error;
        if (std::filesystem::read_symlink(link, read_error) == target) return {};
        std::filesystem::remove(link, ec);
    }
    if (ec) return Error(str_cat("cannot link ", link.string(), " to ", target.string(), ": ", ec.message()));
    return {};
}

std::string normalize_etag(std::string_view etag) {
    if (etag.starts_with("W/")) etag.remove_prefix(2);
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
    return std::string(etag);
}

bool is_commit_hash(std::string_view revision) {
    return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

}  // namespace tern::hub
