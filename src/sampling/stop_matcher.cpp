#include "sampling/stop_matcher.h"

#include <algorithm>

namespace tern::sampling {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
    std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopMatcher::push(std::string_view text) {
    if (stopped_) return {};
    held_ += text;
    size_t first = std::string::npos;
    for (const std::string& stop : stops_) first = std::min(first, held_.find(stop));
    if (first != std::string::npos) {
        stopped_ = true;
        std::string shown = held_.substr(0, first);
        held_.clear();
        return shown;
    }
    const size_t keep = held_back_length();
    std::string shown = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return shown;
}

std::string StopMatcher::flush() {
    std::string rest = stopped_ ? std::string() : std::move(held_);
    held_.clear();
    return rest;
}

size_t StopMatcher::held_back_length() const {
    size_t keep = 0;
    for (const std::string& stop : stops_) {
        // Longest proper prefix of `stop` that ends held_ (a whole match was handled above).
        for (size_t n = std::min(stop.size() - 1, held_.size()); n > keep; --n)
            if (std::string_view(held_).substr(held_.size() - n) == std::string_view(stop).substr(0, n)) {
                keep = n;
                break;
            }
    }
    return keep;
}

}  // namespace tern::sampling
