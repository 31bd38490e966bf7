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

// tokenizer.model of an HF folder, with add_bos_token / add_eos_token from its
// tokenizer_config.json when present.
Result<Vocabulary> vocabulary_from_spm_folder(const std::string& dir);

}  // namespace tern::tokenizer
