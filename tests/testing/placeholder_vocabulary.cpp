#include "testing/placeholder_vocabulary.h"

#include <string>

namespace tern::testing {

tokenizer::Vocabulary placeholder_vocabulary(size_t n_vocab) {
    tokenizer::Vocabulary v;
    for (size_t i = 0; i < n_vocab; ++i) {
        v.tokens.push_back(i < 3 ? (i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>") : "\xe2\x96\x81t" + std::to_string(i));
        v.scores.push_back(-static_cast<float>(i));
        v.types.push_back(i < 3 ? tokenizer::TokenType::kControl : tokenizer::TokenType::kNormal);
    }
    v.bos = 1;
    v.eos = 2;
    v.add_bos = true;
    v.add_space_prefix = true;
    tokenizer::index_vocabulary(v);
    return v;
}

}  // namespace tern::testing
