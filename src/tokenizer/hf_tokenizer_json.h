// Vocabularies from a Hugging Face folder: tokenizer.json and optionally tokenizer_config.json
// (bos/eos tokens, add_bos_token). Two kinds of tokenizer.json are read:
//  * byte-level BPE (vocab, merges as "a b" strings or ["a", "b"] pairs, added_tokens) whose
//    pre-tokenizer is Split regexes (isolated matches) and ByteLevel, applied as written
//    (Llama 3, Qwen 2 / 2.5 / 3, DeepSeek V3, GPT-2, ...), and whose normaliser is NFC or none;
//    other steps are refused, named in the message, rather than tokenized differently;
//  * LLaMA-2-style BPE with byte fallback over U+2581-normalised text (Prepend + Replace, or
//    Metaspace), run by the SentencePiece encoder with scores derived from the merge ranks.
#pragma once

#include <string>
#include <string_view>

#include "tern/status.h"
#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {

// `config_json` may be empty (no tokenizer_config.json).
Result<Vocabulary> vocabulary_from_hf_json(std::string_view tokenizer_json, std::string_view config_json);

// Reads a tokenizer.json and, if present, the tokenizer_config.json and chat_template.jinja
// beside it.
Result<Vocabulary> vocabulary_from_hf_json_file(const std::string& path);

// vocabulary_from_hf_json_file of dir/tokenizer.json.
Result<Vocabulary> vocabulary_from_hf_folder(const std::string& dir);

}  // namespace tern::tokenizer
