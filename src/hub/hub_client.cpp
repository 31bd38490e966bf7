#include "hub/hub_client.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/str_cat.h"
#include "hub/download_lock.h"
#include "hub/file_digest.h"

namespace tern::hub {
namespace {

constexpr int kMaxRedirects = 10;
constexpr int kDownloadAttempts = 5;

struct Url {
    std::string origin;   // scheme://host[:port]
    std::string target;   // /path?query
};

Result<Url> split_url(std::string_view url) {
    const size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos || (url.substr(0, scheme_end) != "http" && url.substr(0, scheme_end) != "https"))
        return Error(str_cat("'", url, "' is not an http(s) URL"));
    const size_t path_start = url.find('/', scheme_end + 3);
    if (path_start == std::string_view::npos) return Url{std::string(url), "/"};
    return Url{std::string(url.substr(0, path_start)), std::string(url.substr(path_start))};
}

// A Location header against the URL it answered.
std::string resolve_location(const Url& from, const std::string& location) {
    if (location.find("://") != std::string::npos) return location;
    if (location.starts_with("/")) return from.origin + location;
    const size_t last_slash = from.target.rfind('/');
    return from.origin + from.target.substr(0, last_slash + 1) + location;
}

// keep_slash: file paths keep their "/"; a revision ("refs/pr/1") is one segment.
std::string percent_encode(std::string_view path, bool keep_slash) {
    std::string out;
    for (unsigned char c : path) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~' || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        }
    }
    return out;
}

std::unique_ptr<httplib::Client> make_client(const std::string& origin) {
    auto client = std::make_unique<httplib::Client>(origin);
    client->set_connection_timeout(15, 0);
    client->set_read_timeout(60, 0);
    client->set_follow_location(false);   // redirects are followed here, to keep the token on the Hub
    return client;
}

std::string describe_failure(const std::string& what, const httplib::Result& result) {
    if (result) return str_cat(what, ": HTTP ", result->status);
    switch (result.error()) {
        case httplib::Error::Connection: return str_cat(what, ": could not connect (no network, or HF_ENDPOINT is wrong?)");
        case httplib::Error::SSLConnection: return str_cat(what, ": the TLS connection failed");
        case httplib::Error::SSLServerVerification: return str_cat(what, ": the server's TLS certificate did not verify");
        case httplib::Error::Read: return str_cat(what, ": the connection dropped");
        case httplib::Error::Canceled: return str_cat(what, ": cancelled");
        default: return str_cat(what, ": ", httplib::to_string(result.error()));
    }
}

// Maps the Hub's refusals to what the user should do.
Error hub_refusal(int status, std::string_view repo_id, std::string_view revision, std::string_view what) {
    if (status == 401 || status == 403)
        return Error(str_cat("the Hub refused ", what, " of ", repo_id, " (HTTP ", status,
                             "): a private or gated repository needs HF_TOKEN with access to it"));
    if (status == 404)
        return Error(str_cat(what, " of ", repo_id, " at revision '", revision, "' was not found (HTTP 404)"));
    return Error(str_cat("the Hub answered HTTP ", status, " for ", what, " of ", repo_id));
}

class Transfer {
public:
    Transfer(const HubSettings& settings) : settings_(settings) {}

    // Sends `method` to `url`, following up to kMaxRedirects redirects when `follow` (relative
    // ones only when `follow` is false: a renamed repository), with the token on the Hub only.
    Result<httplib::Result> send(const std::string& method, std::string url, httplib::Headers headers, bool follow_all,
                                 const httplib::ResponseHandler& on_response = nullptr,
                                 const httplib::ContentReceiver& on_body = nullptr) const {
        for (int hop = 0; hop <= kMaxRedirects; ++hop) {
            TERN_ASSIGN_OR_RETURN(const Url parts, split_url(url));
            auto client = make_client(parts.origin);
            httplib::Headers request_headers = headers;
            if (!settings_.token.empty() && parts.origin == settings_.endpoint)
                request_headers.emplace("Authorization", "Bearer " + settings_.token);
            httplib::Result result = method == "HEAD" ? client->Head(parts.target, request_headers)
                                     : on_body ? client->Get(parts.target, request_headers, on_response, on_body)
                                               : client->Get(parts.target, request_headers);
            if (!result || result->status < 300 || result->status >= 400 || !result->has_header("Location")) return result;
            const std::string location = result->get_header_value("Location");
            const bool relative = location.find("://") == std::string::npos;
            if (!follow_all && !relative) return result;
            url = resolve_location(parts, location);
        }
        return Error(str_cat("more than ", kMaxRedirects, " redirects from ", url));
    }

private:
    const HubSettings& settings_;
};

