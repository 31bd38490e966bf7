// Checks a downloaded file against the Hub's etag: the SHA-256 of LFS files (64 hex digits) or
// the git blob SHA-1 of regular files (40 hex digits), computed with OpenSSL.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern::hub {

Result<std::string> sha256_hex(const std::filesystem::path& path);
// SHA-1 of "blob SIZE\0" + the file, as git names the file's content.
Result<std::string> git_blob_sha1_hex(const std::filesystem::path& path);

// Ok when the file matches the etag, or when the etag is neither kind of hash.
Status verify_against_etag(const std::filesystem::path& path, std::string_view etag);

}  // namespace tern::hub
