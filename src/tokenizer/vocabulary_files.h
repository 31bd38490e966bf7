// Which file a vocabulary comes from when a user names a folder or a file: one rule for every
// command (run, tokenize, convert, serve), so they never disagree about what a folder holds.
#pragma once

#include <string>

#include "tern/status.h"
#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {

// A folder (its tokenizer.json, else its tokenizer.model), a tokenizer.json-style `.json`
// file, or a SentencePiece model file; each read with its sibling tokenizer_config.json and
// chat_template.jinja. Errors: a folder with neither file, or the reader's error.
Result<Vocabulary> vocabulary_from_path(const std::string& path);

}  // namespace tern::tokenizer
