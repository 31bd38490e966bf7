// Round trips, hostile inputs, special-token splitting and streaming decoding, on the real
// llama.cpp vocabularies (../shared) and on a small vocabulary built here.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "format/gguf_reader.h"
#include "testing/test_files.h"
#include "tokenizer/utf8.h"
#include "tokenizer/tokenizer.h"

namespace tern::tokenizer {
namespace {

std::optional<Tokenizer> shared_tokenizer(const char* name) {
    const auto shared = testing::shared_dir();
    if (!shared) return std::nullopt;
    auto file = format::GgufFile::open((*shared / "data" / "tokenizer" / name).string());
    EXPECT_TRUE(file.ok());
    auto tok = Tokenizer::from_gguf(file.value().contents());
    EXPECT_TRUE(tok.ok()) << tok.error().message();
    return std::move(tok).value();
}

// Random valid UTF-8: ASCII, Latin, CJK, emoji, combining marks, whitespace and digits.
std::string random_unicode(std::mt19937& rng, size_t n_chars) {
    static const char32_t kRanges[][2] = {{0x20, 0x7E}, {0xA0, 0x24F}, {0x391, 0x3C9}, {0x400, 0x4FF}, {0x300, 0x36F},
                                          {0x4E00, 0x4FFF}, {0x1F300, 0x1F6FF}, {0x9, 0xA}, {0x30, 0x39}, {0x2000, 0x206F}};
    std::string s;
    for (size_t i = 0; i < n_chars; ++i) {
        const auto& r = kRanges[rng() % std::size(kRanges)];
        const char32_t cp = r[0] + rng() % (r[1] - r[0] + 1);
        if (cp >= 0x2028 && cp <= 0x202E) continue;
        std::string tmp;
        if (cp < 0x80) tmp += char(cp);
        else if (cp < 0x800) tmp += {char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
        else if (cp < 0x10000) tmp += {char(0xE0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
        else tmp += {char(0xF0 | (cp >> 18)), char(0x80 | ((cp >> 12) & 0x3F)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
        s += tmp;
    }
    return s;
}

class SharedTokenizer : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        tok_ = shared_tokenizer(GetParam());
        if (!tok_) GTEST_SKIP() << "SKIPPED: ../shared is absent, real vocabularies not checked";
    }
    // SentencePiece adds one leading space; decoding keeps it.
    std::string expected_decode(const std::string& s) const {
        return tok_->vocab().add_space_prefix && !s.empty() ? " " + s : s;
    }
    std::optional<Tokenizer> tok_;
};

TEST_P(SharedTokenizer, DecodeInvertsEncodeOnRandomUnicode) {
    std::mt19937 rng(42);
    for (int i = 0; i < 200; ++i) {
        const std::string s = random_unicode(rng, 1 + rng() % 60);
        const std::vector<int32_t> ids = tok_->encode(s, false, false);
        ASSERT_EQ(tok_->decode(ids), expected_decode(s)) << "case " << i;
    }
}

TEST_P(SharedTokenizer, StreamingDecodeNeverSplitsACharacter) {
    std::mt19937 rng(7);
    const std::string s = random_unicode(rng, 400);
    StreamingDecoder decoder(*tok_);
    std::string streamed;
    for (int32_t id : tok_->encode(s, false, false)) {
        const std::string part = decoder.push(id);
        EXPECT_EQ(sanitize_utf8(part), part) << "a streamed piece ends inside a character";
        streamed += part;
    }
    streamed += decoder.flush();
    EXPECT_EQ(streamed, expected_decode(s));
}

TEST_P(SharedTokenizer, SurvivesHostileInput) {
    const std::string no_spaces(1 << 20, 'a');
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = tok_->encode(no_spaces, false, false);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
    EXPECT_EQ(tok_->decode(ids), expected_decode(no_spaces));

    std::string controls;
    for (int c = 0; c < 32; ++c) controls += static_cast<char>(c);
    controls += "\x7f";
    EXPECT_EQ(tok_->decode(tok_->encode(controls, false, false)), expected_decode(controls));

    // Invalid UTF-8 never crashes; each invalid byte becomes U+FFFD (as llama.cpp does for BPE).
    const std::string invalid = "a\xff\xfe b\xc3 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf";
    EXPECT_EQ(tok_->decode(tok_->encode(invalid, false, false)), expected_decode(sanitize_utf8(invalid)));
}

TEST_P(SharedTokenizer, SpecialTokensOnlyWhenAsked) {
    const Vocabulary& v = tok_->vocab();
    const std::string bos_text = v.tokens[v.bos];
    const std::vector<int32_t> parsed = tok_->encode(bos_text + "hi", false, true);
    ASSERT_FALSE(parsed.empty());
    EXPECT_EQ(parsed.front(), v.bos);
    const std::vector<int32_t> literal = tok_->encode(bos_text + "hi", false, false);
    EXPECT_NE(literal.front(), v.bos);
    EXPECT_EQ(tok_->decode(literal), expected_decode(bos_text + "hi"));
    const std::vector<int32_t> with_bos = tok_->encode("hi", true, false);
    EXPECT_EQ(with_bos.front() == v.bos, v.add_bos);
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, SharedTokenizer,
                         ::testing::Values("ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-bpe.gguf", "ggml-vocab-gpt-2.gguf"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return n;
                         });

TEST(Llama3Tokenizer, WorkedExamplesFromTheDocs) {
    const auto tok = shared_tokenizer("ggml-vocab-llama-bpe.gguf");
    if (!tok) GTEST_SKIP() << "SKIPPED: ../shared is absent";
    EXPECT_EQ(tok->encode("User: hi<|eot_id|>Assistant: ", true, true),
              (std::vector<int32_t>{128000, 1502, 25, 15960, 128009, 72803, 25, 220}));
    EXPECT_TRUE(tok->vocab().is_end_of_generation(128009));
    EXPECT_TRUE(tok->vocab().is_end_of_generation(128001));
}

Vocabulary small_spm_vocab() {
    Vocabulary v;
    v.kind = VocabKind::kSpm;
    v.tokens = {"<unk>", "<s>", "</s>", "<|end|>"};
    v.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl, TokenType::kControl};
    for (int b = 0; b < 256; ++b) {
        char text[8];
        std::snprintf(text, sizeof text, "<0x%02X>", b);
        v.tokens.push_back(text);
        v.types.push_back(TokenType::kByte);
    }
    for (const char* t : {"\xe2\x96\x81", "h", "i", "\xe2\x96\x81h", "\xe2\x96\x81hi"}) {
        v.tokens.push_back(t);
        v.types.push_back(TokenType::kNormal);
    }
    v.scores.assign(v.tokens.size(), 0.0f);
    v.bos = 1, v.eos = 2, v.unk = 0;
    v.add_bos = v.add_space_prefix = true;
    index_vocabulary(v);
    return v;
}

TEST(SmallVocab, MergesFallsBackToBytesAndSplitsSpecials) {
    auto tok = Tokenizer::from_vocabulary(small_spm_vocab());
    ASSERT_TRUE(tok.ok());
    const int32_t hi = tok.value().vocab().find("\xe2\x96\x81hi");
    EXPECT_EQ(tok.value().encode("hi", true, false), (std::vector<int32_t>{1, hi}));
    // "é" is not a token: its two bytes become <0xC3> <0xA9> (ids 3 + 1 + byte).
    EXPECT_EQ(tok.value().encode("é", false, false), (std::vector<int32_t>{tok.value().vocab().find("\xe2\x96\x81"), 4 + 0xC3, 4 + 0xA9}));
    EXPECT_EQ(tok.value().encode("hi<|end|>hi", false, true), (std::vector<int32_t>{hi, 3, hi}));
    EXPECT_EQ(tok.value().decode(tok.value().encode("hi é", false, false)), " hi é");
    EXPECT_TRUE(tok.value().vocab().is_end_of_generation(2));
}

TEST(SmallVocab, StreamingHoldsBackIncompleteCharacters) {
    auto tok = Tokenizer::from_vocabulary(small_spm_vocab());
    ASSERT_TRUE(tok.ok());
    StreamingDecoder d(tok.value());
    EXPECT_EQ(d.push(4 + 0xE2), "");   // first byte of "€" (E2 82 AC)
    EXPECT_EQ(d.push(4 + 0x82), "");
    EXPECT_EQ(d.push(4 + 0xAC), "\xe2\x82\xac");
    EXPECT_EQ(d.push(4 + 0xC3), "");
    EXPECT_EQ(d.flush(), "\xc3");       // whatever is left comes out at the end
}

TEST(Utf8, SanitizeReplacesEveryInvalidSequence) {
    EXPECT_EQ(sanitize_utf8("ok \xc3\xa9 \xf0\x9f\xa6\x99"), "ok \xc3\xa9 \xf0\x9f\xa6\x99");
    EXPECT_EQ(sanitize_utf8("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong
    EXPECT_EQ(sanitize_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");   // surrogate
    EXPECT_EQ(sanitize_utf8("a\xe2\x82"), "a\xEF\xBF\xBD\xEF\xBF\xBD");          // truncated
}

TEST(Utf8, DecodesOneCodePointAtATime) {
    const std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\xa6\x99";
    size_t length = 0;
    EXPECT_EQ(decode_utf8_at(text, 0, length), U'a');
    EXPECT_EQ(length, 1u);
    EXPECT_EQ(decode_utf8_at(text, 1, length), U'\u00e9');
    EXPECT_EQ(length, 2u);
    EXPECT_EQ(decode_utf8_at(text, 3, length), U'\u20ac');
    EXPECT_EQ(length, 3u);
    EXPECT_EQ(decode_utf8_at(text, 6, length), U'\U0001F999');
    EXPECT_EQ(length, 4u);
    // A continuation byte, a lead byte cut off by the end or followed by a non-continuation: one
    // byte of U+FFFD each.
    EXPECT_EQ(decode_utf8_at(text, 2, length), U'\uFFFD');
    EXPECT_EQ(length, 1u);
    EXPECT_EQ(decode_utf8_at("x\xe2\x82", 1, length), U'\uFFFD');
    EXPECT_EQ(length, 1u);
    EXPECT_EQ(decode_utf8_at("\xc3" "A", 0, length), U'\uFFFD');
    EXPECT_EQ(length, 1u);
}

}  // namespace
}  // namespace tern::tokenizer

namespace tern::tokenizer {
namespace {

TEST(SpmWords, MergingWordByWordGivesTheSameIdsAsTheWholeText) {
    const auto shared = testing::shared_dir();
    if (!shared) GTEST_SKIP() << "SKIPPED: ../shared is absent";
    auto file = format::GgufFile::open((*shared / "data" / "tokenizer" / "ggml-vocab-llama-spm.gguf").string());
    auto fast = Tokenizer::from_gguf(file.value().contents());
    ASSERT_TRUE(fast.value().vocab().spm_tokens_stay_in_words);
    Vocabulary whole_vocab = fast.value().vocab();
    whole_vocab.spm_tokens_stay_in_words = false;
    auto whole = Tokenizer::from_vocabulary(std::move(whole_vocab));
    std::mt19937 rng(11);
    for (int i = 0; i < 100; ++i) {
        std::string s = random_unicode(rng, 80);
        for (int k = 0; k < 5; ++k) s.insert(rng() % s.size(), std::string(1 + rng() % 4, ' '));
        EXPECT_EQ(fast.value().encode(s, true, false), whole.value().encode(s, true, false)) << s;
    }
}

}  // namespace
}  // namespace tern::tokenizer
