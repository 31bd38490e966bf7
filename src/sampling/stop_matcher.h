// Stop strings over streamed text. A stop string may span several tokens, so text that could
// be the start of one is held back until the next token decides: the client never sees a
// partial stop string, and never sees anything after a complete one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern::sampling {

class StopMatcher {
public:
    explicit StopMatcher(std::vector<std::string> stops);

    // Adds generated text; returns what can be shown now. Once a stop string has appeared,
    // stopped() is true and the returned text ends just before it.
    std::string push(std::string_view text);
    // End of generation without a stop string: the text held back.
    std::string flush();
    bool stopped() const { return stopped_; }

private:
    size_t held_back_length() const;   // longest suffix of held_ that begins a stop string

    std::vector<std::string> stops_;
    std::string held_;
    bool stopped_ = false;
};

}  // namespace tern::sampling
