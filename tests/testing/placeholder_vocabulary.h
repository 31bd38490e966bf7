// A SentencePiece-style vocabulary of n tokens for tests that write a model file: <unk>, <s>,
// </s>, then "▁t3", "▁t4", ... (ids are what matter, the text is a placeholder).
#pragma once

#include <cstddef>

#include "tokenizer/vocabulary.h"

namespace tern::testing {

tokenizer::Vocabulary placeholder_vocabulary(size_t n_vocab);

}  // namespace tern::testing
