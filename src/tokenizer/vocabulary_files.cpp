#include "tokenizer/vocabulary_files.h"

#include <filesystem>

#include "core/str_cat.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/spm_model_file.h"

namespace tern::tokenizer {

Result<Vocabulary> vocabulary_from_path(const std::string& path) {
    const std::filesystem::path p(path);
    std::error_code ec;
    if (!std::filesystem::is_directory(p, ec))
        return p.extension() == ".json" ? vocabulary_from_hf_json_file(path) : vocabulary_from_spm_file(path);
    if (std::filesystem::exists(p / "tokenizer.json", ec)) return vocabulary_from_hf_folder(path);
    if (std::filesystem::exists(p / "tokenizer.model", ec)) return vocabulary_from_spm_folder(path);
    return Error(str_cat(path, ": no tokenizer.json or tokenizer.model in this folder"));
}

}  // namespace tern::tokenizer
