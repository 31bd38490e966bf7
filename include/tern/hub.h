// Models from the Hugging Face Hub, into the cache huggingface_hub shares (HF_HOME,
// HF_HUB_CACHE; HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE honoured), so files Python tools
// downloaded are found and tern's are shared with them. Model::load and Tokenizer::load take
// Hub names too; pull() fetches without loading (`tern pull` is this call).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern {

struct PullOptions {
    std::string revision = "main";   // a branch, tag or commit
    // Called as a file's bytes arrive: the file, its bytes so far, its size.
    std::function<void(std::string_view file, uint64_t done, uint64_t total)> on_download = {};
    // Called (about every 50 ms) while another process downloads the same file and this one waits.
    std::function<void(std::string_view file)> on_wait = {};
    // Set from any thread to stop: pull() fails with one line and a partial file stays for a resume.
    const std::atomic<bool>* cancel = nullptr;
};

struct PulledModel {
    std::string path;                // what to load: the one GGUF file selected, else the snapshot folder
    std::string commit;              // the revision's commit
    std::vector<std::string> files;  // the files selected, all in the cache now
    size_t downloaded = 0;           // of those, fetched by this call (the rest were cached)
};

// Fetches `spec` (ORG/NAME, ORG/NAME:FILE or ORG/NAME:GLOB): checksums verified against the
// Hub's LFS ids, interrupted downloads resumed, redirects followed, never a partial file under
// its final name. Without a file or glob: the repository's one GGUF, else its Hugging Face
// folder. Errors: a bad spec, 401/404, a bad checksum, a full disk, HF_HUB_OFFLINE with files
// missing; one line each.
Result<PulledModel> pull(const std::string& spec, const PullOptions& options = {});

}  // namespace tern