// Appends a response body to a file, remembering why a write failed (a full disk).
class BlobWriter {
public:
    BlobWriter(const std::filesystem::path& path, bool append) : path_(path) {
        file_.reset(std::fopen(path.c_str(), append ? "ab" : "wb"));
        if (!file_) error_ = str_cat("cannot write ", path.string(), ": ", std::strerror(errno));
    }
    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    bool write(const char* data, size_t n) {
        if (!ok()) return false;
        if (std::fwrite(data, 1, n, file_.get()) != n) {
            error_ = str_cat("cannot write ", path_.string(), ": ", std::strerror(errno));
            return false;
        }
        return true;
    }
    Status close() {
        if (file_ && std::fclose(file_.release()) != 0 && ok())
            error_ = str_cat("cannot write ", path_.string(), ": ", std::strerror(errno));
        if (!ok()) return Error(error_);
        return {};
    }

private:
    struct Closer {
        void operator()(FILE* f) const { std::fclose(f); }
    };
    std::filesystem::path path_;
    std::unique_ptr<FILE, Closer> file_;
    std::string error_;
};

}  // namespace

Result<RepoListing> HubClient::list_files(std::string_view repo_id, std::string_view revision) const {
    const std::string url = str_cat(settings_.endpoint, "/api/models/", repo_id, "/revision/", percent_encode(revision, false));
    TERN_ASSIGN_OR_RETURN(const httplib::Result result, Transfer(settings_).send("GET", url, {}, true));
    if (!result) return Error(describe_failure(str_cat("cannot reach ", settings_.endpoint), result));
    if (result->status != 200) return hub_refusal(result->status, repo_id, revision, "the file list");
    const nlohmann::json body = nlohmann::json::parse(result->body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("sha") || !body["sha"].is_string() ||
        !body.contains("siblings") || !body["siblings"].is_array())
        return Error(str_cat("the Hub's file list of ", repo_id, " is not the JSON expected (sha, siblings)"));
    RepoListing listing{body["sha"].get<std::string>(), {}};
    if (!is_commit_hash(listing.commit)) return Error(str_cat("the Hub named commit '", listing.commit, "', not a commit hash"));
    for (const auto& sibling : body["siblings"])
        if (sibling.is_object() && sibling.contains("rfilename") && sibling["rfilename"].is_string()) {
            const std::string name = sibling["rfilename"].get<std::string>();
            if (name.empty() || name.starts_with('/') || name.find("..") != std::string::npos)
                return Error(str_cat("the Hub listed a file outside the repository: '", name, "'"));
            listing.files.push_back(name);
        }
    return listing;
}

Result<FileMetadata> HubClient::file_metadata(std::string_view repo_id, std::string_view revision,
                                              std::string_view path) const {
    const std::string url =
        str_cat(settings_.endpoint, "/", repo_id, "/resolve/", percent_encode(revision, false), "/", percent_encode(path, true));
    TERN_ASSIGN_OR_RETURN(const httplib::Result result,
                          Transfer(settings_).send("HEAD", url, {{"Accept-Encoding", "identity"}}, false));
    if (!result) return Error(describe_failure(str_cat("cannot reach ", settings_.endpoint), result));
    const int status = result->status;
    if (status >= 400) return hub_refusal(status, repo_id, revision, str_cat("'", path, "'"));
    FileMetadata meta;
    meta.path = std::string(path);
    meta.commit = result->get_header_value("X-Repo-Commit");
    const std::string etag =
        result->has_header("X-Linked-Etag") ? result->get_header_value("X-Linked-Etag") : result->get_header_value("ETag");
    meta.etag = normalize_etag(etag);
    const std::string size =
        result->has_header("X-Linked-Size") ? result->get_header_value("X-Linked-Size") : result->get_header_value("Content-Length");
    char* end = nullptr;
    meta.size = std::strtoull(size.c_str(), &end, 10);
    if (meta.etag.empty() || meta.etag.find('/') != std::string::npos || meta.etag.find("..") != std::string::npos)
        return Error(str_cat("the Hub gave '", path, "' no usable ETag"));
    if (size.empty() || size.find_first_not_of("0123456789") != std::string::npos || end == size.c_str() || *end != '\0')
        return Error(str_cat("the Hub gave '", path, "' no usable size ('", size, "')"));
    if (!is_commit_hash(meta.commit)) return Error(str_cat("the Hub gave '", path, "' no commit (X-Repo-Commit)"));
    meta.download_url = status >= 300 && result->has_header("Location")
                            ? resolve_location(split_url(url).value(), result->get_header_value("Location"))
                            : url;
    return meta;
}

