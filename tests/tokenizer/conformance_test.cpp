// llama.cpp's tokenizer conformance files (../shared/data/tokenizer): every input must give
// exactly the expected ids with add_special = false and parse_special = false.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "format/gguf_reader.h"
#include "testing/test_files.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {
namespace {

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> read_inputs(const std::filesystem::path& path) {
    const std::string text = read_text(path);
    const std::string separator = "\n__ggml_vocab_test__\n";
    std::vector<std::string> inputs;
    for (size_t pos = 0, at; (at = text.find(separator, pos)) != std::string::npos; pos = at + separator.size())
        inputs.push_back(text.substr(pos, at - pos));
    return inputs;
}

std::vector<std::vector<int32_t>> read_outputs(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::vector<std::vector<int32_t>> outputs;
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::vector<int32_t> ids;
        for (int32_t id; words >> id;) ids.push_back(id);
        outputs.push_back(ids);
    }
    return outputs;
}

class Conformance : public ::testing::TestWithParam<const char*> {};

TEST_P(Conformance, EveryInputGivesTheExpectedIds) {
    const auto shared = testing::shared_dir();
    if (!shared) GTEST_SKIP() << "SKIPPED: ../shared is absent, tokenizer conformance not checked";
    const auto dir = *shared / "data" / "tokenizer";
    const std::string name = GetParam();
    auto file = format::GgufFile::open((dir / name).string());
    ASSERT_TRUE(file.ok()) << file.error().message();
    auto tokenizer = Tokenizer::from_gguf(file.value().contents());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
    const auto inputs = read_inputs(dir / (name + ".inp"));
    const auto outputs = read_outputs(dir / (name + ".out"));
    ASSERT_EQ(inputs.size(), outputs.size());
    ASSERT_GT(inputs.size(), 30u);
    for (size_t i = 0; i < inputs.size(); ++i)
        EXPECT_EQ(tokenizer.value().encode(inputs[i], false, false), outputs[i]) << "input " << i << ": '" << inputs[i] << "'";
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, Conformance, ::testing::Values("ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-bpe.gguf",
                                                                   "ggml-vocab-gpt-2.gguf"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return n;
                         });

// llama.cpp's other BPE pre-tokenizer names, run by llama.cpp itself on the GPT-2 vocabulary
// with tokenizer.ggml.pre set to each (tests/tokenizer/data/llama_cpp_pre_tokenizers.json says
// how): tern gives the same ids for every name on ordinary and hostile text.
TEST(LlamaCppPreTokenizers, EveryNameTokenizesAsLlamaCppDoes) {
    const auto shared = testing::shared_dir();
    if (!shared) GTEST_SKIP() << "SKIPPED: ../shared is absent, llama.cpp pre-tokenizer names not checked";
    const nlohmann::json expected = nlohmann::json::parse(
        read_text(std::filesystem::path(TERN_SOURCE_DIR) / "tests" / "tokenizer" / "data" / "llama_cpp_pre_tokenizers.json"));
    auto file = format::GgufFile::open((*shared / "data" / "tokenizer" / expected["vocabulary"].get<std::string>()).string());
    ASSERT_TRUE(file.ok()) << file.error().message();
    const auto inputs = expected["inputs"].get<std::vector<std::string>>();
    ASSERT_GT(inputs.size(), 80u);
    // Where llama.cpp departs from the model's own tokenizer.json (the data file says where and
    // how those ids were made), tern follows the tokenizer.json.
    std::map<std::pair<std::string, size_t>, std::vector<int32_t>> departures;
    for (const nlohmann::json& d : expected["departures"])
        for (const std::string name : d["names"])
            departures[{name, d["input"].get<size_t>()}] = d["ids"].get<std::vector<int32_t>>();
    size_t names = 0, departed = 0;
    for (const nlohmann::json& group : expected["groups"]) {
        const auto want = group["ids"].get<std::vector<std::vector<int32_t>>>();
        ASSERT_EQ(want.size(), inputs.size());
        for (const std::string name : group["names"]) {
            Result<Vocabulary> vocab = vocabulary_from_gguf(file.value().contents());
            ASSERT_TRUE(vocab.ok()) << vocab.error().message();
            vocab.value().pre = name;
            Result<Tokenizer> tokenizer = Tokenizer::from_vocabulary(std::move(vocab).value());
            ASSERT_TRUE(tokenizer.ok()) << name << ": " << tokenizer.error().message();
            // BOS by default (the file has no add_bos_token) where llama.cpp adds it: the Llama 3
            // group, Tekken and Chameleon.
            const std::string group = pre_tokenizer_by_name(name)->name;
            EXPECT_EQ(tokenizer.value().vocab().add_bos, group == "llama3" || group == "tekken" || group == "chameleon")
                << name;
            for (size_t i = 0; i < inputs.size(); ++i) {
                const auto departure = departures.find({name, i});
                const std::vector<int32_t> ids = tokenizer.value().encode(inputs[i], false, false);
                if (departure == departures.end()) {
                    EXPECT_EQ(ids, want[i]) << name << ", input " << i << ": '" << inputs[i] << "'";
                    continue;
                }
                EXPECT_NE(departure->second, want[i]) << name << ", input " << i << ": llama.cpp no longer departs here";
                EXPECT_EQ(ids, departure->second) << name << ", input " << i << " (tokenizer.json's ids)";
                ++departed;
            }
            ++names;
        }
    }
    EXPECT_EQ(names, 81u);   // every name llama.cpp accepts but gemma4
    EXPECT_EQ(departed, departures.size());
}

// Gemma 4's tokenizer (tokenizer.ggml.model gemma4): BPE over SentencePiece's alphabet, run by
// llama.cpp itself on a small vocabulary of that form kept beside the test; decoding gives the
// text back.
TEST(LlamaCppGemma4Tokenizer, TokenizesAsLlamaCppDoesAndDecodesBack) {
    const std::filesystem::path data = std::filesystem::path(TERN_SOURCE_DIR) / "tests" / "tokenizer" / "data";
    const nlohmann::json expected = nlohmann::json::parse(read_text(data / "llama_cpp_gemma4.json"));
    auto file = format::GgufFile::open((data / expected["vocabulary"].get<std::string>()).string());
    ASSERT_TRUE(file.ok()) << file.error().message();
    Result<Tokenizer> tokenizer = Tokenizer::from_gguf(file.value().contents());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
    EXPECT_TRUE(tokenizer.value().vocab().add_bos);   // forced, as llama.cpp does, though the file says false
    const auto inputs = expected["inputs"].get<std::vector<std::string>>();
    const auto want = expected["ids"].get<std::vector<std::vector<int32_t>>>();
    ASSERT_EQ(want.size(), inputs.size());
    ASSERT_GT(inputs.size(), 90u);
    for (size_t i = 0; i < inputs.size(); ++i) {
        const std::vector<int32_t> ids = tokenizer.value().encode(inputs[i], false, false);
        EXPECT_EQ(ids, want[i]) << "input " << i << ": '" << inputs[i] << "'";
        // A typed U+2581 comes back as a space, as in every SentencePiece alphabet.
        if (inputs[i].find("\xe2\x96\x81") == std::string::npos) {
            EXPECT_EQ(tokenizer.value().decode(ids), inputs[i]) << "input " << i;
        }
    }
    const std::vector<int32_t> with_bos = tokenizer.value().encode("hi", true, false);
    ASSERT_FALSE(with_bos.empty());
    EXPECT_EQ(with_bos.front(), tokenizer.value().vocab().bos);
}

}  // namespace
}  // namespace tern::tokenizer
