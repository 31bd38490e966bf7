#include "quant/dequantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/float16.h"
#include "testing/test_files.h"

namespace tern::quant {
namespace {

using format::GgmlType;

TEST(Dequantize, FloatTypesAreExact) {
    const auto x = testing::random_floats(64, 1);
    std::vector<float> y(64);
    ASSERT_TRUE(dequantize(GgmlType::kF32, testing::sample_tensor_data(GgmlType::kF32, 64, 1), y).ok());
    EXPECT_EQ(y, x);
    ASSERT_TRUE(dequantize(GgmlType::kF16, testing::sample_tensor_data(GgmlType::kF16, 64, 1), y).ok());
    for (size_t i = 0; i < 64; ++i) EXPECT_EQ(y[i], fp16_to_fp32(fp32_to_fp16(x[i])));
    ASSERT_TRUE(dequantize(GgmlType::kBF16, testing::sample_tensor_data(GgmlType::kBF16, 64, 1), y).ok());
    for (size_t i = 0; i < 64; ++i) EXPECT_EQ(y[i], bf16_to_fp32(fp32_to_bf16(x[i])));
}

TEST(Dequantize, DispatchesEveryDecodableType) {
    for (const GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kTQ1_0,
                                GgmlType::kTQ2_0, GgmlType::kI2_S}) {
        const auto data = testing::sample_tensor_data(type, 512, 2);
        std::vector<float> y(512, std::numeric_limits<float>::quiet_NaN());
        ASSERT_TRUE(dequantize(type, data, y).ok()) << format::ggml_type_name(uint32_t(type));
        for (const float v : y) ASSERT_TRUE(std::isfinite(v)) << format::ggml_type_name(uint32_t(type));
    }
}

TEST(Dequantize, RefusesMismatchedSizesAndUndecodableTypes) {
    std::vector<float> y(256);
    const auto data = testing::sample_tensor_data(GgmlType::kTQ2_0, 256, 3);
    auto short_data = dequantize(GgmlType::kTQ2_0, std::span(data).first(60), y);
    ASSERT_FALSE(short_data.ok());
    EXPECT_EQ(short_data.error().message(), "TQ2_0: 60 bytes given for 256 elements, expected 66");
    std::vector<float> odd(100);
    EXPECT_FALSE(dequantize(GgmlType::kTQ2_0, data, odd).ok());
    auto tl1 = dequantize(GgmlType::kTL1, data, y);
    ASSERT_FALSE(tl1.ok());
    EXPECT_EQ(tl1.error().message(), "no dequantiser for ggml type TL1");
    EXPECT_FALSE(dequantize(GgmlType::kQ5_K, data, y).ok());
}

}  // namespace
}  // namespace tern::quant
