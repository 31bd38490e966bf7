#include "format/ggml_types.h"

#include <gtest/gtest.h>

namespace tern::format {
namespace {

TEST(GgmlTypes, BlockGeometryOfTheTypesTernReads) {
    struct Expected {
        uint32_t id;
        const char* name;
        uint32_t block_elems, block_bytes, trailer;
    };
    const Expected expected[] = {
        {0, "F32", 1, 4, 0},      {1, "F16", 1, 2, 0},      {30, "BF16", 1, 2, 0},    {8, "Q8_0", 32, 34, 0},
        {2, "Q4_0", 32, 18, 0},   {12, "Q4_K", 256, 144, 0}, {14, "Q6_K", 256, 210, 0}, {34, "TQ1_0", 256, 54, 0},
        {35, "TQ2_0", 256, 66, 0}, {36, "I2_S", 128, 32, 32},
    };
    for (const Expected& e : expected) {
        const auto traits = ggml_type_traits(e.id);
        ASSERT_TRUE(traits.has_value()) << e.name;
        EXPECT_EQ(traits->name, e.name);
        EXPECT_EQ(traits->block_elems, e.block_elems) << e.name;
        EXPECT_EQ(traits->block_bytes, e.block_bytes) << e.name;
        EXPECT_EQ(traits->trailer_bytes, e.trailer) << e.name;
        EXPECT_TRUE(traits->decodable) << e.name;
        EXPECT_EQ(ggml_type_from_name(e.name), traits->type);
    }
}

TEST(GgmlTypes, IdCollisionsAndGaps) {
    EXPECT_FALSE(ggml_type_traits(31).has_value());   // removed upstream
    EXPECT_FALSE(ggml_type_traits(37).has_value());   // bitnet.cpp I8_S, never stored
    EXPECT_FALSE(ggml_type_traits(40).has_value());
    EXPECT_EQ(ggml_type_traits(38)->name, "TL1");
    EXPECT_FALSE(ggml_type_traits(38)->decodable);
    EXPECT_EQ(ggml_type_traits(39)->name, "MXFP4");
    EXPECT_EQ(ggml_type_name(36), "I2_S");
    EXPECT_EQ(ggml_type_name(1234), "type 1234");
    EXPECT_EQ(ggml_type_from_name("tq2_0"), GgmlType::kTQ2_0);
    EXPECT_FALSE(ggml_type_from_name("tq3_0").has_value());
}

TEST(GgmlTypes, TensorBytes) {
    const auto tq2 = *ggml_type_traits(35);
    EXPECT_EQ(ggml_tensor_bytes(tq2, {2560, 6912, 1, 1}).value(), 2560ull / 256 * 66 * 6912);
    const auto i2s = *ggml_type_traits(36);
    // The official 2B4T ffn_down: 6912 x 2560 -> N/4 + 32 bytes.
    EXPECT_EQ(ggml_tensor_bytes(i2s, {6912, 2560, 1, 1}).value(), 6912ull * 2560 / 4 + 32);
    EXPECT_FALSE(ggml_tensor_bytes(tq2, {100, 1, 1, 1}).ok());
    EXPECT_FALSE(ggml_tensor_bytes(*ggml_type_traits(0), {1ull << 62, 4, 1, 1}).ok());
}

}  // namespace
}  // namespace tern::format