Result<bool> HubClient::download(const FileMetadata& file, const RepoCache& cache, const ProgressCallback& progress) const {
    Result<DownloadLock> lock = DownloadLock::acquire(
        cache.lock_path(file.etag), [&] { return !progress || progress({file.path, 0, file.size, true}); });
    if (!lock.ok()) return lock.error().within(str_cat("'", file.path, "'"));
    std::error_code ec;
    if (std::filesystem::is_regular_file(cache.blob_path(file.etag), ec)) return false;
    const std::filesystem::path partial = cache.incomplete_path(file.etag);
    std::filesystem::create_directories(partial.parent_path(), ec);
    if (ec) return Error(str_cat("cannot create ", partial.parent_path().string(), ": ", ec.message()));
    std::string last_failure;
    for (int attempt = 0; attempt < kDownloadAttempts; ++attempt) {
        uint64_t have = std::filesystem::exists(partial, ec) ? std::filesystem::file_size(partial, ec) : 0;
        if (have > file.size) {   // not this file's beginning: start over
            std::filesystem::remove(partial, ec);
            have = 0;
        }
        if (have < file.size || !std::filesystem::exists(partial, ec)) {
            httplib::Headers headers{{"Accept-Encoding", "identity"}};
            if (have > 0) headers.emplace("Range", str_cat("bytes=", have, "-"));
            // The status decides how the body is kept: 206 continues the partial file, 200
            // starts it over; redirects' and errors' bodies are not written.
            std::unique_ptr<BlobWriter> writer;
            uint64_t done = have;
            bool misaligned = false;
            bool oversized = false;
            bool stopped = false;
            auto on_response = [&](const httplib::Response& response) {
                if (response.status == 206 && have > 0) {
                    // Content-Range: bytes START-END/TOTAL; anything but our offset is not this resume.
                    const std::string range = response.get_header_value("Content-Range");
                    if (!range.starts_with(str_cat("bytes ", have, "-"))) {
                        misaligned = true;
                        return false;
                    }
                    writer = std::make_unique<BlobWriter>(partial, true);
                } else if (response.status == 200) {
                    writer = std::make_unique<BlobWriter>(partial, false);
                    done = 0;
                } else {
                    return true;
                }
                return writer->ok();
            };
            auto on_body = [&](const char* data, size_t n) {
                if (!writer) return true;
                if (done + n > file.size) {   // a server sending more than it announced is cut off
                    oversized = true;
                    return false;
                }
                if (progress && !progress({file.path, done + n, file.size})) {
                    stopped = true;   // this piece is not written: `done` is what the file holds
                    return false;
                }
                done += n;
                return writer->write(data, n);
            };
            Result<httplib::Result> sent =
                Transfer(settings_).send("GET", file.download_url, headers, true, on_response, on_body);
            if (writer) {
                if (Status closed = writer->close(); !closed.ok()) return closed.error();   // a full disk: no retry
            }
            if (stopped)
                return Error(str_cat("'", file.path, "': the download was stopped at ", done, " of ", file.size,
                                     " bytes; run again to resume"));
            if (!sent.ok()) return sent.error();
            const httplib::Result& result = sent.value();
            if (oversized) {
                std::filesystem::remove(partial, ec);
                return Error(str_cat("'", file.path, "': the server sent more than the ", file.size, " bytes it announced"));
            }
            if (misaligned) {
                std::filesystem::remove(partial, ec);
                last_failure = "the server resumed at another offset";
                continue;
            }
            if (result && result->status == 416) {
                std::filesystem::remove(partial, ec);
                last_failure = "the server refused the resume range";
                continue;
            }
            if (result && (result->status == 429 || result->status >= 500)) {   // busy or failing: try again
                last_failure = str_cat("HTTP ", result->status);
                std::this_thread::sleep_for(std::chrono::milliseconds(500 << attempt));
                continue;
            }
            if (result && result->status >= 300)
                return Error(str_cat("'", file.path, "': the download answered HTTP ", result->status));
            if (!result) {
                last_failure = describe_failure("the connection failed", result);
                continue;   // resume from what arrived
            }
            if (!writer) (void)BlobWriter(partial, false).close();   // an empty file
        }
        have = std::filesystem::file_size(partial, ec);
        if (have != file.size) {
            last_failure = str_cat("received ", have, " of ", file.size, " bytes");
            continue;
        }
        if (Status verified = verify_against_etag(partial, file.etag); !verified.ok()) {
            std::filesystem::remove(partial, ec);
            return Error(str_cat("'", file.path, "': ", verified.error().message(), " (the partial file was removed)"));
        }
        std::filesystem::rename(partial, cache.blob_path(file.etag), ec);
        if (ec) return Error(str_cat("cannot move ", partial.string(), " into place: ", ec.message()));
        return true;
    }
    return Error(str_cat("'", file.path, "': the download failed after ", kDownloadAttempts, " attempts (", last_failure,
                         "); run the command again to resume"));
}

}  // namespace tern::hub
