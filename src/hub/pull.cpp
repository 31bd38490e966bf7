#include "hub/pull.h"

#include <algorithm>
#include <cstdlib>

#include "core/str_cat.h"

namespace tern::hub {
namespace {

bool has_glob(std::string_view pattern) { return pattern.find_first_of("*?[") != std::string_view::npos; }

bool is_gguf(std::string_view name) { return name.ends_with(".gguf"); }

std::string list_names(const std::vector<std::string>& names, size_t most = 12) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < most; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > most) out += str_cat(", and ", names.size() - most, " more");
    return out;
}

bool unwanted_in_folder(std::string_view name, bool has_safetensors) {
    if (name.starts_with("original/") || name.find("/original/") != std::string_view::npos) return true;
    for (std::string_view suffix : {".pth", ".pt", ".h5", ".msgpack", ".onnx", ".onnx_data", ".ot", ".tflite", ".gitattributes"})
        if (name.ends_with(suffix)) return true;
    return has_safetensors && name.ends_with(".bin");
}

// Files of a snapshot folder, as paths relative to it.
std::vector<std::string> files_under(const std::filesystem::path& dir) {
    std::vector<std::string> files;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::end(it);
         it.increment(ec)) {
        if (std::filesystem::is_regular_file(it->path(), ec))   // follows the blob links
            files.push_back(it->path().lexically_relative(dir).generic_string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

bool present(const std::filesystem::path& snapshot, const std::string& file) {
    std::error_code ec;
    return std::filesystem::is_regular_file(snapshot / file, ec);
}

// A snapshot filled by an earlier narrower pull (say only *.json) is not a model yet.
bool holds_a_model(const PulledRepo& repo) {
    return std::any_of(repo.files.begin(), repo.files.end(), [](const std::string& f) {
        return f.ends_with(".gguf") || f.ends_with(".safetensors") || f.ends_with(".bin");
    });
}

}  // namespace

std::filesystem::path PulledRepo::model_path() const {
    if (files.size() == 1 && is_gguf(files[0])) return snapshot_dir / files[0];
    return snapshot_dir;
}

Result<std::vector<std::string>> select_files(const std::vector<std::string>& files, const RepoSpec& spec) {
    std::vector<std::string> chosen;
    if (!spec.pattern.empty()) {
        for (const std::string& f : files)
            if (has_glob(spec.pattern) ? glob_match(spec.pattern, f) : f == spec.pattern) chosen.push_back(f);
        if (chosen.empty())
            return Error(str_cat("no file of ", spec.repo_id, " matches '", spec.pattern, "' (it has: ", list_names(files), ")"));
        return chosen;
    }
    std::vector<std::string> ggufs;
    std::copy_if(files.begin(), files.end(), std::back_inserter(ggufs), [](const std::string& f) { return is_gguf(f); });
    if (ggufs.size() == 1) return ggufs;
    if (ggufs.size() > 1)
        return Error(str_cat(spec.repo_id, " has ", ggufs.size(), " GGUF files; name one as ", spec.repo_id, ":FILE (",
                             list_names(ggufs), ")"));
    const bool has_safetensors =
        std::any_of(files.begin(), files.end(), [](const std::string& f) { return f.ends_with(".safetensors"); });
    for (const std::string& f : files)
        if (!unwanted_in_folder(f, has_safetensors)) chosen.push_back(f);
    if (chosen.empty()) return Error(str_cat(spec.repo_id, " holds no model files"));
    return chosen;
}

namespace {

Status check_revision(std::string_view revision) {
    if (revision.empty() || revision.starts_with('/') || revision.ends_with('/') || revision.find("..") != std::string_view::npos ||
        revision.find('\\') != std::string_view::npos)
        return Error(str_cat("'", revision, "' is not a revision (a branch, tag or commit)"));
    return {};
}

}  // namespace

Result<PulledRepo> pull(const HubClient& client, const RepoSpec& spec, std::string_view revision,
                        const ProgressCallback& progress) {
    TERN_TRY(check_revision(revision));
    if (client.settings().offline) return find_cached(client.settings(), spec, revision);
    TERN_ASSIGN_OR_RETURN(const RepoListing listing, client.list_files(spec.repo_id, revision));
    TERN_ASSIGN_OR_RETURN(std::vector<std::string> files, select_files(listing.files, spec));
    const RepoCache cache(client.settings().cache_dir, spec.repo_id);
    PulledRepo pulled{listing.commit, cache.snapshot_dir(listing.commit), std::move(files), {}};
    for (const std::string& file : pulled.files) {
        if (present(pulled.snapshot_dir, file)) continue;
        TERN_ASSIGN_OR_RETURN(const FileMetadata meta, client.file_metadata(spec.repo_id, listing.commit, file));
        std::error_code ec;
        if (!std::filesystem::is_regular_file(cache.blob_path(meta.etag), ec)) {
            TERN_ASSIGN_OR_RETURN(const bool downloaded, client.download(meta, cache, progress));
            if (downloaded) pulled.fetched.push_back(file);
        }
        TERN_TRY(cache.link_snapshot(listing.commit, file, meta.etag));
    }
    TERN_TRY(cache.write_ref(revision, listing.commit));
    return pulled;
}

Result<PulledRepo> find_cached(const HubSettings& settings, const RepoSpec& spec, std::string_view revision) {
    TERN_TRY(check_revision(revision));
    const RepoCache cache(settings.cache_dir, spec.repo_id);
    const std::optional<std::string> commit = cache.commit_for(revision);
    const std::string where = str_cat(spec.repo_id, " at '", revision, "'");
    if (!commit) return Error(str_cat(where, " is not in the cache (", cache.root().string(), ")"));
    PulledRepo found{*commit, cache.snapshot_dir(*commit), {}, {}};
    const std::vector<std::string> cached = files_under(found.snapshot_dir);
    TERN_ASSIGN_OR_RETURN(found.files, select_files(cached, spec));
    return found;
}

Result<std::filesystem::path> resolve_model(const HubSettings& settings, std::string_view spec_text,
                                            std::string_view revision, const ProgressCallback& progress) {
    TERN_ASSIGN_OR_RETURN(const RepoSpec spec, parse_repo_spec(spec_text));
    if (Result<PulledRepo> cached = find_cached(settings, spec, revision); cached.ok() && holds_a_model(cached.value()))
        return cached.value().model_path();
    if (settings.offline)
        return Error(str_cat(spec.repo_id, " is not in the cache and HF_HUB_OFFLINE is set (", settings.cache_dir.string(), ")"));
    TERN_ASSIGN_OR_RETURN(const PulledRepo pulled, pull(HubClient(settings), spec, revision, progress));
    return pulled.model_path();
}

Result<std::string> local_model_path(const std::string& source, std::string_view revision,
                                     const ProgressCallback& progress) {
    if (!looks_like_repo_spec(source)) return source;
    const HubSettings settings = HubSettings::from_environment([](const char* name) { return std::getenv(name); });
    TERN_ASSIGN_OR_RETURN(const std::filesystem::path path, resolve_model(settings, source, revision, progress));
    return path.string();
}

}  // namespace tern::hub
