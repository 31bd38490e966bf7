#include "format/gguf_reader.h"

#include <gtest/gtest.h>

#include "format/raw_gguf.h"
#include "testing/test_files.h"

namespace tern::format {
namespace {

using testing::RawGguf;

TEST(GgufReader, ReadsTinyFile) {
    const std::vector<std::byte> file = testing::make_tiny_gguf();
    auto parsed = parse_gguf(file, "tiny.gguf");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    const GgufContents& gguf = parsed.value();
    EXPECT_EQ(gguf.version, 3u);
    EXPECT_EQ(gguf.alignment, 32u);
    EXPECT_EQ(gguf.data_offset % 32, 0u);
    EXPECT_EQ(gguf.architecture(), "llama");
    ASSERT_EQ(gguf.metadata.size(), 8u);
    EXPECT_EQ(gguf.metadata[0].key, "general.architecture");
    EXPECT_EQ(gguf.find("llama.block_count")->as_uint(), 1u);
    EXPECT_EQ(gguf.find("llama.rope.freq_base")->as_float(), 10000.0);
    EXPECT_EQ(gguf.find("tokenizer.ggml.add_bos_token")->as_bool(), true);
    const GgufValue* tokens = gguf.find("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_TRUE(tokens->is_array());
    EXPECT_EQ(tokens->elem_type(), GgufType::kString);
    ASSERT_EQ(tokens->size(), 3u);
    EXPECT_EQ(tokens->string_element(1), "a");
    const GgufValue* scores = gguf.find("tokenizer.ggml.scores");
    EXPECT_EQ(scores->element<float>(2), 2.25f);
    EXPECT_EQ(gguf.find("tokenizer.ggml.token_type")->element<int32_t>(0), 2);
    EXPECT_EQ(gguf.find("missing.key"), nullptr);

    ASSERT_EQ(gguf.tensors.size(), 3u);
    const GgufTensorInfo* q = gguf.find_tensor("blk.0.attn_q.weight");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->traits.type, GgmlType::kTQ2_0);
    EXPECT_EQ(q->n_dims, 2u);
    EXPECT_EQ(q->ne[0], 256u);
    EXPECT_EQ(q->ne[1], 2u);
    EXPECT_EQ(q->n_elements, 512u);
    EXPECT_EQ(q->n_bytes, 2u * 66u);
    EXPECT_EQ(gguf.tensor_data(*q).size(), 132u);
    // Offsets are the running padded sum: 8 floats (32 B), 24 halves (48 B -> 64 B).
    EXPECT_EQ(gguf.tensors[0].offset, 0u);
    EXPECT_EQ(gguf.tensors[1].offset, 32u);
    EXPECT_EQ(gguf.tensors[2].offset, 96u);
}

TEST(GgufReader, AcceptsVersion2AndCustomAlignment) {
    RawGguf raw;
    raw.header(2, 1, 1).kv_u32("general.alignment", 64).tensor("t", {16}, 0, 0).pad(64).zeros(64);
    auto parsed = parse_gguf(raw.bytes(), "v2.gguf");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(parsed.value().version, 2u);
    EXPECT_EQ(parsed.value().alignment, 64u);
    EXPECT_EQ(parsed.value().data_offset % 64, 0u);
}

TEST(GgufReader, AcceptsOutOfOrderTensorDataThatDoesNotOverlap) {
    // ggml insists on info order; tern only needs every tensor in bounds and disjoint.
    RawGguf raw;
    raw.header(3, 2, 0).tensor("late", {8}, 0, 32).tensor("early", {8}, 0, 0).pad(32).zeros(64);
    auto parsed = parse_gguf(raw.bytes(), "order.gguf");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(parsed.value().find_tensor("late")->offset, 32u);
}

TEST(GgufReader, ReadsI2sWithItsTrailer) {
    RawGguf raw;
    raw.header(3, 1, 0).tensor("w", {128, 2}, 36, 0).pad(32).zeros(64 + 32);
    auto parsed = parse_gguf(raw.bytes(), "i2s.gguf");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(parsed.value().tensors[0].traits.name, "I2_S");
    EXPECT_EQ(parsed.value().tensors[0].n_bytes, 256u / 4 + 32);
}

TEST(GgufReader, OpensMappedFile) {
    testing::TempDir dir;
    testing::write_file(dir / "tiny.gguf", testing::make_tiny_gguf());
    auto file = GgufFile::open((dir / "tiny.gguf").string());
    ASSERT_TRUE(file.ok()) << file.error().message();
    GgufFile moved = std::move(file).value();
    const GgufTensorInfo* norm = moved.contents().find_tensor("output_norm.weight");
    const std::vector<float> expected = testing::random_floats(8, 1);
    ASSERT_EQ(moved.contents().tensor_data(*norm).size(), 32u);
    EXPECT_EQ(std::memcmp(moved.contents().tensor_data(*norm).data(), expected.data(), 32), 0);

    auto missing = GgufFile::open((dir / "absent.gguf").string());
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message().find("absent.gguf: cannot open: No such file"), std::string::npos);
    auto directory = GgufFile::open(dir.path().string());
    ASSERT_FALSE(directory.ok());
    EXPECT_NE(directory.error().message().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace tern::format
