#include "format/hf_checkpoint.h"

#include <gtest/gtest.h>

#include "testing/test_files.h"

namespace tern::format {
namespace {

const char* kBitnetConfig = R"({
  "architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "vocab_size": 128256,
  "hidden_size": 2560, "intermediate_size": 6912, "num_hidden_layers": 30,
  "num_attention_heads": 20, "num_key_value_heads": 5, "max_position_embeddings": 4096,
  "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "hidden_act": "relu2", "torch_dtype": "bfloat16",
  "tie_word_embeddings": true, "bos_token_id": 128000, "eos_token_id": [128001, 128009],
  "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "offline"}
})";

TEST(HfConfig, ParsesBitnetConfig) {
    auto parsed = parse_hf_config(kBitnetConfig, "config.json");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    const HfConfig& c = parsed.value();
    EXPECT_EQ(c.architectures, std::vector<std::string>{"BitNetForCausalLM"});
    EXPECT_EQ(c.hidden_size, 2560u);
    EXPECT_EQ(c.num_key_value_heads, 5u);
    EXPECT_EQ(c.head_dim, std::nullopt);
    EXPECT_EQ(c.rms_norm_eps, 1e-5);
    EXPECT_EQ(c.rope_theta, 500000.0);
    EXPECT_EQ(c.hidden_act, "relu2");
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_EQ(c.bos_token_id, 128000);
    EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001, 128009}));
    ASSERT_TRUE(c.quantization.has_value());
    EXPECT_EQ(c.quantization->linear_class, "autobitlinear");
    EXPECT_FALSE(c.quantization->use_rms_norm);
    bool found = false;
    for (const auto& [key, value] : c.all_fields) found = found || (key == "quantization_config.quant_method" && value == "\"bitnet\"");
    EXPECT_TRUE(found);
}

TEST(HfConfig, DefaultsFollowTransformers) {
    auto parsed = parse_hf_config(R"({"eos_token_id": 2, "quantization_config": {"quant_method": "bitnet"}})", "c");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(parsed.value().eos_token_ids, std::vector<int64_t>{2});
    EXPECT_EQ(parsed.value().quantization->linear_class, "bitlinear");
    EXPECT_EQ(parsed.value().quantization->quantization_mode, "offline");
}

TEST(HfConfig, WrongTypesAreNamed) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"hidden_size": "2560"})", "config.json: 'hidden_size': expected a positive integer, found a string \"2560\""},
        {R"({"hidden_size": 0})", "'hidden_size': expected a positive integer, found an integer 0"},
        {R"({"num_hidden_layers": -3})", "'num_hidden_layers': expected a positive integer, found a negative integer -3"},
        {R"({"rms_norm_eps": "small"})", "'rms_norm_eps': expected a number"},
        {R"({"tie_word_embeddings": 1})", "'tie_word_embeddings': expected true or false"},
        {R"({"architectures": "Llama"})", "'architectures': expected an array of strings"},
        {R"({"eos_token_id": [1, "2"]})", "'eos_token_id': expected an integer or a list of integers"},
        {R"({"quantization_config": {"linear_class": "fancy"}})", "'linear_class' is 'fancy'"},
        {R"({"quantization_config": {"quantization_mode": "later"}})", "'quantization_mode' is 'later'"},
        {R"({"quantization_config": 3})", "'quantization_config': expected an object"},
        {R"([1])", "expected a JSON object, found an array"},
        {R"({"a": 1, "a": 2})", "duplicate key 'a'"},
        {R"({"hidden_size": 1,})", "invalid JSON"},
    };
    for (const auto& [text, expected] : cases) {
        auto parsed = parse_hf_config(text, "config.json");
        ASSERT_FALSE(parsed.ok()) << text;
        EXPECT_NE(parsed.error().message().find(expected), std::string::npos) << parsed.error().message();
    }
}

