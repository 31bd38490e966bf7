// Hugging Face tokenizer_config.json, as both folder tokenizers (tokenizer.json and
// SentencePiece tokenizer.model) read it: special tokens named by text, the add_bos/add_eos
// flags, and the Jinja chat template kept verbatim for converted files.
#pragma once

#include <string>
#include <string_view>

#include "tern/status.h"
#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {

// Applies the fields it finds to an indexed vocabulary (bos_token / eos_token only when the
// vocabulary has that text). chat_template may be a string or a list of {name, template}
// (the one named "default", else the first). Errors: text that is not a JSON object.
Status apply_tokenizer_config(std::string_view config_json, Vocabulary& vocab);

// The text of the tokenizer_config.json beside `vocabulary_file`; empty when there is none.
Result<std::string> sibling_tokenizer_config(const std::string& vocabulary_file);

// A folder's chat_template.jinja (newer Hugging Face folders keep the template there), which
// takes precedence over tokenizer_config.json's; nothing when the file is absent.
Status apply_chat_template_file(const std::string& dir, Vocabulary& vocab);

}  // namespace tern::tokenizer
