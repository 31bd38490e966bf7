#include "tokenizer/bpe_encoder.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <queue>

#include "core/str_cat.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/unicode_normalization.h"
#include "tokenizer/utf8.h"

namespace tern::tokenizer {
namespace {

// The official 2B4T GGUF has no tokenizer.ggml.pre; its vocabulary is Llama 3's.
bool looks_like_llama3(const Vocabulary& vocab) {
    return vocab.size() == 128256 && vocab.tokens[128000] == "<|begin_of_text|>";
}

struct Bigram {
    int left;
    int right;
    int32_t rank;
    size_t size;
    bool operator<(const Bigram& o) const { return rank > o.rank || (rank == o.rank && left > o.left); }
};

// Spaces as SentencePiece writes them (U+2581).
std::string escape_spaces(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == ' ') out += "\xe2\x96\x81";
        else out += c;
    }
    return out;
}

struct Symbol {
    int prev;
    int next;
    size_t begin;
    size_t size;
};

}  // namespace

struct BpeEncoder::Regex {
    pcre2_code* code = nullptr;
    bool matches_only = false;   // the text between matches is dropped (kMatchesOnlyMarker)
    ~Regex() { pcre2_code_free(code); }
};

BpeEncoder::BpeEncoder(std::string pre, std::vector<std::unique_ptr<Regex>> regexes, bool ignore_merges,
                       TextNormalization normalization, bool sentencepiece_alphabet)
    : pre_(std::move(pre)),
      regexes_(std::move(regexes)),
      ignore_merges_(ignore_merges),
      normalization_(normalization),
      sentencepiece_alphabet_(sentencepiece_alphabet) {}

BpeEncoder::~BpeEncoder() = default;

Result<PreTokenizer> pre_tokenizer_of(const Vocabulary& vocab) {
    if (!vocab.pre_patterns.empty())
        return PreTokenizer{.name = vocab.pre, .patterns = vocab.pre_patterns, .ignore_merges = vocab.pre_ignore_merges};
    if (vocab.pre.empty() && looks_like_llama3(vocab)) return *pre_tokenizer_by_name("llama3");
    if (std::optional<PreTokenizer> known = pre_tokenizer_by_name(vocab.pre)) return *known;
    return Error(str_cat("pre-tokenizer '", vocab.pre.empty() ? "(none)" : vocab.pre, "' is not supported (",
                         pre_tokenizer_names(), ")"));
}

Result<std::unique_ptr<BpeEncoder>> BpeEncoder::create(const Vocabulary& vocab) {
    TERN_ASSIGN_OR_RETURN(const PreTokenizer pre, pre_tokenizer_of(vocab));
    std::vector<std::unique_ptr<Regex>> regexes;
    for (const std::string& pattern : pre.patterns) {
        auto regex = std::make_unique<Regex>();
        regex->matches_only = pattern.starts_with(kMatchesOnlyMarker);
        int error = 0;
        PCRE2_SIZE offset = 0;
        regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                    PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
        if (regex->code == nullptr) {
            PCRE2_UCHAR message[120];
            pcre2_get_error_message(error, message, sizeof message);
            return Error(str_cat("pre-tokenizer regex '", pattern, "' does not compile at offset ", offset, ": ",
                                 reinterpret_cast<const char*>(message)));
        }
        pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE);   // falls back to the interpreter if JIT is unavailable
        regexes.push_back(std::move(regex));
    }
    std::unique_ptr<BpeEncoder> encoder(
        new BpeEncoder(pre.name, std::move(regexes), pre.ignore_merges, vocab.normalization, pre.sentencepiece_alphabet));
    encoder->rank_.reserve(vocab.merges.size());
    for (size_t i = 0; i < vocab.merges.size(); ++i) {
        const std::string& merge = vocab.merges[i];
        const size_t space = merge.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 == merge.size() ||
            merge.find(' ', space + 1) != std::string::npos)
            return Error(str_cat("merge ", i, " '", merge, "' is not two symbols separated by one space"));
        encoder->rank_.emplace(merge, static_cast<int32_t>(i));
    }
    return encoder;
}

