// tern::Tokenizer: the engine's tokenizer behind the public handle, ids checked at the boundary.
#include "tern/tokenizer.h"

#include "core/str_cat.h"
#include "engine/model_loading.h"
#include "hub/pull.h"
#include "tokenizer/tokenizer.h"

namespace tern {

struct Tokenizer::Impl {
    tokenizer::Tokenizer tokenizer;
};

Result<Tokenizer> Tokenizer::load(const std::string& source, const TokenizerLoadOptions& options) {
    hub::ProgressCallback progress;
    if (options.on_download)
        progress = [&](const hub::DownloadProgress& p) {
            options.on_download(p.path, p.done, p.total);
            return true;
        };
    TERN_ASSIGN_OR_RETURN(const std::string path, hub::local_model_path(source, options.revision, progress));
    TERN_ASSIGN_OR_RETURN(tokenizer::Tokenizer tok, engine::load_tokenizer(path));
    return Tokenizer(std::make_shared<const Impl>(Impl{std::move(tok)}));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    return impl_->tokenizer.encode(text, add_special, parse_special);
}

Status Tokenizer::check_id(int32_t id, size_t index) const {
    if (id < 0 || static_cast<size_t>(id) >= vocab_size())
        return Error(str_cat("token ", index, " is id ", id, ", outside the vocabulary of ", vocab_size()));
    return {};
}

Result<std::string> Tokenizer::decode(std::span<const int32_t> ids) const {
    for (size_t i = 0; i < ids.size(); ++i) TERN_TRY(check_id(ids[i], i));
    return impl_->tokenizer.decode(ids);
}

Result<std::string> Tokenizer::piece(int32_t id, bool special) const {
    TERN_TRY(check_id(id, 0));
    return impl_->tokenizer.piece(id, special);
}

size_t Tokenizer::vocab_size() const { return impl_->tokenizer.vocab().size(); }

}  // namespace tern
