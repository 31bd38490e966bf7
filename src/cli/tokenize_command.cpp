// `tern tokenize`: text to token ids with a model's tokenizer, like llama-tokenize, through the
// public API (tern::Tokenizer).
#include <cstdio>

#include "cli/commands.h"
#include "cli/download_progress.h"
#include "core/mapped_file.h"
#include "tern/tokenizer.h"

namespace tern::cli {

int run_tokenize(const TokenizeOptions& options) {
    if (options.text.empty() == options.file.empty()) return report_failure("tokenize: give either TEXT or -f FILE");
    std::string text = options.text;
    if (!options.file.empty()) {
        Result<std::string> read = read_text_file(options.file, size_t{1} << 30);
        if (!read.ok()) return report_failure(read.error().message());
        text = std::move(read).value();
    }
    Result<Tokenizer> tok = [&] {
        DownloadProgress progress;
        Result<Tokenizer> loaded = Tokenizer::load(options.model, {.revision = "main", .on_download = progress.reporter()});
        progress.finish();
        return loaded;
    }();
    if (!tok.ok()) return report_failure(tok.error().message());
    const std::vector<int32_t> ids = tok.value().encode(text, !options.no_special, !options.no_special);
    if (options.ids_only) {
        for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
        std::printf("\n");
        return 0;
    }
    for (int32_t id : ids) std::printf("%6d -> '%s'\n", id, tok.value().piece(id).value().c_str());
    return 0;
}

}  // namespace tern::cli
