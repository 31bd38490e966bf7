#include "hub/file_digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "core/str_cat.h"

namespace tern::hub {
namespace {

bool all_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<std::string> digest_hex(const std::filesystem::path& path, const EVP_MD* algorithm, std::string_view prefix) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!context || EVP_DigestInit_ex(context.get(), algorithm, nullptr) != 1) return Error("OpenSSL digest setup failed");
    std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!file) return Error(str_cat("cannot read ", path.string()));
    if (!prefix.empty()) EVP_DigestUpdate(context.get(), prefix.data(), prefix.size());
    std::vector<unsigned char> buffer(size_t{1} << 20);
    for (size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0;)
        EVP_DigestUpdate(context.get(), buffer.data(), n);
    if (std::ferror(file.get())) return Error(str_cat("cannot read ", path.string()));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context.get(), digest, &length);
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        char pair[3];
        std::snprintf(pair, sizeof pair, "%02x", digest[i]);
        hex += pair;
    }
    return hex;
}

}  // namespace

Result<std::string> sha256_hex(const std::filesystem::path& path) { return digest_hex(path, EVP_sha256(), ""); }

Result<std::string> git_blob_sha1_hex(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return Error(str_cat("cannot read ", path.string(), ": ", ec.message()));
    const std::string header = str_cat("blob ", size) + std::string(1, '\0');
    return digest_hex(path, EVP_sha1(), header);
}

Status verify_against_etag(const std::filesystem::path& path, std::string_view etag) {
    if (!all_hex(etag) || (etag.size() != 64 && etag.size() != 40)) return {};
    TERN_ASSIGN_OR_RETURN(const std::string actual, etag.size() == 64 ? sha256_hex(path) : git_blob_sha1_hex(path));
    if (actual != etag)
        return Error(str_cat("checksum mismatch: the Hub says ", etag.size() == 64 ? "SHA-256 " : "git SHA-1 ", etag,
                             ", the download is ", actual));
    return {};
}

}  // namespace tern::hub
