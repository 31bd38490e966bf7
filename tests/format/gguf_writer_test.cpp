#include "format/gguf_writer.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/str_cat.h"
#include "format/gguf_reader.h"
#include "testing/test_files.h"

namespace tern::format {
namespace {

// Every type tern decodes, and the recognised-only ones, in several shapes.
const GgmlType kRoundTripTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16,  GgmlType::kQ8_0,
                                    GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kTQ1_0,
                                    GgmlType::kTQ2_0, GgmlType::kI2_S};

class GgufRoundTrip : public ::testing::TestWithParam<GgmlType> {};

TEST_P(GgufRoundTrip, WriteReadCompare) {
    const GgmlType type = GetParam();
    const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
    const uint64_t row = std::max<uint64_t>(traits.block_elems, 256);
    const std::vector<std::vector<uint64_t>> shapes = {{row}, {row, 3}, {row * 2, 2, 2}, {row, 1, 2, 3}};
    GgufWriter writer;
    ASSERT_TRUE(writer.add_metadata("general.architecture", GgufValue::string("roundtrip")).ok());
    std::vector<std::vector<std::byte>> payloads;
    for (size_t i = 0; i < shapes.size(); ++i) {
        uint64_t n = 1;
        for (uint64_t d : shapes[i]) n *= d;
        payloads.push_back(testing::sample_tensor_data(type, n, 100 + i));
        ASSERT_TRUE(writer.add_tensor(str_cat("t", i), type, shapes[i], std::span<const std::byte>(payloads.back())).ok());
    }
    const std::vector<std::byte> file = writer.write_to_buffer();
    auto parsed = parse_gguf(file, "roundtrip.gguf");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    const GgufContents& gguf = parsed.value();
    ASSERT_EQ(gguf.tensors.size(), shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i) {
        const GgufTensorInfo& t = gguf.tensors[i];
        EXPECT_EQ(t.name, str_cat("t", i));
        EXPECT_EQ(t.traits.type, type);
        ASSERT_EQ(t.n_dims, shapes[i].size());
        for (size_t d = 0; d < shapes[i].size(); ++d) EXPECT_EQ(t.ne[d], shapes[i][d]);
        const auto data = gguf.tensor_data(t);
        ASSERT_EQ(data.size(), payloads[i].size());
        EXPECT_EQ(std::memcmp(data.data(), payloads[i].data(), data.size()), 0) << "tensor " << i;
    }
    // Writing what was read gives the same bytes.
    GgufWriter again;
    for (const GgufKv& kv : gguf.metadata) ASSERT_TRUE(again.add_metadata(kv.key, kv.value).ok());
    for (const GgufTensorInfo& t : gguf.tensors) {
        ASSERT_TRUE(again.add_tensor(t.name, t.traits.type, std::span(t.ne).first(t.n_dims), gguf.tensor_data(t)).ok());
    }
    EXPECT_EQ(again.write_to_buffer(), file);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, GgufRoundTrip, ::testing::ValuesIn(kRoundTripTypes),
                         [](const auto& info) { return std::string(ggml_type_traits(uint32_t(info.param))->name); });

TEST(GgufWriter, RoundTripsEveryMetadataType) {
    GgufWriter writer;
    const uint16_t u16s[] = {1, 65535};
    const double f64s[] = {0.1, -1e300};
    const uint8_t bools[] = {1, 0, 1};
    const std::vector<std::pair<std::string, GgufValue>> values = {
        {"u8", GgufValue::u8(200)},           {"i8", GgufValue::i8(-100)},
        {"u16", GgufValue::u16(60000)},       {"i16", GgufValue::i16(-30000)},
        {"u32", GgufValue::u32(4000000000u)}, {"i32", GgufValue::i32(-2000000000)},
        {"f32", GgufValue::f32(1e-5f)},       {"bool", GgufValue::boolean(false)},
        {"str", GgufValue::string("h\xc3\xa9llo")}, {"u64", GgufValue::u64(UINT64_MAX)},
        {"i64", GgufValue::i64(INT64_MIN)},   {"f64", GgufValue::f64(2.5)},
        {"arr.u16", GgufValue::array<uint16_t>(GgufType::kUint16, u16s)},
        {"arr.f64", GgufValue::array<double>(GgufType::kFloat64, f64s)},
        {"arr.bool", GgufValue::array<uint8_t>(GgufType::kBool, bools)},
        {"arr.str", GgufValue::string_array({"", "x", std::string(1000, 'y')})},
        {"arr.empty", GgufValue::array<uint32_t>(GgufType::kUint32, {})},
    };
    for (const auto& [key, value] : values) ASSERT_TRUE(writer.add_metadata(key, value).ok());
    const std::vector<std::byte> file = writer.write_to_buffer();
    EXPECT_EQ(file.size() % 32, 0u) << "ggml pads the metadata to the alignment even without tensors";
    auto parsed = parse_gguf(file, "meta.gguf");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    ASSERT_EQ(parsed.value().metadata.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(parsed.value().metadata[i].key, values[i].first);
        EXPECT_TRUE(parsed.value().metadata[i].value == values[i].second) << values[i].first;
    }
    EXPECT_EQ(parsed.value().find("u64")->as_uint(), UINT64_MAX);
    EXPECT_EQ(parsed.value().find("u64")->as_int(), std::nullopt);
    EXPECT_EQ(parsed.value().find("i64")->as_int(), INT64_MIN);
    EXPECT_EQ(parsed.value().find("i8")->as_uint(), std::nullopt);
    EXPECT_EQ(format_gguf_value(*parsed.value().find("arr.str"), 2), "[string x 3] '', 'x', ...");
}

TEST(GgufWriter, HonoursCustomAlignment) {
    GgufWriter writer;
    ASSERT_TRUE(writer.add_metadata("general.alignment", GgufValue::u32(128)).ok());
    const uint64_t dims[] = {8};
    ASSERT_TRUE(writer.add_tensor("a", GgmlType::kF32, dims, testing::sample_tensor_data(GgmlType::kF32, 8, 1)).ok());
    ASSERT_TRUE(writer.add_tensor("b", GgmlType::kF32, dims, testing::sample_tensor_data(GgmlType::kF32, 8, 2)).ok());
    const auto file = writer.write_to_buffer();
    auto parsed = parse_gguf(file, "aligned.gguf");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(parsed.value().data_offset % 128, 0u);
    EXPECT_EQ(parsed.value().tensors[1].offset, 128u);
    EXPECT_EQ(file.size() % 128, 0u);
}

TEST(GgufWriter, RefusesInvalidInput) {
    GgufWriter writer;
    const uint64_t dims[] = {256};
    const auto data = testing::sample_tensor_data(GgmlType::kTQ2_0, 256, 1);
    ASSERT_TRUE(writer.add_metadata("k", GgufValue::u32(1)).ok());
    EXPECT_EQ(writer.add_metadata("k", GgufValue::u32(2)).error().message(), "duplicate metadata key 'k'");
    EXPECT_FALSE(writer.add_metadata("", GgufValue::u32(2)).ok());
    EXPECT_FALSE(writer.add_metadata("general.alignment", GgufValue::u64(32)).ok());
    EXPECT_FALSE(writer.add_metadata("general.alignment", GgufValue::u32(24)).ok());
    ASSERT_TRUE(writer.add_tensor("t", GgmlType::kTQ2_0, dims, std::span<const std::byte>(data)).ok());
    EXPECT_EQ(writer.add_tensor("t", GgmlType::kTQ2_0, dims, std::span<const std::byte>(data)).error().message(),
              "duplicate tensor name 't'");
    EXPECT_EQ(writer.add_tensor("u", GgmlType::kTQ2_0, dims, std::span(data).first(65)).error().message(),
              "tensor 'u': TQ2_0 data is 65 bytes, expected 66");
    const uint64_t odd[] = {100};
    EXPECT_EQ(writer.add_tensor("v", GgmlType::kTQ2_0, odd, std::span<const std::byte>(data)).error().message(),
              "tensor 'v': row length 100 is not a multiple of the TQ2_0 block size 256");
    EXPECT_FALSE(writer.add_tensor(std::string(64, 'n'), GgmlType::kTQ2_0, dims, std::span<const std::byte>(data)).ok());
    EXPECT_FALSE(writer.add_metadata("general.alignment", GgufValue::u32(64)).ok()) << "alignment after tensors";
}

// Tensors produced at write time land where given ones would: the same file from a buffer or
// a file, each filler called once with a zeroed span of exactly its tensor's size.
TEST(GgufWriter, GeneratedTensorsMatchGivenOnes) {
    const auto a = testing::sample_tensor_data(GgmlType::kQ8_0, 64, 1);
    const auto b = testing::sample_tensor_data(GgmlType::kF32, 5, 2);
    const auto c = testing::sample_tensor_data(GgmlType::kTQ1_0, 256, 3);
    const uint64_t dims_a[] = {64}, dims_b[] = {5}, dims_c[] = {256};
    GgufWriter given;
    ASSERT_TRUE(given.add_metadata("general.architecture", GgufValue::string("x")).ok());
    ASSERT_TRUE(given.add_tensor("a", GgmlType::kQ8_0, dims_a, std::span<const std::byte>(a)).ok());
    ASSERT_TRUE(given.add_tensor("b", GgmlType::kF32, dims_b, std::span<const std::byte>(b)).ok());
    ASSERT_TRUE(given.add_tensor("c", GgmlType::kTQ1_0, dims_c, std::span<const std::byte>(c)).ok());

    int calls = 0;
    const auto filler = [&calls](const std::vector<std::byte>& data) {
        return [&calls, &data](std::span<std::byte> dest) {
            ++calls;
            ASSERT_EQ(dest.size(), data.size());
            EXPECT_TRUE(std::all_of(dest.begin(), dest.end(), [](std::byte x) { return x == std::byte{0}; }));
            std::copy(data.begin(), data.end(), dest.begin());
        };
    };
    GgufWriter generated;
    ASSERT_TRUE(generated.add_metadata("general.architecture", GgufValue::string("x")).ok());
    ASSERT_TRUE(generated.add_tensor("a", GgmlType::kQ8_0, dims_a, a.size(), filler(a)).ok());
    ASSERT_TRUE(generated.add_tensor("b", GgmlType::kF32, dims_b, std::span<const std::byte>(b)).ok());
    ASSERT_TRUE(generated.add_tensor("c", GgmlType::kTQ1_0, dims_c, c.size(), filler(c)).ok());
    EXPECT_EQ(generated.add_tensor("d", GgmlType::kTQ1_0, dims_c, c.size() + 1, filler(c)).error().message(),
              "tensor 'd': TQ1_0 data is 55 bytes, expected 54");
    EXPECT_EQ(calls, 0) << "nothing is generated before writing";

    const std::vector<std::byte> expected = given.write_to_buffer();
    EXPECT_EQ(generated.write_to_buffer(), expected);
    EXPECT_EQ(calls, 2);
    testing::TempDir dir;
    const std::string path = (dir / "generated.gguf").string();
    ASSERT_TRUE(generated.write_to_file(path).ok());
    EXPECT_EQ(calls, 4);
    auto file = GgufFile::open(path);
    ASSERT_TRUE(file.ok()) << file.error().message();
    const std::span<const std::byte> written = file.value().contents().file_bytes();
    EXPECT_TRUE(std::equal(written.begin(), written.end(), expected.begin(), expected.end()));
}

TEST(GgufWriter, WritesFilesAtomically) {
    testing::TempDir dir;
    const std::string path = (dir / "model.gguf").string();
    ASSERT_TRUE(testing::make_all_types_writer().write_to_file(path).ok());
    auto file = GgufFile::open(path);
    ASSERT_TRUE(file.ok()) << file.error().message();
    EXPECT_EQ(file.value().contents().tensors.size(), 10u);
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    auto failed = testing::make_all_types_writer().write_to_file((dir / "no/such/dir/x.gguf").string());
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.error().message().find("cannot create"), std::string::npos);
}

}  // namespace
}  // namespace tern::format
