#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "format/gguf_reader.h"
#include "model/gguf_model_loader.h"
#include "model/hf_model_loader.h"
#include "model/synthetic_model.h"
#include "quant/dequantize.h"

namespace tern::model {
namespace {

using format::GgmlType;
using format::GgufValue;

std::vector<std::byte> tiny_bytes(GgmlType ternary = GgmlType::kI2_S, std::string_view arch = "bitnet-b1.58") {
    SyntheticShape shape = *find_synthetic_shape("tiny");
    shape.gguf_arch = arch;
    auto writer = synthetic_gguf(shape, {.ternary_type = ternary});
    EXPECT_TRUE(writer.ok());
    return writer.value().write_to_buffer();
}

// Copies a GGUF, letting `edit_kv` / `keep_tensor` change metadata or drop / reshape tensors.
struct Rewrite {
    std::function<bool(const std::string& key, GgufValue& value)> edit_kv = [](auto&, auto&) { return true; };
    std::function<std::string(const std::string& key)> rename_key = [](const std::string& key) { return key; };
    std::function<bool(const format::GgufTensorInfo&, std::vector<uint64_t>& dims)> keep_tensor =
        [](auto&, auto&) { return true; };
};

std::vector<std::byte> rewrite(const std::vector<std::byte>& bytes, const Rewrite& r) {
    auto parsed = format::parse_gguf(bytes, "in");
    EXPECT_TRUE(parsed.ok());
    const format::GgufContents& in = parsed.value();
    format::GgufWriter out;
    for (const format::GgufKv& kv : in.metadata) {
        GgufValue value = kv.value;
        if (r.edit_kv(kv.key, value)) {
            EXPECT_TRUE(out.add_metadata(r.rename_key(kv.key), value).ok());
        }
    }
    for (const format::GgufTensorInfo& t : in.tensors) {
        std::vector<uint64_t> dims(t.ne.begin(), t.ne.begin() + t.n_dims);
        if (r.keep_tensor(t, dims)) {
            auto data = in.tensor_data(t);
            EXPECT_TRUE(out.add_tensor(t.name, t.traits.type, dims, std::vector<std::byte>(data.begin(), data.end())).ok());
        }
    }
    return out.write_to_buffer();
}

Result<Model> load_bytes(const std::vector<std::byte>& bytes) {
    auto storage = std::make_shared<std::vector<std::byte>>(bytes);
    auto parsed = format::parse_gguf(*storage, "m.gguf");
    if (!parsed.ok()) return parsed.error();
    auto contents = std::make_shared<format::GgufContents>(std::move(parsed).value());
    return load_gguf_model(*contents, storage, "m.gguf", {});
}

TEST(GgufModelLoader, LoadsHyperParametersAndWeightsExactly) {
    const std::vector<std::byte> bytes = tiny_bytes(GgmlType::kTQ2_0);
    auto m = load_bytes(bytes);
    ASSERT_TRUE(m.ok()) << m.error().message();
    const Model& model = m.value();
    EXPECT_EQ(model.arch->name, "bitnet-b1.58");
    EXPECT_EQ(model.hp.n_embd, 256u);
    EXPECT_EQ(model.hp.n_head_kv, 2u);
    EXPECT_EQ(model.hp.n_vocab, 300u);
    EXPECT_TRUE(model.tied_head);
    EXPECT_EQ(model.output.data, model.token_embd.data);
    EXPECT_EQ(model.ternary_type, "TQ2_0");
    EXPECT_EQ(model.rope, RopePairing::kNeox);
    ASSERT_EQ(model.layers.size(), 2u);

    // Every weight of blk.1.ffn_down equals the file's own dequantisation.
    auto parsed = format::parse_gguf(bytes, "m");
    const format::GgufTensorInfo& info = *parsed.value().find_tensor("blk.1.ffn_down.weight");
    std::vector<float> want(info.n_elements);
    ASSERT_TRUE(quant::dequantize(info.traits.type, parsed.value().tensor_data(info), want).ok());
    const quant::PackedTernary& down = model.layers[1].down;
    ASSERT_EQ(down.rows, 256u);
    ASSERT_EQ(down.cols, 512u);
    for (size_t r = 0; r < down.rows; ++r)
        for (size_t c = 0; c < down.cols; ++c)
            ASSERT_EQ(packed_ternary_value(down, r, c) * down.row_scale.data()[r], want[r * down.cols + c]) << r << "," << c;
}

// The default head choice: a 16- or 32-bit head as large as a real model's becomes Q8_0, a small
// one stays as the file has it, and a family's own head (recurrent, widely-linear) never does.
TEST(GgufModelLoader, AutoHeadConvertsOnlyLargeFloatHeads) {
    Model m;
    m.arch = find_gguf_architecture("bitnet-b1.58");
    ASSERT_NE(m.arch, nullptr);
    m.output.type = format::GgmlType::kF16;
    m.output.rows = 128256;   // BitNet 2B4T's head: 657 MB
    m.output.cols = 2560;
    m.output.row_bytes = 2560 * 2;
    EXPECT_TRUE(m.head_becomes_q8_0(HeadConversion::kAuto));
    EXPECT_FALSE(m.head_becomes_q8_0(HeadConversion::kKeep));
    const size_t rows_at_the_bar = (kAutoQ8HeadMinBytes + m.output.row_bytes - 1) / m.output.row_bytes;
    m.output.rows = rows_at_the_bar - 1;
    EXPECT_FALSE(m.head_becomes_q8_0(HeadConversion::kAuto));
    EXPECT_TRUE(m.head_becomes_q8_0(HeadConversion::kQ8_0));
    m.output.rows = rows_at_the_bar;
    EXPECT_TRUE(m.head_becomes_q8_0(HeadConversion::kAuto));
    m.output.cols = 2560;
    EXPECT_TRUE(m.head_becomes_q8_0(HeadConversion::kAuto));
    m.output.cols = 2550;   // rows that Q8_0's 32-wide blocks do not divide stay as they are
    EXPECT_FALSE(m.head_becomes_q8_0(HeadConversion::kAuto));
    m.output.cols = 2560;
    m.output.type = format::GgmlType::kQ8_0;   // a Q8_0 file head is repacked, unless Q4_0 is asked for
    EXPECT_TRUE(m.head_becomes_q8_0(HeadConversion::kKeep));
    EXPECT_FALSE(m.head_becomes_q8_0(HeadConversion::kQ4_0));
    EXPECT_EQ(head_conversion_target(m, HeadConversion::kQ4_0), QuantizedHead::kQ4_0);
    m.output.type = format::GgmlType::kQ6_K;   // a Q6_K file head stays Q6_K, unless Q8_0 or Q4_0 is asked for
    for (HeadConversion c : {HeadConversion::kKeep, HeadConversion::kAuto, HeadConversion::kQ6_K})
        EXPECT_EQ(head_conversion_target(m, c), QuantizedHead::kQ6_K);
    EXPECT_EQ(head_conversion_target(m, HeadConversion::kQ8_0), QuantizedHead::kQ8_0);
    EXPECT_EQ(head_conversion_target(m, HeadConversion::kQ4_0), QuantizedHead::kQ4_0);
    m.output.type = format::GgmlType::kF16;
    EXPECT_EQ(head_conversion_target(m, HeadConversion::kAuto), QuantizedHead::kQ8_0);
    EXPECT_EQ(head_conversion_target(m, HeadConversion::kQ6_K), QuantizedHead::kQ6_K);
    EXPECT_EQ(head_conversion_target(m, HeadConversion::kKeep), QuantizedHead::kNone);
    for (HeadConversion c : {HeadConversion::kKeep, HeadConversion::kQ8_0, HeadConversion::kAuto}) EXPECT_FALSE(m.head_becomes_q4_0(c));
    m.arch = find_gguf_architecture("hgrn-bit");
    ASSERT_NE(m.arch, nullptr);
    EXPECT_FALSE(m.head_becomes_q8_0(HeadConversion::kAuto));
    EXPECT_FALSE(m.head_becomes_q4_0(HeadConversion::kQ4_0));   // a family head is the family's
    EXPECT_FALSE(m.head_becomes_q6_k(HeadConversion::kQ6_K));

    // An HGRN-Bit head is ternary: converting it is refused on one line naming the file, in either form.
    const std::filesystem::path hgrn = std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories-hgrn-bit";
    for (const HeadConversion c : {HeadConversion::kQ8_0, HeadConversion::kQ4_0, HeadConversion::kQ6_K}) {
        const std::string flag(head_conversion_name(c));
        Result<Model> gguf = load_gguf_model((hgrn / "tinystories-hgrn-bit.gguf").string(), {.head = c, .threads = 1, .progress = {}});
        ASSERT_FALSE(gguf.ok());
        EXPECT_EQ(gguf.error().message(), (hgrn / "tinystories-hgrn-bit.gguf").string() + ": --head " + flag + ": an HGRN-Bit head is ternary");
        Result<Model> folder = load_hf_model((hgrn / "hf").string(), {.head = c, .threads = 1, .progress = {}});
        ASSERT_FALSE(folder.ok());
        EXPECT_EQ(folder.error().message(), (hgrn / "hf").string() + ": --head " + flag + ": an HGRN-Bit head is ternary");
    }

    // The shipped model's 1 MB F16 head stays F16 by default.
    const std::filesystem::path path =
        std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories" / "tinystories-bitnet.gguf";
    Result<Model> shipped = load_gguf_model(path.string(), {.head = HeadConversion::kAuto, .threads = 1, .progress = {}});
    ASSERT_TRUE(shipped.ok()) << shipped.error().message();
    EXPECT_FALSE(shipped.value().q8_head());
}

TEST(GgufModelLoader, LlamaFilesUseNormRope) {
    auto m = load_bytes(tiny_bytes(GgmlType::kI2_S, "llama"));
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(m.value().rope, RopePairing::kNorm);
    EXPECT_TRUE(m.value().layers[0].attn_sub_norm.empty());
}

TEST(GgufModelLoader, ReportsEveryMismatchInOneError) {
    Rewrite fixed;
    fixed.keep_tensor = [](const format::GgufTensorInfo& t, std::vector<uint64_t>&) {
        return t.name != "blk.0.attn_k.weight" && t.name != "blk.1.ffn_norm.weight";
    };
    auto m = load_bytes(rewrite(tiny_bytes(), fixed));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().message(),
              "m.gguf: does not match architecture 'bitnet-b1.58' (2 problems): missing 'blk.0.attn_k.weight'; "
              "missing 'blk.1.ffn_norm.weight'");
}

TEST(GgufModelLoader, ReportsWrongShapeWithExpectedDimensions) {
    Rewrite r;
    r.edit_kv = [](const std::string& key, GgufValue& value) {
        if (key == "bitnet-b1.58.feed_forward_length") value = GgufValue::u32(768);
        return true;
    };
    auto m = load_bytes(rewrite(tiny_bytes(), r));
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().message().find("'blk.0.ffn_gate.weight' has shape [256, 512], expected [256, 768] "
                                       "(n_embd, n_ff)"),
              std::string::npos)
        << m.error().message();
    EXPECT_NE(m.error().message().find("(8 problems)"), std::string::npos) << m.error().message();
}

