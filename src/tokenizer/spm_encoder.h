// SentencePiece-style encoding (llama.cpp `llm_tokenizer_spm`, equal to HF for LLaMA
// vocabularies): spaces become U+2581, then the adjacent pair whose concatenation is the
// highest-scoring token is merged until none is left (ties: leftmost); characters that are
// not tokens fall back to <0xNN> byte tokens.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {

// Appends the ids of one plain-text fragment; `space_prefix` prepends one space first.
void spm_encode(const Vocabulary& vocab, std::string_view text, bool space_prefix, std::vector<int32_t>& out);

}  // namespace tern::tokenizer
