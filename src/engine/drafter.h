// Where speculative decoding's guesses come from. A drafter proposes the tokens it expects to
// follow a sequence; the target model then checks them all in one forward step. Drafters here
// are deterministic (a draft is a definite guess, not a distribution), which is what lets the
// generator keep plain decoding's output exactly (see speculative_generator.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tern/status.h"

namespace tern::engine {

class Drafter {
public:
    virtual ~Drafter() = default;
    // Up to `max_tokens` guesses of what follows `context` (every token of the sequence so far),
    // replacing `out`; none is a valid answer.
    virtual Status draft(std::span<const int32_t> context, size_t max_tokens, std::vector<int32_t>& out) = 0;
};

}  // namespace tern::engine
