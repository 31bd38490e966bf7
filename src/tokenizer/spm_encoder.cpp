#include "tokenizer/spm_encoder.h"

#include <cmath>
#include <queue>
#include <string>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace tern::tokenizer {
namespace {

constexpr std::string_view kSpaceMarker = "\xe2\x96\x81";   // U+2581

struct Symbol {
    int prev;
    int next;
    size_t begin;   // byte range in the normalised text
    size_t size;    // 0 once merged into its left neighbour
};

struct Bigram {
    int left;
    int right;
    float score;
    size_t size;
    bool operator<(const Bigram& o) const {   // priority_queue pops the largest
        return score < o.score || (score == o.score && left > o.left);
    }
};

class SpmSession {
public:
    explicit SpmSession(const Vocabulary& vocab) : vocab_(vocab) {}

    void encode(std::string_view text, std::vector<int32_t>& out) {
        text_ = text;
        symbols_.clear();
        queue_ = {};
        for (size_t pos = 0; pos < text_.size();) {
            const size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(text_[pos])), text_.size() - pos);
            const int idx = static_cast<int>(symbols_.size());
            symbols_.push_back({idx - 1, idx + 1, pos, len});
            pos += len;
        }
        if (symbols_.empty()) return;
        symbols_.back().next = -1;
        for (size_t i = 1; i < symbols_.size(); ++i) try_add_bigram(static_cast<int>(i) - 1, static_cast<int>(i));
        while (!queue_.empty()) {
            const Bigram b = queue_.top();
            queue_.pop();
            Symbol& left = symbols_[b.left];
            Symbol& right = symbols_[b.right];
            if (left.size == 0 || right.size == 0 || left.size + right.size != b.size) continue;   // stale
            left.size += right.size;
            right.size = 0;
            left.next = right.next;
            if (right.next >= 0) symbols_[right.next].prev = b.left;
            try_add_bigram(left.prev, b.left);
            try_add_bigram(b.left, left.next);
        }
        for (int i = 0; i >= 0; i = symbols_[i].next) resegment(symbols_[i].begin, symbols_[i].size, out);
    }

private:
    std::string_view view(size_t begin, size_t size) const { return text_.substr(begin, size); }

    void try_add_bigram(int left, int right) {
        if (left < 0 || right < 0) return;
        const size_t begin = symbols_[left].begin, size = symbols_[left].size + symbols_[right].size;
        const int32_t id = vocab_.find(view(begin, size));
        if (id < 0 || vocab_.scores[id] == -INFINITY) return;   // -inf: a token no merge produces
        queue_.push({left, right, vocab_.scores[id], size});
    }

    // Only pairs whose concatenation is a token are ever merged, so a symbol that is not a
    // token is a single character: it falls back to its bytes.
    void resegment(size_t begin, size_t size, std::vector<int32_t>& out) {
        const std::string_view piece = view(begin, size);
        if (const int32_t id = vocab_.find(piece); id >= 0) {
            out.push_back(id);
            return;
        }
        // A vocabulary with neither the byte token nor an unknown token has no id for it: the
        // byte is dropped (as llama.cpp does) rather than given an id outside the vocabulary.
        for (unsigned char c : piece) {
            const int32_t id = vocab_.byte_tokens[c] >= 0 ? vocab_.byte_tokens[c] : vocab_.unk;
            if (id >= 0) out.push_back(id);
        }
    }

    const Vocabulary& vocab_;
    std::string_view text_;
    std::vector<Symbol> symbols_;
    std::priority_queue<Bigram> queue_;
};

}  // namespace

void spm_encode(const Vocabulary& vocab, std::string_view text, bool space_prefix, std::vector<int32_t>& out) {
    std::string normalised;
    normalised.reserve(text.size() * 2 + 3);
    if (space_prefix) normalised += kSpaceMarker;
    // Invalid UTF-8 would make "characters" that swallow the following bytes; replace it first.
    for (char c : sanitize_utf8(text)) {
        if (c == ' ')
            normalised += kSpaceMarker;
        else
            normalised += c;
    }
    SpmSession session(vocab);
    if (!vocab.spm_tokens_stay_in_words) {
        session.encode(normalised, out);
        return;
    }
    // No token holds a space marker after another character, so no merge can cross the start
    // of a word (a run of markers and what follows it): each word is merged on its own, which
    // gives the same ids and keeps the work per merge small on long texts.
    size_t word = 0;
    for (size_t i = kSpaceMarker.size(); i + kSpaceMarker.size() <= normalised.size(); ++i) {
        if (std::string_view(normalised).substr(i, kSpaceMarker.size()) != kSpaceMarker) continue;
        if (std::string_view(normalised).substr(i - kSpaceMarker.size(), kSpaceMarker.size()) == kSpaceMarker) continue;
        session.encode(std::string_view(normalised).substr(word, i - word), out);
        word = i;
    }
    session.encode(std::string_view(normalised).substr(word), out);
}

}  // namespace tern::tokenizer