// Cuts `text` into the words of one regex: its matches, and the text between them unless the
// regex keeps only its matches. An empty match (a lookahead such as SuperBPE's) is a cut with no
// word of its own, as in Hugging Face's Split and llama.cpp.
void BpeEncoder::split(const Regex& regex, std::string_view text, std::vector<std::string_view>& words) const {
    pcre2_match_data* match = pcre2_match_data_create_from_pattern(regex.code, nullptr);
    size_t start = 0;   // the first byte not yet in a word
    size_t from = 0;    // where the next search begins
    const auto keep_between = [&](size_t end) {
        if (end > start && !regex.matches_only) words.push_back(text.substr(start, end - start));
    };
    while (from < text.size()) {
        int rc = pcre2_match(regex.code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), from,
                             PCRE2_NO_UTF_CHECK, match, nullptr);
        // The JIT's fixed stack can run out on long words with nested repeats; the interpreter
        // keeps its backtracking on the heap.
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
            rc = pcre2_match(regex.code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), from,
                             PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match, nullptr);
        if (rc < 0) break;   // no match in the rest (or a match limit: the rest stays one word)
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
        keep_between(ovector[0]);
        start = std::max(start, static_cast<size_t>(ovector[0]));
        if (ovector[1] == ovector[0]) {
            from = ovector[0] + utf8_sequence_length(static_cast<unsigned char>(text[std::min(ovector[0], text.size() - 1)]));
            continue;
        }
        words.push_back(text.substr(ovector[0], ovector[1] - ovector[0]));
        start = from = ovector[1];
    }
    keep_between(text.size());
    pcre2_match_data_free(match);
}

void BpeEncoder::encode(const Vocabulary& vocab, std::string_view text, std::vector<int32_t>& out) const {
    std::string clean = sanitize_utf8(text);
    if (normalization_.any()) clean = normalization_.apply(clean);
    if (sentencepiece_alphabet_) clean = escape_spaces(clean);
    std::vector<std::string_view> words = {clean}, next;
    for (const auto& regex : regexes_) {
        next.clear();
        for (std::string_view word : words) split(*regex, word, next);
        words.swap(next);
    }
    for (std::string_view word : words) encode_word(vocab, word, out);
}

void BpeEncoder::encode_word(const Vocabulary& vocab, std::string_view word, std::vector<int32_t>& out) const {
    std::string mapped;
    if (sentencepiece_alphabet_) {
        mapped = word;
        // Gemma 4's merges do not build its line-break tokens: a run that is a token is taken whole.
        if (const int32_t id = vocab.find(word); id >= 0 && word.find_first_not_of('\n') == std::string_view::npos) {
            out.push_back(id);
            return;
        }
    } else {
        mapped.reserve(word.size() * 2);
        for (unsigned char b : word) mapped += byte_to_unicode()[b];
    }
    if (ignore_merges_) {
        if (const int32_t id = vocab.find(mapped); id >= 0) {
            out.push_back(id);
            return;
        }
    }
    std::vector<Symbol> symbols;
    for (size_t pos = 0; pos < mapped.size();) {
        const size_t len = utf8_sequence_length(static_cast<unsigned char>(mapped[pos]));
        const int idx = static_cast<int>(symbols.size());
        symbols.push_back({idx - 1, idx + 1, pos, len});
        pos += len;
    }
    symbols.back().next = -1;
    std::priority_queue<Bigram> queue;
    std::string key;
    auto add_bigram = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        key.assign(mapped, symbols[left].begin, symbols[left].size);
        key += ' ';
        key.append(mapped, symbols[right].begin, symbols[right].size);
        if (auto it = rank_.find(key); it != rank_.end())
            queue.push({left, right, it->second, symbols[left].size + symbols[right].size});
    };
    for (size_t i = 1; i < symbols.size(); ++i) add_bigram(static_cast<int>(i) - 1, static_cast<int>(i));
    while (!queue.empty()) {
        const Bigram b = queue.top();
        queue.pop();
        Symbol& left = symbols[b.left];
        Symbol& right = symbols[b.right];
        if (left.size == 0 || right.size == 0 || left.size + right.size != b.size || left.next != b.right) continue;
        left.size += right.size;
        right.size = 0;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = b.left;
        add_bigram(left.prev, b.left);
        add_bigram(b.left, left.next);
    }
    for (int i = 0; i >= 0; i = symbols[i].next) {
        const std::string_view piece = std::string_view(mapped).substr(symbols[i].begin, symbols[i].size);
        if (const int32_t id = vocab.find(piece); id >= 0) {
            out.push_back(id);
            continue;
        }
        // A symbol that is no token: SentencePiece's alphabet falls back to its byte tokens
        // (none: nothing, as llama.cpp); GPT-2's emits the characters one by one (each byte is a
        // token in every real byte-level vocabulary), else the unknown token.
        if (sentencepiece_alphabet_) {
            for (unsigned char b : piece)
                if (vocab.byte_tokens[b] >= 0) out.push_back(vocab.byte_tokens[b]);
            continue;
        }
        for (size_t p = 0; p < piece.size();) {
            const size_t len = utf8_sequence_length(static_cast<unsigned char>(piece[p]));
            const int32_t id = vocab.find(piece.substr(p, len));
            if (id >= 0 || vocab.unk >= 0) out.push_back(id >= 0 ? id : vocab.unk);
            p += len;
        }
    }
}

}  // namespace tern::tokenizer
