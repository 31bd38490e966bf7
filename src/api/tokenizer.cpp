// tern::Tokenizer: the engine's tokenizer behind the public handle, ids checked at the boundary.
#include "tern/tokenizer.h"

#include "api/generation_parts.h"
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

Result<std::string> Tokenizer::decode(std::span<const int32_t> ids) const {
    TERN_TRY(api::check_token_ids(ids, vocab_size()));
    return impl_->tokenizer.decode(ids);
}

Result<std::string> Tokenizer::piece(int32_t id, bool special) const {
    TERN_TRY(api::check_token_ids(std::span(&id, 1), vocab_size()));
    return impl_->tokenizer.piece(id, special);
}

size_t Tokenizer::vocab_size() const { return impl_->tokenizer.vocab().size(); }

}  // namespace tern
