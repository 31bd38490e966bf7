#include "format/safetensors_reader.h"

#include <gtest/gtest.h>

#include "testing/test_files.h"

namespace tern::format {
namespace {

TEST(SafetensorsReader, ReadsTinyFile) {
    const auto file = testing::make_tiny_safetensors();
    auto parsed = parse_safetensors(file, "tiny.safetensors");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    const SafetensorsContents& st = parsed.value();
    ASSERT_EQ(st.tensors.size(), 3u);
    EXPECT_EQ(st.metadata.at("format"), "pt");
    EXPECT_EQ(st.data_offset % 8, 0u);
    const SafetensorsTensor* a = st.find("a.weight");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->dtype, SafetensorsDtype::kF32);
    EXPECT_EQ(a->shape, (std::vector<uint64_t>{2, 3}));
    EXPECT_EQ(a->n_elements, 6u);
    const auto weights = testing::random_floats(6, 5);
    EXPECT_EQ(std::memcmp(st.tensor_data(*a).data(), weights.data(), 24), 0);
    EXPECT_EQ(st.find("b.weight")->dtype, SafetensorsDtype::kBF16);
    EXPECT_EQ(st.find("c.weight")->dtype, SafetensorsDtype::kU8);
    EXPECT_EQ(st.tensor_data(*st.find("c.weight")).size(), 4u);
    EXPECT_EQ(st.find("d.weight"), nullptr);
}

TEST(SafetensorsReader, AcceptsScalarsEmptyTensorsAndUnpaddedHeaders) {
    std::vector<std::byte> data(2 + 1);
    const std::string header =
        R"({"s":{"dtype":"F16","shape":[],"data_offsets":[0,2]},)"
        R"("e":{"dtype":"F32","shape":[0,4],"data_offsets":[2,2]},)"
        R"("i":{"dtype":"I8","shape":[1],"data_offsets":[2,3]}})";
    std::vector<std::byte> file(8 + header.size());
    const uint64_t n = header.size();
    std::memcpy(file.data(), &n, 8);
    std::memcpy(file.data() + 8, header.data(), header.size());
    file.insert(file.end(), data.begin(), data.end());
    auto parsed = parse_safetensors(file, "odd.safetensors");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(parsed.value().find("s")->n_elements, 1u);
    EXPECT_EQ(parsed.value().find("e")->n_elements, 0u);
}

TEST(SafetensorsReader, KnowsEveryDtypeSize) {
    EXPECT_EQ(safetensors_dtype_size(SafetensorsDtype::kBF16), 2u);
    EXPECT_EQ(safetensors_dtype_size(SafetensorsDtype::kF8_E4M3), 1u);
    EXPECT_EQ(safetensors_dtype_size(SafetensorsDtype::kU64), 8u);
    EXPECT_EQ(safetensors_dtype_name(SafetensorsDtype::kI8), "I8");
}

TEST(SafetensorsReader, OpensMappedFile) {
    testing::TempDir dir;
    testing::write_file(dir / "m.safetensors", testing::make_tiny_safetensors());
    auto file = SafetensorsFile::open((dir / "m.safetensors").string());
    ASSERT_TRUE(file.ok()) << file.error().message();
    EXPECT_EQ(file.value().contents().tensors.size(), 3u);
}

}  // namespace
}  // namespace tern::format
