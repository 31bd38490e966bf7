// Hostile safetensors input: truncations, corruptions and header tricks give one-line errors.
#include <gtest/gtest.h>

#include "format/safetensors_reader.h"
#include "testing/test_files.h"

namespace tern::format {
namespace {

TEST(SafetensorsMalformed, EveryTruncationIsAnError) {
    const auto file = testing::make_tiny_safetensors();
    for (size_t n = 0; n < file.size(); ++n) {
        auto parsed = parse_safetensors(std::span(file).first(n), "tiny.safetensors");
        ASSERT_FALSE(parsed.ok()) << "a " << n << "-byte prefix parsed";
        EXPECT_EQ(parsed.error().message().find('\n'), std::string::npos) << parsed.error().message();
    }
}

TEST(SafetensorsMalformed, EverySingleByteCorruptionIsHandled) {
    const auto file = testing::make_tiny_safetensors();
    for (size_t i = 0; i < file.size(); ++i) {
        for (const uint8_t flip : {0x01, 0x20, 0xff}) {
            auto bad = file;
            bad[i] ^= static_cast<std::byte>(flip);
            auto parsed = parse_safetensors(bad, "flip.safetensors");
            if (!parsed.ok()) {
                EXPECT_EQ(parsed.error().message().find('\n'), std::string::npos);
            }
        }
    }
}

struct Case {
    const char* name;
    std::string header;
    size_t data_bytes;
    const char* expected;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class SafetensorsCorruption : public ::testing::TestWithParam<Case> {};

TEST_P(SafetensorsCorruption, GivesPreciseError) {
    const Case& c = GetParam();
    const auto file = testing::make_safetensors(c.header, std::vector<std::byte>(c.data_bytes));
    auto parsed = parse_safetensors(file, "bad.safetensors");
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message().find(c.expected), std::string::npos) << parsed.error().message();
    EXPECT_EQ(parsed.error().message().find('\n'), std::string::npos);
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t b, uint64_t e) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
           std::to_string(b) + "," + std::to_string(e) + "]}";
}

const Case kCases[] = {
    {"not_an_object", "[1,2]", 0, "header does not start with '{'"},
    {"bad_json", "{\"a\":", 0, "invalid JSON"},
    {"duplicate_key", "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("a", "F32", "[1]", 4, 8) + "}", 8, "duplicate key 'a'"},
    {"duplicate_field", R"({"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", 4, "duplicate key 'dtype'"},
    {"too_deep", R"({"a":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}})", 4, "nesting deeper than 3 levels"},
    {"unknown_dtype", "{" + entry("a", "F4", "[1]", 0, 1) + "}", 1, "unknown dtype 'F4'"},
    {"negative_shape", "{" + entry("a", "F32", "[-1]", 0, 4) + "}", 4, "shape element 0 is a negative integer"},
    {"float_shape", "{" + entry("a", "F32", "[1.5]", 0, 4) + "}", 4, "shape element 0 is a number"},
    {"shape_overflow", "{" + entry("a", "F32", "[4294967296,4294967296]", 0, 4) + "}", 4, "overflows"},
    {"size_mismatch", "{" + entry("a", "F32", "[2]", 0, 4) + "}", 4, "hold 4 bytes, but F32 [2] needs 8"},
    {"reversed_offsets", "{" + entry("a", "F32", "[1]", 4, 0) + "}", 4, "data_offsets [4, 0)"},
    {"gap", "{" + entry("a", "F32", "[1]", 4, 8) + "}", 8, "starts at buffer offset 4, expected 0 (gap before it)"},
    {"overlap", "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[1]", 4, 8) + "}", 8, "overlaps the previous tensor"},
    {"trailing_bytes", "{" + entry("a", "F32", "[1]", 0, 4) + "}", 12, "tensors cover 4 bytes of the data buffer, but it holds 12"},
    {"past_end", "{" + entry("a", "F32", "[4]", 0, 16) + "}", 8, "(truncated file?)"},
    {"huge_offset", "{" + entry("a", "U8", "[1]", 18446744073709551614ull, 18446744073709551615ull) + "}", 1, "starts at buffer offset"},
    {"missing_offsets", R"({"a":{"dtype":"F32","shape":[1]}})", 4, "'data_offsets' must be an array"},
    {"extra_field", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4, "unexpected field 'x'"},
    {"entry_not_object", R"({"a":5})", 0, "entry is an integer, expected an object"},
    {"metadata_not_string", R"({"__metadata__":{"format":1}})", 0, "__metadata__ 'format' is an integer, expected a string"},
    {"invalid_utf8", "{\"\xff\":1}", 0, "invalid JSON"},
};

INSTANTIATE_TEST_SUITE_P(Rules, SafetensorsCorruption, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(SafetensorsMalformed, HeaderLengthBeyondFileOrLimit) {
    std::vector<std::byte> file(16);
    uint64_t n = 9;
    std::memcpy(file.data(), &n, 8);
    auto parsed = parse_safetensors(file, "short.safetensors");
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message().find("header length 9 exceeds the file size (16 bytes)"), std::string::npos);
    n = 100'000'001;
    std::memcpy(file.data(), &n, 8);
    EXPECT_NE(parse_safetensors(file, "x").error().message().find("the 100 MB limit"), std::string::npos);
    n = UINT64_MAX;
    std::memcpy(file.data(), &n, 8);
    EXPECT_FALSE(parse_safetensors(file, "x").ok());
}

}  // namespace
}  // namespace tern::format
