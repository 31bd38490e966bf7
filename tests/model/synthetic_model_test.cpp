#include "model/synthetic_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "format/gguf_reader.h"
#include "quant/ternary_formats.h"

namespace tern::model {
namespace {

using format::GgmlType;

std::vector<std::byte> tiny_gguf(SyntheticOptions options) {
    auto writer = synthetic_gguf(*find_synthetic_shape("tiny"), options);
    EXPECT_TRUE(writer.ok()) << writer.error().message();
    return writer.value().write_to_buffer();
}

uint64_t fnv1a(std::span<const std::byte> bytes) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const std::byte b : bytes) h = (h ^ static_cast<uint8_t>(b)) * 0x100000001b3ull;
    return h;
}

// The generated tensors are split into chunks over the threads; the bytes must not depend on
// how (three threads cut the tiny tensors at other places than the chunk size does).
TEST(SyntheticModel, SameBytesForAnyThreadCount) {
    for (const GgmlType ternary : {GgmlType::kI2_S, GgmlType::kTQ2_0, GgmlType::kTQ1_0}) {
        for (const GgmlType embd : {GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kF32}) {
            SyntheticOptions options{.ternary_type = ternary, .embd_type = embd, .untied_head = true, .seed = 5};
            const std::vector<std::byte> one = tiny_gguf(options);
            options.threads = 3;
            EXPECT_EQ(tiny_gguf(options), one) << format::ggml_type_name(uint32_t(ternary)) << " / "
                                               << format::ggml_type_name(uint32_t(embd));
        }
    }
}

// Synthetic models are the benchmark inputs and the golden tests' models: their bytes are a
// contract (these hashes are of the files tern has written since `tern synth` existed).
TEST(SyntheticModel, BytesAreStable) {
    EXPECT_EQ(fnv1a(tiny_gguf({.ternary_type = GgmlType::kI2_S})), 0x5f7fc788aba08f4aull);
    EXPECT_EQ(fnv1a(tiny_gguf({.ternary_type = GgmlType::kTQ2_0})), 0x75bd41bc88fea2ebull);
    EXPECT_EQ(fnv1a(tiny_gguf({.ternary_type = GgmlType::kTQ1_0, .embd_type = GgmlType::kQ8_0, .seed = 9})), 0xddd08a78ed6fa1b1ull);
}

// I2_S is encoded straight from the random codes; it must be exactly what the reference
// quantiser writes for the same ternary values, with about half of them zero.
TEST(SyntheticModel, I2sTensorsAreWhatTheQuantiserWrites) {
    const std::vector<std::byte> file = tiny_gguf({.ternary_type = GgmlType::kI2_S, .seed = 3});
    auto parsed = format::parse_gguf(file, "tiny");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    size_t checked = 0;
    for (const format::GgufTensorInfo& t : parsed.value().tensors) {
        if (t.traits.type != GgmlType::kI2_S) continue;
        const std::span<const std::byte> data = parsed.value().tensor_data(t);
        std::vector<float> w(t.n_elements);
        ASSERT_TRUE(quant::dequantize_i2_s(data, w).ok()) << t.name;
        const float m = quant::i2_s_tensor_scale(data, w.size());
        ASSERT_GT(m, 0.0f) << t.name;
        const size_t zeros = static_cast<size_t>(std::count(w.begin(), w.end(), 0.0f));
        const size_t plus = static_cast<size_t>(std::count(w.begin(), w.end(), m));
        const size_t minus = static_cast<size_t>(std::count(w.begin(), w.end(), -m));
        EXPECT_EQ(zeros + plus + minus, w.size()) << t.name;
        EXPECT_NEAR(static_cast<double>(zeros) / static_cast<double>(w.size()), 0.5, 0.02) << t.name;
        EXPECT_NEAR(static_cast<double>(plus) / static_cast<double>(w.size()), 0.25, 0.02) << t.name;
        std::vector<std::byte> again(data.size());
        quant::quantize_i2_s(w, again);
        EXPECT_TRUE(std::equal(again.begin(), again.end(), data.begin())) << t.name;
        ++checked;
    }
    EXPECT_EQ(checked, 2u * 7u);
}

TEST(SyntheticModel, RefusesTypesItCannotWrite) {
    auto bad_ternary = synthetic_gguf(*find_synthetic_shape("tiny"), {.ternary_type = GgmlType::kQ4_K});
    ASSERT_FALSE(bad_ternary.ok());
    EXPECT_NE(bad_ternary.error().message().find("cannot be written (use i2_s, tq2_0 or tq1_0)"), std::string::npos);
    auto bad_embd = synthetic_gguf(*find_synthetic_shape("tiny"), {.embd_type = GgmlType::kQ4_K});
    ASSERT_FALSE(bad_embd.ok());
    EXPECT_EQ(bad_embd.error().message(),
              "tensor 'token_embd.weight': embedding type Q4_K cannot be written (use f32, f16, bf16, q8_0 or q6_k)");
    model::SyntheticShape narrow = *find_synthetic_shape("tiny");
    narrow.hp.n_embd = 128;
    narrow.hp.n_head = 2;
    auto bad_q6_k = synthetic_gguf(narrow, {.embd_type = GgmlType::kQ6_K});
    ASSERT_FALSE(bad_q6_k.ok());
    EXPECT_EQ(bad_q6_k.error().message(), "tensor 'token_embd.weight': Q6_K needs rows of a multiple of 256, got 128");
    auto bad_rows = synthetic_gguf(*find_synthetic_shape("3b"), {.ternary_type = GgmlType::kTQ2_0});
    ASSERT_FALSE(bad_rows.ok());
    EXPECT_EQ(bad_rows.error().message(), "tensor 'blk.0.attn_q.weight': TQ2_0 needs rows of a multiple of 256, got 3200");
}

// `--arch bitnet` writes the 2B4T shape as llama.cpp's converter names it: the metadata keys
// move to the new prefix and the tensors follow that architecture's table.
TEST(SyntheticModel, WritesAnotherArchitectureOnRequest) {
    for (const std::string_view arch : {"bitnet", "llama"}) {
        const std::vector<std::byte> file = tiny_gguf({.ternary_type = GgmlType::kTQ2_0, .gguf_arch = arch});
        auto parsed = format::parse_gguf(file, "tiny");
        ASSERT_TRUE(parsed.ok()) << parsed.error().message();
        const format::GgufContents& gguf = parsed.value();
        EXPECT_EQ(gguf.architecture(), arch);
        EXPECT_NE(gguf.find(std::string(arch) + ".block_count"), nullptr) << arch;
        EXPECT_EQ(gguf.find("bitnet-b1.58.block_count"), nullptr) << arch;
        EXPECT_EQ(gguf.find_tensor("blk.1.ffn_sub_norm.weight") != nullptr, arch == "bitnet") << arch;
        EXPECT_NE(gguf.find_tensor("blk.1.ffn_down.weight"), nullptr) << arch;
    }
    auto unknown = synthetic_gguf(*find_synthetic_shape("tiny"), {.gguf_arch = "mamba"});
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().message(),
              "architecture 'mamba' is not one tern knows (bitnet-b1.58, bitnet-25, bitnet, llama, ifairy, fairy2i, hgrn-bit)");
}

}  // namespace
}  // namespace tern::model
