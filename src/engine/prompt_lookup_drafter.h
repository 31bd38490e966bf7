// Prompt-lookup drafting: when the last few tokens of a sequence occurred before (in the prompt
// or in what was generated), guess that what followed them then follows them now. Summaries,
// edits, code changes and quotes repeat their input, so such guesses are often right; the guess
// costs a search, not a model.
#pragma once

#include "engine/drafter.h"

namespace tern::engine {

struct PromptLookupOptions {
    size_t max_ngram = 4;   // the longest suffix searched for first
    size_t min_ngram = 2;   // shorter suffixes match too often by chance
};

class PromptLookupDrafter : public Drafter {
public:
    explicit PromptLookupDrafter(PromptLookupOptions options = {}) : options_(options) {}

    // The tokens that followed the latest earlier occurrence of the longest matching suffix.
    Status draft(std::span<const int32_t> context, size_t max_tokens, std::vector<int32_t>& out) override;

private:
    PromptLookupOptions options_;
};

}  // namespace tern::engine
