#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "core/str_cat.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/spm_encoder.h"
#include "tokenizer/unicode_normalization.h"
#include "tokenizer/utf8.h"

namespace tern::tokenizer {
namespace {

// The byte of a "<0xHH>" piece (hex digits in either case), or -1 for any other text.
int byte_token_value(std::string_view text) {
    if (text.size() != 6 || !text.starts_with("<0x") || text[5] != '>') return -1;
    const auto digit = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    const int high = digit(text[3]), low = digit(text[4]);
    return high < 0 || low < 0 ? -1 : high * 16 + low;
}

}  // namespace

namespace {

constexpr std::string_view kSpaceMarker = "\xe2\x96\x81";

bool is_special_type(TokenType t) {
    return t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown;
}

std::string replace_space_markers(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text.substr(i, kSpaceMarker.size()) == kSpaceMarker) {
            out += ' ';
            i += kSpaceMarker.size();
        } else {
            out += text[i++];
        }
    }
    return out;
}

}  // namespace

Tokenizer::Tokenizer(Vocabulary vocab, std::unique_ptr<BpeEncoder> bpe) : vocab_(std::move(vocab)), bpe_(std::move(bpe)) {
    for (size_t i = 0; i < vocab_.size(); ++i)
        if (is_special_type(vocab_.types[i]) && !vocab_.tokens[i].empty())
            specials_longest_first_.push_back(static_cast<int32_t>(i));
    std::stable_sort(specials_longest_first_.begin(), specials_longest_first_.end(), [this](int32_t a, int32_t b) {
        return vocab_.tokens[a].size() > vocab_.tokens[b].size();
    });
}

Result<Tokenizer> Tokenizer::from_vocabulary(Vocabulary vocab) {
    std::unique_ptr<BpeEncoder> bpe;
    if (vocab.kind == VocabKind::kBpe) {
        TERN_ASSIGN_OR_RETURN(bpe, BpeEncoder::create(vocab));
        // As llama.cpp: Llama 3's, Tekken's and Chameleon's pre-tokenizers add BOS unless the
        // file says otherwise; Gemma 4's always does (llama.cpp overrides files that say not).
        const std::string& pre = bpe->pre_tokenizer();
        if ((pre == "llama3" || pre == "tekken" || pre == "chameleon") && !vocab.add_bos_given) vocab.add_bos = true;
        if (pre == "gemma4") vocab.add_bos = true;
    }
    return Tokenizer(std::move(vocab), std::move(bpe));
}

Result<Tokenizer> Tokenizer::from_gguf(const format::GgufContents& gguf) {
    TERN_ASSIGN_OR_RETURN(Vocabulary vocab, vocabulary_from_gguf(gguf));
    return from_vocabulary(std::move(vocab));
}

void Tokenizer::encode_fragment(std::string_view text, bool first_or_after_special, std::vector<int32_t>& out) const {
    if (bpe_)
        bpe_->encode(vocab_, text, out);
    else
        spm_encode(vocab_, text, vocab_.add_space_prefix && first_or_after_special, out);
}

std::vector<Tokenizer::Fragment> Tokenizer::split_specials(std::string_view text, bool parse_special) const {
    std::vector<Fragment> fragments = {{-1, std::string(text)}};
    for (int32_t id : specials_longest_first_) {
        if (!parse_special && vocab_.types[id] != TokenType::kUserDefined) continue;
        const std::string& special = vocab_.tokens[id];
        // Added tokens that take the white space beside them into their match.
        const bool lstrip = std::binary_search(vocab_.lstrip_tokens.begin(), vocab_.lstrip_tokens.end(), id);
        const bool rstrip = std::binary_search(vocab_.rstrip_tokens.begin(), vocab_.rstrip_tokens.end(), id);
        std::vector<Fragment> split;
        for (Fragment& f : fragments) {
            if (f.id >= 0 || f.text.find(special) == std::string::npos) {
                split.push_back(std::move(f));
                continue;
            }
            std::string_view rest = f.text;
            for (size_t at; (at = rest.find(special)) != std::string_view::npos;) {
                const std::string_view before = strip_white_space(rest.substr(0, at), false, lstrip);
                if (!before.empty()) split.push_back({-1, std::string(before)});
                split.push_back({id, {}});
                rest = strip_white_space(rest.substr(at + special.size()), rstrip, false);
            }
            if (!rest.empty()) split.push_back({-1, std::string(rest)});
        }
        fragments = std::move(split);
    }
    return fragments;
}

std::vector<int32_t> Tokenizer::encode_fragments(const std::vector<Fragment>& fragments, bool add_special) const {
    std::vector<int32_t> ids;
    if (add_special && vocab_.add_bos && vocab_.bos >= 0) ids.push_back(vocab_.bos);
    bool after_special = true;
    for (const Fragment& f : fragments) {
        if (f.id >= 0) {
            ids.push_back(f.id);
            after_special = true;
        } else if (!f.text.empty()) {
            encode_fragment(f.text, after_special, ids);
            after_special = false;
        }
    }
    if (add_special && vocab_.add_eos && vocab_.eos >= 0) ids.push_back(vocab_.eos);
    return ids;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    return encode_fragments(split_specials(text, parse_special), add_special);
}

std::vector<int32_t> Tokenizer::encode_parts(const std::vector<std::pair<std::string_view, bool>>& parts,
                                             bool add_special) const {
    std::vector<Fragment> fragments;
    for (const auto& [text, parse_special] : parts) {
        for (Fragment& f : split_specials(text, parse_special)) {
            // Text on both sides of a part boundary is one fragment, as in the joined string.
            if (f.id < 0 && !fragments.empty() && fragments.back().id < 0)
                fragments.back().text += f.text;
            else
                fragments.push_back(std::move(f));
        }
    }
    return encode_fragments(fragments, add_special);
}

std::string Tokenizer::piece(int32_t id, bool special) const {
    if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) return {};
    const std::string& text = vocab_.tokens[id];
    switch (vocab_.types[id]) {
        case TokenType::kControl:
        case TokenType::kUnknown:
            return special ? text : std::string();
        case TokenType::kUserDefined:
            // Added tokens go through the decoder too: a SentencePiece vocabulary's "▁▁" is two spaces.
            return bpe_ ? text : replace_space_markers(text);
        case TokenType::kByte:
            // A hostile file can mark any text as a byte token: only a well-formed <0xHH> is one.
            if (const int value = byte_token_value(text); value >= 0) return std::string(1, static_cast<char>(value));
            return text;
        default:
            if (bpe_ && !bpe_->sentencepiece_alphabet()) {
                std::string bytes;
                unmap_bytes(text, bytes);
                return bytes;
            }
            return replace_space_markers(text);
    }
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool special) const {
    std::string text;
    for (int32_t id : ids) text += piece(id, special);
    return text;
}

std::string StreamingDecoder::push(int32_t id) {
    pending_ += tokenizer_.piece(id);
    const size_t hold = incomplete_utf8_suffix(pending_);
    std::string ready = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return ready;
}

std::string StreamingDecoder::flush() { return std::exchange(pending_, std::string()); }

}  // namespace tern::tokenizer
