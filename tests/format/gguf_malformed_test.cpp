// Hostile GGUF input: every prefix of a valid file, and one corruption per rule, must give
// a one-line error naming the problem, never a crash (this suite also runs under ASan+UBSan).
#include <gtest/gtest.h>

#include <functional>

#include "format/gguf_reader.h"
#include "format/raw_gguf.h"
#include "testing/test_files.h"

namespace tern::format {
namespace {

using testing::RawGguf;

TEST(GgufMalformed, EveryTruncationIsAnError) {
    const std::vector<std::byte> file = testing::make_tiny_gguf();
    auto full = parse_gguf(file, "tiny.gguf");
    ASSERT_TRUE(full.ok());
    // The zero padding after the last tensor is not needed; every shorter cut is an error.
    const GgufTensorInfo& last = full.value().tensors.back();
    const size_t data_end = full.value().data_offset + last.offset + last.n_bytes;
    ASSERT_LT(data_end, file.size());
    for (size_t n = 0; n < file.size(); ++n) {
        auto parsed = parse_gguf(std::span(file).first(n), "tiny.gguf");
        if (n >= data_end) {
            EXPECT_TRUE(parsed.ok()) << "cut inside the final padding, at " << n;
            continue;
        }
        ASSERT_FALSE(parsed.ok()) << "a " << n << "-byte prefix parsed";
        const std::string& message = parsed.error().message();
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
        EXPECT_EQ(message.rfind("tiny.gguf: ", 0), 0u) << message;
    }
}

TEST(GgufMalformed, EverySingleByteCorruptionIsHandled) {
    // Flipping any byte must parse or fail cleanly; under the sanitizers this proves no
    // out-of-bounds read or overflow follows from any single corrupted field.
    const std::vector<std::byte> file = testing::make_tiny_gguf();
    size_t failures = 0;
    for (size_t i = 0; i < file.size(); ++i) {
        for (const uint8_t flip : {0x01, 0x80, 0xff}) {
            std::vector<std::byte> bad = file;
            bad[i] ^= static_cast<std::byte>(flip);
            auto parsed = parse_gguf(bad, "flip.gguf");
            if (!parsed.ok()) ++failures;
        }
    }
    EXPECT_GT(failures, 0u);
}

struct Case {
    const char* name;
    std::function<void(RawGguf&)> build;
    const char* expected;   // substring of the error
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class GgufCorruption : public ::testing::TestWithParam<Case> {};

TEST_P(GgufCorruption, GivesPreciseError) {
    RawGguf raw;
    GetParam().build(raw);
    auto parsed = parse_gguf(raw.bytes(), "bad.gguf");
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message().find(GetParam().expected), std::string::npos) << parsed.error().message();
    EXPECT_EQ(parsed.error().message().find('\n'), std::string::npos);
}

const Case kCases[] = {
    {"bad_magic", [](RawGguf& r) { r.u32(0x46554746).u32(3).u64(0).u64(0); }, "not a GGUF file: magic is 'FGUF'"},
    {"version_0", [](RawGguf& r) { r.header(0, 0, 0); }, "unsupported GGUF version 0"},
    {"version_1", [](RawGguf& r) { r.header(1, 0, 0); }, "GGUF version 1 is obsolete"},
    {"version_4", [](RawGguf& r) { r.header(4, 0, 0); }, "unsupported GGUF version 4"},
    {"big_endian", [](RawGguf& r) { r.header(0x03000000, 0, 0); }, "big-endian"},
    {"huge_kv_count", [](RawGguf& r) { r.header(3, 0, 1ull << 60).zeros(64); }, "header claims 0 tensors and 1152921504606846976 metadata entries"},
    {"huge_tensor_count", [](RawGguf& r) { r.header(3, UINT64_MAX, 0).zeros(64); }, "header claims 18446744073709551615 tensors"},
    {"empty_key", [](RawGguf& r) { r.header(3, 0, 1).str("").u32(4).u32(1); }, "has an empty key"},
    {"duplicate_key", [](RawGguf& r) { r.header(3, 0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2); }, "duplicate metadata key 'a.b'"},
    {"unknown_value_type", [](RawGguf& r) { r.header(3, 0, 1).str("k").u32(13).u32(0); }, "unknown value type 13"},
    {"string_past_end", [](RawGguf& r) { r.header(3, 0, 1).str("k").u32(8).u64(1000).zeros(8); }, "length 1000 runs past end of file"},
    {"string_too_long", [](RawGguf& r) { r.header(3, 0, 1).str("k").u32(8).u64(1ull << 31).zeros(8); }, "exceeds the limit"},
    {"bad_bool", [](RawGguf& r) { r.header(3, 0, 1).str("k").u32(7).u8(2); }, "bool element 0 is 2, expected 0 or 1"},
    {"nested_array", [](RawGguf& r) { r.header(3, 0, 1).str("k").u32(9).u32(9).u64(1).zeros(16); }, "nested arrays are not supported"},
    {"array_bad_elem_type", [](RawGguf& r) { r.header(3, 0, 1).str("k").u32(9).u32(77).u64(1).zeros(16); }, "unknown array element type 77"},
    {"array_too_long", [](RawGguf& r) { r.header(3, 0, 1).str("k").u32(9).u32(4).u64(1000).zeros(16); }, "array of 1000 uint32 elements cannot fit"},
    {"string_array_too_long", [](RawGguf& r) { r.header(3, 0, 1).str("k").u32(9).u32(8).u64(UINT64_MAX / 4).zeros(16); }, "string elements cannot fit"},
    {"alignment_not_u32", [](RawGguf& r) { r.header(3, 0, 1).str("general.alignment").u32(10).u64(32); }, "general.alignment has type uint64, expected uint32"},
    {"alignment_not_pow2", [](RawGguf& r) { r.header(3, 0, 1).kv_u32("general.alignment", 48); }, "general.alignment is 48"},
    {"alignment_too_big", [](RawGguf& r) { r.header(3, 0, 1).kv_u32("general.alignment", 1u << 21); }, "no larger than 1048576"},
    {"tensor_name_empty", [](RawGguf& r) { r.header(3, 1, 0).tensor("", {32}, 0, 0).pad(32).zeros(128); }, "name length 0 is outside 1..63"},
    {"tensor_name_64", [](RawGguf& r) { r.header(3, 1, 0).tensor(std::string(64, 'x'), {32}, 0, 0).pad(32).zeros(128); }, "name length 64"},
    {"duplicate_tensor", [](RawGguf& r) { r.header(3, 2, 0).tensor("t", {8}, 0, 0).tensor("t", {8}, 0, 32).pad(32).zeros(64); }, "duplicate tensor name 't'"},
    {"zero_dims", [](RawGguf& r) { r.header(3, 1, 0).str("t").u32(0).u32(0).u64(0).zeros(64); }, "has 0 dimensions, expected 1..4"},
    {"five_dims", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).zeros(64); }, "has 5 dimensions"},
    {"zero_extent", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {8, 0}, 0, 0).zeros(64); }, "dimension 1 is 0"},
    {"element_overflow", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {1ull << 32, 1ull << 32}, 0, 0).zeros(64); }, "element count overflows"},
    {"negative_extent", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {UINT64_MAX}, 0, 0).zeros(64); }, "dimension 0 is 18446744073709551615"},
    {"byte_size_overflow", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {1ull << 62}, 0, 0).zeros(64); }, "overflows"},
    {"unknown_type", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {32}, 99, 0).zeros(64); }, "unknown or unsupported ggml type id 99"},
    {"removed_type", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {32}, 31, 0).zeros(64); }, "ggml type id 31"},
    {"i8_s_type", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {32}, 37, 0).zeros(64); }, "I8_S is a run-time type"},
    {"row_not_block_multiple", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {100}, 35, 0).zeros(64); }, "row length 100 is not a multiple of the TQ2_0 block size 256"},
    {"misaligned_offset", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {8}, 0, 16).pad(32).zeros(64); }, "data offset 0x10 is not a multiple of the alignment 32"},
    {"data_past_end", [](RawGguf& r) { r.header(3, 1, 0).tensor("blk.7.ffn_down.weight", {64}, 0, 0).pad(32).zeros(100); }, "tensor 'blk.7.ffn_down.weight': data [0x60, +0x100) runs past end of file (0xc4 bytes)"},
    {"offset_overflow", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {8}, 0, UINT64_MAX - 31).pad(32).zeros(32); }, "runs past end of file"},
    {"overlap", [](RawGguf& r) { r.header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).pad(32).zeros(128); }, "tensors 'a' and 'b' overlap"},
    {"no_data_section", [](RawGguf& r) { r.header(3, 1, 0).tensor("t", {8}, 0, 0); }, "past end of file"},
    {"tl2_with_scale", [](RawGguf& r) {
         r.header(3, 2, 0).tensor("w", {32}, 39, 0).tensor("w_scale", {1}, 0, 32).pad(32).zeros(64);
     }, "type id 39 is laid out as bitnet.cpp TL2 here"},
    {"tl2_by_size", [](RawGguf& r) {
         r.header(3, 2, 0).tensor("w", {32}, 39, 0).tensor("x", {1}, 0, 64).pad(32).zeros(128);
     }, "type id 39 is laid out as bitnet.cpp TL2 here"},
};

INSTANTIATE_TEST_SUITE_P(Rules, GgufCorruption, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(GgufMalformed, Mxfp4WithExactSizeIsAccepted) {
    RawGguf raw;
    raw.header(3, 1, 0).tensor("w", {32}, 39, 0).pad(32).zeros(32);
    auto parsed = parse_gguf(raw.bytes(), "mxfp4.gguf");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(parsed.value().tensors[0].traits.name, "MXFP4");
}

}  // namespace
}  // namespace tern::format
