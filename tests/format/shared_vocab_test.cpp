// The llama.cpp vocabulary files in ../shared/data/tokenizer: real GGUFs written by
// gguf-py. They must open, report the right facts, and survive read -> write unchanged.
#include <gtest/gtest.h>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "testing/test_files.h"

namespace tern::format {
namespace {

struct VocabFacts {
    const char* file;
    const char* architecture;
    size_t n_kv;
    uint64_t n_tokens;
    const char* first_token;
    uint64_t bos_id;
    const char* model;
};

void PrintTo(const VocabFacts& facts, std::ostream* os) { *os << facts.file; }

class SharedVocab : public ::testing::TestWithParam<VocabFacts> {
protected:
    void SetUp() override {
        const auto shared = testing::shared_dir();
        if (!shared) GTEST_SKIP() << "SKIPPED: ../shared is absent, real vocabulary GGUFs not checked";
        path_ = (*shared / "data" / "tokenizer" / GetParam().file).string();
    }
    std::string path_;
};

TEST_P(SharedVocab, OpensWithTheRightFacts) {
    auto file = GgufFile::open(path_);
    ASSERT_TRUE(file.ok()) << file.error().message();
    const GgufContents& gguf = file.value().contents();
    const VocabFacts& facts = GetParam();
    EXPECT_EQ(gguf.version, 3u);
    EXPECT_EQ(gguf.architecture(), facts.architecture);
    EXPECT_EQ(gguf.metadata.size(), facts.n_kv);
    EXPECT_TRUE(gguf.tensors.empty());
    const GgufValue* tokens = gguf.find("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    ASSERT_EQ(tokens->size(), facts.n_tokens);
    EXPECT_EQ(tokens->string_element(0), facts.first_token);
    EXPECT_EQ(gguf.find("tokenizer.ggml.bos_token_id")->as_uint(), facts.bos_id);
    EXPECT_EQ(*gguf.find("tokenizer.ggml.model")->as_string(), facts.model);
    EXPECT_EQ(gguf.find("tokenizer.ggml.token_type")->size(), facts.n_tokens);
}

TEST_P(SharedVocab, RewritesByteForByte) {
    auto file = GgufFile::open(path_);
    ASSERT_TRUE(file.ok()) << file.error().message();
    const GgufContents& gguf = file.value().contents();
    GgufWriter writer;
    for (const GgufKv& kv : gguf.metadata) ASSERT_TRUE(writer.add_metadata(kv.key, kv.value).ok());
    const std::vector<std::byte> rewritten = writer.write_to_buffer();
    const auto original = gguf.file_bytes();
    // Current ggml writers pad the end to the alignment; older gguf-py did not when there
    // were no tensors. Everything up to the end of the metadata must match exactly.
    ASSERT_GE(rewritten.size(), original.size());
    EXPECT_EQ(std::memcmp(rewritten.data(), original.data(), original.size()), 0);
    for (size_t i = original.size(); i < rewritten.size(); ++i) ASSERT_EQ(rewritten[i], std::byte{0});
    EXPECT_LT(rewritten.size() - original.size(), 32u);
}

INSTANTIATE_TEST_SUITE_P(
    Files, SharedVocab,
    ::testing::Values(VocabFacts{"ggml-vocab-llama-spm.gguf", "llama", 22, 32000, "<unk>", 1, "llama"},
                      VocabFacts{"ggml-vocab-gpt-2.gguf", "gpt2", 16, 50257, "!", 50256, "gpt2"},
                      VocabFacts{"ggml-vocab-llama-bpe.gguf", "llama", 21, 128256, "!", 128000, "gpt2"}),
    [](const auto& info) {
        std::string name = info.param.file;
        for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
        return name;
    });

TEST(SharedVocab, Llama3VocabIsPaddedLikeGgmlWrites) {
    const auto shared = testing::shared_dir();
    if (!shared) GTEST_SKIP() << "SKIPPED: ../shared is absent";
    auto file = GgufFile::open((*shared / "data/tokenizer/ggml-vocab-llama-bpe.gguf").string());
    ASSERT_TRUE(file.ok()) << file.error().message();
    GgufWriter writer;
    for (const GgufKv& kv : file.value().contents().metadata) ASSERT_TRUE(writer.add_metadata(kv.key, kv.value).ok());
    const auto rewritten = writer.write_to_buffer();
    const auto original = file.value().contents().file_bytes();
    ASSERT_EQ(rewritten.size(), original.size());
    EXPECT_EQ(std::memcmp(rewritten.data(), original.data(), original.size()), 0);
    EXPECT_EQ(file.value().contents().find("tokenizer.ggml.merges")->size(), 280147u);
}

}  // namespace
}  // namespace tern::format
