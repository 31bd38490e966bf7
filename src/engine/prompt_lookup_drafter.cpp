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
        // The latest earlier copy of the suffix whose continuation is long enough, since nearby
        // text predicts better than distant text; failing that, the copy with the longest
        // continuation (in a run of one repeated token the latest copy has one token after it).
        // A copy starts at `start` and must end before the suffix itself does.
        size_t chosen = n;
        for (size_t start = n - len; start-- > 0;) {
            if (!std::equal(suffix.begin(), suffix.end(), context.begin() + start)) continue;
            chosen = start;
            if (n - (start + len) >= max_tokens) break;
        }
        if (chosen == n) continue;
        const size_t follow = chosen + len;
        out.assign(context.begin() + follow, context.begin() + follow + std::min(max_tokens, n - follow));
        return {};
    }
    return {};
}

}  // namespace tern::engine
