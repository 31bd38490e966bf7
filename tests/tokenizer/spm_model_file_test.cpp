// tokenizer.model read directly: the shipped model's SentencePiece file gives the vocabulary
// and the token ids its GGUF (written from the same file by the exporter) gives; hostile
// bytes get one-line errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "testing/test_files.h"
#include "tokenizer/spm_model_file.h"
#include "tokenizer/tokenizer.h"

namespace tern::tokenizer {
namespace {

const std::string kShipped = std::string(TERN_SOURCE_DIR) + "/models/tinystories";

TEST(SpmModelFile, ShippedTokenizerModelMatchesTheGguf) {
    Result<Vocabulary> from_model = vocabulary_from_spm_folder(kShipped + "/hf");
    ASSERT_TRUE(from_model.ok()) << from_model.error().message();
    Result<format::GgufFile> file = format::GgufFile::open(kShipped + "/tinystories-bitnet.gguf");
    ASSERT_TRUE(file.ok());
    Result<Vocabulary> from_gguf = vocabulary_from_gguf(file.value().contents());
    ASSERT_TRUE(from_gguf.ok());
    const Vocabulary& a = from_model.value();
    const Vocabulary& b = from_gguf.value();
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.scores, b.scores);
    EXPECT_EQ(a.types, b.types);
    EXPECT_EQ(a.bos, b.bos);
    EXPECT_EQ(a.eos, b.eos);
    EXPECT_EQ(a.unk, b.unk);
    EXPECT_EQ(a.add_bos, b.add_bos);
    EXPECT_EQ(a.add_space_prefix, b.add_space_prefix);
    const Tokenizer ta = Tokenizer::from_vocabulary(from_model.value()).value();
    const Tokenizer tb = Tokenizer::from_gguf(file.value().contents()).value();
    for (const char* text : {"Once upon a time, there was a little fox named Tim.", "  Héllo\n\nworld 1234 ☃", ""})
        EXPECT_EQ(ta.encode(text, true, false), tb.encode(text, true, false)) << text;
}

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
    std::vector<std::byte> out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

TEST(SpmModelFile, HostileBytesGetOneLineErrors) {
    EXPECT_EQ(vocabulary_from_spm_model({}).error().message(), "SentencePiece model has no pieces");
    // Field 1 (pieces) claims 100 bytes, 1 is there.
    EXPECT_EQ(vocabulary_from_spm_model(bytes_of({0x0a, 100, 0})).error().message(),
              "field of 100 bytes at byte 2 runs past the end of its message");
    // A varint that never ends.
    EXPECT_EQ(vocabulary_from_spm_model(bytes_of({0x08, 0xff, 0xff})).error().message(),
              "varint runs past the end at byte 3");
    // A piece of type 9.
    EXPECT_EQ(vocabulary_from_spm_model(bytes_of({0x0a, 5, 0x0a, 1, 'a', 0x18, 9})).error().message(),
              "piece 0 has type 9, expected 1..6");
    // Wire type 3 (groups) is not used by SentencePiece.
    EXPECT_EQ(vocabulary_from_spm_model(bytes_of({0x0b})).error().message(),
              "unsupported protobuf wire type 3 at byte 1");
    // A piece marked BYTE whose text is not <0xHH> decodes as its text (once a crash: stoi threw).
    const Result<Vocabulary> odd_byte = vocabulary_from_spm_model(bytes_of({0x0a, 10, 0x0a, 6, '<', '0', 'x', 'v', '9', '>', 0x18, 6}));
    ASSERT_TRUE(odd_byte.ok()) << odd_byte.error().message();
    const Tokenizer odd = Tokenizer::from_vocabulary(odd_byte.value()).value();
    const std::vector<int32_t> zero = {0};
    EXPECT_EQ(odd.decode(zero), "<0xv9>");
    // One good piece: special ids past the vocabulary are dropped, not trusted.
    const Result<Vocabulary> one = vocabulary_from_spm_model(bytes_of({0x0a, 3, 0x0a, 1, 'a'}));
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(one.value().tokens, std::vector<std::string>{"a"});
    EXPECT_EQ(one.value().unk, 0);
    EXPECT_EQ(one.value().bos, -1);
    EXPECT_EQ(one.value().eos, -1);
}

}  // namespace
}  // namespace tern::tokenizer
