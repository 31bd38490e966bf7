// SentencePiece's tokenizer.model (a serialised sentencepiece::ModelProto), read without the
// protobuf library: the pieces with their scores and types, the special ids of the trainer
// spec and the normaliser's add_dummy_prefix. Hugging Face folders of LLaMA-family models
// (LLaMA-2, iFairy, Fairy2i, MMfreeLM) often ship only this file.
#pragma once

#include <span>
#include <string>

#include "tern/status.h"
#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {

// Errors: a truncated or malformed message (named by byte offset), no pieces, a special id
// outside the pieces.
Result<Vocabulary> vocabulary_from_spm_model(std::span<const std::byte> bytes);

// A tokenizer.model file, with the tokenizer_config.json (special tokens, add_bos_token /
// add_eos_token) and chat_template.jinja beside it when present.
Result<Vocabulary> vocabulary_from_spm_file(const std::string& path);

// vocabulary_from_spm_file of dir/tokenizer.model.
Result<Vocabulary> vocabulary_from_spm_folder(const std::string& dir);

}  // namespace tern::tokenizer
