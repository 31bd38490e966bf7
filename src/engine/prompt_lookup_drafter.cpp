#include "engine/prompt_lookup_drafter.h"

#include <algorithm>

namespace tern::engine {

Status PromptLookupDrafter::draft(std::span<const int32_t> context, size_t max_tokens, std::vector<int32_t>& out) {
    out.clear();
    if (max_tokens == 0) return {};
    const size_t n = context.size();
    for (size_t len = std::min(options_.max_ngram, n > 0 ? n - 1 : 0); len >= std::max<size_t>(options_.min_ngram, 1);
         --len) {
        const std::span<const int32_t> suffix = context.subspan(n - len);
        // Latest occurrence first: nearby text predicts better than distant text. `start` is
        // where an earlier copy of the suffix begins; it must end before the suffix itself does.
        for (size_t start = n - len; start-- > 0;) {
            if (!std::equal(suffix.begin(), suffix.end(), context.begin() + start)) continue;
            const size_t follow = start + len;
            const size_t take = std::min(max_tokens, n - follow);
            out.assign(context.begin() + follow, context.begin() + follow + take);
            return {};
        }
    }
    return {};
}

}  // namespace tern::engine
