// Vocabularies from a Hugging Face folder: tokenizer.json (byte-level BPE: vocab, merges as
// "a b" strings or ["a", "b"] pairs, added_tokens, the pre-tokenizer regex) and optionally
// tokenizer_config.json (bos/eos tokens, add_bos_token). The pre-tokenizer must be one tern
// implements exactly (Llama-3's Split regex, or GPT-2's ByteLevel regex); anything else is
// refused with the pattern in the message rather than tokenized differently.
#pragma once

#include <string>
#include <string_view>

#include "tern/status.h"
#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {

// `config_json` may be empty (no tokenizer_config.json).
Result<Vocabulary> vocabulary_from_hf_json(std::string_view tokenizer_json, std::string_view config_json);

// Reads dir/tokenizer.json and, if present, dir/tokenizer_config.json.
Result<Vocabulary> vocabulary_from_hf_folder(const std::string& dir);

}  // namespace tern::tokenizer