TEST(SafetensorsIndex, RefusesPathsOutsideTheFolder) {
    for (const char* shard : {"../model.safetensors", "/etc/passwd", "a/b.safetensors", "..", ""}) {
        const std::string text = std::string(R"({"weight_map": {"w": ")") + shard + R"("}})";
        auto parsed = parse_safetensors_index(text, "index.json");
        ASSERT_FALSE(parsed.ok()) << shard;
        EXPECT_NE(parsed.error().message().find("is not a plain file name"), std::string::npos) << parsed.error().message();
    }
    EXPECT_FALSE(parse_safetensors_index(R"({"metadata": {}})", "index.json").ok());
    EXPECT_FALSE(parse_safetensors_index(R"({"weight_map": {"w": 1}})", "index.json").ok());
}

std::vector<std::byte> one_tensor_file(const std::string& name) {
    return testing::make_safetensors("{\"" + name + R"(":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                     std::vector<std::byte>(8));
}

TEST(HfCheckpoint, OpensSingleFileFolder) {
    testing::TempDir dir;
    testing::write_file(dir / "config.json", std::string(kBitnetConfig));
    testing::write_file(dir / "model.safetensors", testing::make_tiny_safetensors());
    auto checkpoint = HfCheckpoint::open(dir.path().string());
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message();
    EXPECT_EQ(checkpoint.value().shards().size(), 1u);
    EXPECT_EQ(checkpoint.value().tensors().size(), 3u);
    EXPECT_FALSE(checkpoint.value().has_tokenizer_json());
    ASSERT_NE(checkpoint.value().find("b.weight"), nullptr);
    EXPECT_EQ(checkpoint.value().find("b.weight")->data().size(), 8u);
    EXPECT_EQ(checkpoint.value().config().num_hidden_layers, 30u);
}

TEST(HfCheckpoint, OpensShardedFolder) {
    testing::TempDir dir;
    testing::write_file(dir / "config.json", std::string(kBitnetConfig));
    testing::write_file(dir / "tokenizer.json", std::string("{}"));
    testing::write_file(dir / "model-00001-of-00002.safetensors", one_tensor_file("x"));
    testing::write_file(dir / "model-00002-of-00002.safetensors", one_tensor_file("y"));
    testing::write_file(dir / "model.safetensors.index.json",
                        std::string(R"({"metadata": {"total_size": 16}, "weight_map": {)"
                                    R"("x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}})"));
    auto checkpoint = HfCheckpoint::open(dir.path().string());
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message();
    EXPECT_EQ(checkpoint.value().shards().size(), 2u);
    EXPECT_TRUE(checkpoint.value().has_tokenizer_json());
    EXPECT_NE(checkpoint.value().find("y")->shard->path().find("00002"), std::string::npos);

    // Move keeps the tensor references valid.
    HfCheckpoint moved = std::move(checkpoint).value();
    EXPECT_EQ(moved.find("x")->data().size(), 8u);
}

TEST(HfCheckpoint, IndexMustAgreeWithShards) {
    const auto check = [](const std::string& index, const char* expected) {
        testing::TempDir dir;
        testing::write_file(dir / "config.json", std::string("{}"));
        testing::write_file(dir / "a.safetensors", one_tensor_file("x"));
        testing::write_file(dir / "b.safetensors", one_tensor_file("x"));
        testing::write_file(dir / "model.safetensors.index.json", index);
        auto checkpoint = HfCheckpoint::open(dir.path().string());
        ASSERT_FALSE(checkpoint.ok()) << index;
        EXPECT_NE(checkpoint.error().message().find(expected), std::string::npos) << checkpoint.error().message();
    };
    check(R"({"weight_map": {"x": "a.safetensors", "z": "a.safetensors"}})", "tensor 'z' is listed in shard 'a.safetensors'");
    check(R"({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}})", "is stored in both");
    check(R"({"weight_map": {"x": "missing.safetensors"}})", "missing.safetensors: cannot open");
    check(R"({"weight_map": {}})", "weight_map is empty");
}

TEST(HfCheckpoint, MissingPiecesAreNamed) {
    testing::TempDir dir;
    auto no_config = HfCheckpoint::open(dir.path().string());
    ASSERT_FALSE(no_config.ok());
    EXPECT_NE(no_config.error().message().find("no config.json"), std::string::npos);
    testing::write_file(dir / "config.json", std::string("{}"));
    auto no_weights = HfCheckpoint::open(dir.path().string());
    ASSERT_FALSE(no_weights.ok());
    EXPECT_NE(no_weights.error().message().find("neither model.safetensors nor"), std::string::npos);
    testing::write_file(dir / "model.safetensors", std::string("garbage"));
    EXPECT_FALSE(HfCheckpoint::open(dir.path().string()).ok());
    EXPECT_NE(HfCheckpoint::open((dir / "nope").string()).error().message().find("not a directory"), std::string::npos);
}

TEST(HfCheckpoint, UnlistedShardTensorIsAnError) {
    testing::TempDir dir;
    testing::write_file(dir / "config.json", std::string("{}"));
    testing::write_file(dir / "a.safetensors", testing::make_tiny_safetensors());
    testing::write_file(dir / "model.safetensors.index.json", std::string(R"({"weight_map": {"a.weight": "a.safetensors"}})"));
    auto checkpoint = HfCheckpoint::open(dir.path().string());
    ASSERT_FALSE(checkpoint.ok());
    EXPECT_NE(checkpoint.error().message().find("tensor 'b.weight' in"), std::string::npos) << checkpoint.error().message();
}

}  // namespace
}  // namespace tern::format