TEST(GgufModelLoader, RefusesUnknownArchitectureAndBadHyperParameters) {
    auto unknown = load_bytes(rewrite(tiny_bytes(), {.edit_kv = [](const std::string& key, GgufValue& value) {
        if (key == "general.architecture") value = GgufValue::string("mamba");
        return true;
    }}));
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().message(),
              "m.gguf: architecture 'mamba' is not supported (tern runs bitnet-b1.58, bitnet-25, bitnet, llama, ifairy, fairy2i, hgrn-bit)");

    auto heads = load_bytes(rewrite(tiny_bytes(), {.edit_kv = [](const std::string& key, GgufValue& value) {
        if (key == "bitnet-b1.58.attention.head_count_kv") value = GgufValue::u32(3);
        return true;
    }}));
    ASSERT_FALSE(heads.ok());
    EXPECT_EQ(heads.error().message(), "m.gguf: hyper-parameters: n_head = 4 is not a multiple of n_head_kv = 3");

    auto missing = load_bytes(rewrite(tiny_bytes(), {.edit_kv = [](const std::string& key, GgufValue&) {
        return key != "bitnet-b1.58.block_count";
    }}));
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().message(), "m.gguf: metadata 'bitnet-b1.58.block_count' is missing");
}

TEST(GgufModelLoader, RefusesSubNormsInALlamaFile) {
    Rewrite r;
    r.edit_kv = [](const std::string& key, GgufValue& value) {
        if (key == "general.architecture") value = GgufValue::string("llama");
        return true;
    };
    r.rename_key = [](const std::string& key) {
        return key.starts_with("bitnet-b1.58.") ? "llama." + key.substr(13) : key;
    };
    auto m = load_bytes(rewrite(tiny_bytes(), r));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().message(),
              "m.gguf: does not match architecture 'llama' (1 problems): 'blk.0.attn_sub_norm.weight' is present, "
              "but architecture 'llama' has no sub-norms (wrong general.architecture?)");
}

}  // namespace
}  // namespace tern::model
