// A model's tokenizer on its own, without its weights: from a GGUF file, a model folder, a bare
// tokenizer.json or tokenizer.model, or a Hub name. Immutable once loaded; a Tokenizer is a
// cheap handle (copies share it) and may be used from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern {

struct TokenizerLoadOptions {
    std::string revision = "main";   // a Hub name's branch, tag or commit
    // Called while a Hub name's files download: the file, bytes done and bytes in all.
    std::function<void(std::string_view file, uint64_t done, uint64_t total)> on_download = {};
};

class Tokenizer {
public:
    static Result<Tokenizer> load(const std::string& path, const TokenizerLoadOptions& options = {});

    // add_special: the BOS/EOS the tokenizer adds around a text; parse_special: special-token
    // texts in `text` (such as "<|eot_id|>") become their ids rather than plain text.
    std::vector<int32_t> encode(std::string_view text, bool add_special = true, bool parse_special = true) const;
    // Errors name the first id outside the vocabulary.
    Result<std::string> decode(std::span<const int32_t> ids) const;
    // One token's text; special tokens' own text when `special`, else nothing for them.
    Result<std::string> piece(int32_t id, bool special = true) const;
    size_t vocab_size() const;

private:
    struct Impl;
    explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const Impl> impl_;
};

}  // namespace tern
