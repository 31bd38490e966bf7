// HGRN-Bit HF folders (HGRNBitForCausalLM: 16-bit master weights, absmean-ternarised at load,
// every projection with its own input norm, a ternary head) and tern's hgrn-bit GGUF written
// from them: the same codes and multipliers, bit-identical logits, and one-line errors naming
// what is wrong (a missing lower_bounds, a wrong shape, a feature the released models lack).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <memory>

#include "core/float16.h"
#include "engine/inference_session.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/hf_model_loader.h"
#include "model/recurrent_gguf_writer.h"
#include "quant/ternary_repack.h"
#include "testing/placeholder_vocabulary.h"
#include "testing/test_files.h"
#include "tokenizer/vocabulary.h"

namespace tern::model {
namespace {

// hidden 128 (I2_S rows are multiples of 128), 2 layers; the FFN width comes from hidden_ratio
// 4: 256 * ceil(int(128 * 4 * 2 / 3) / 256) = 512.
constexpr size_t kVocab = 64, kEmbd = 128, kLayers = 2, kFf = 512;

struct Folder {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    std::vector<std::byte> data;
    nlohmann::json config = {
        {"architectures", {"HGRNBitForCausalLM"}}, {"model_type", "hgrn_bit"}, {"attn_mode", "fused_recurrent"},
        {"hidden_size", kEmbd}, {"num_hidden_layers", kLayers}, {"num_heads", 1}, {"expand_ratio", 1},
        {"hidden_ratio", 4}, {"intermediate_size", nullptr}, {"hidden_act", "swish"}, {"use_short_conv", false},
        {"conv_size", 4}, {"share_conv_kernel", true}, {"use_lower_bound", true}, {"max_position_embeddings", 2048},
        {"rms_norm_eps", 1e-6}, {"vocab_size", kVocab}, {"bos_token_id", 1}, {"eos_token_id", 2},
        {"tie_word_embeddings", false}, {"torch_dtype", "bfloat16"}};
    uint64_t seed = 1;
    std::set<std::string> left_out;                              // tensors add() skips
    std::map<std::string, std::vector<uint64_t>> wrong_shapes;   // tensors add() writes in another shape

    // BF16 values: uniform in [-scale, scale) plus offset.
    void add(const std::string& name, std::vector<uint64_t> shape, float scale, float offset = 0.0f) {
        if (left_out.contains(name)) return;
        if (const auto it = wrong_shapes.find(name); it != wrong_shapes.end()) shape = it->second;
        size_t n = 1;
        for (uint64_t d : shape) n *= d;
        const std::vector<float> values = testing::random_floats(n, seed++);
        std::vector<uint16_t> bf16(n);
        for (size_t i = 0; i < n; ++i) bf16[i] = fp32_to_bf16(offset + scale * values[i]);
        header[name] = {{"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + 2 * n}}};
        const auto* p = reinterpret_cast<const std::byte*>(bf16.data());
        data.insert(data.end(), p, p + 2 * n);
    }
    // A BitLinear: its weight and its input norm.
    void bitlinear(const std::string& stem, uint64_t rows, uint64_t cols) {
        add(stem + ".weight", {rows, cols}, 0.1f);
        add(stem + ".norm.weight", {cols}, 0.2f, 1.0f);
    }
    std::vector<float> floats(const std::string& name) const {
        const auto& t = header.at(name);
        const size_t begin = t["data_offsets"][0], end = t["data_offsets"][1];
        std::vector<float> out((end - begin) / 2);
        for (size_t i = 0; i < out.size(); ++i) {
            uint16_t bits;
            std::memcpy(&bits, data.data() + begin + 2 * i, 2);
            out[i] = bf16_to_fp32(bits);
        }
        return out;
    }
};

Folder hgrn_bit_tensors(Folder f = {}) {
    f.add("model.embeddings.weight", {kVocab, kEmbd}, 1.0f);
    f.add("model.lower_bounds", {kLayers, kEmbd}, 1.0f);
    for (size_t l = 0; l < kLayers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        f.add(p + "attn_norm.weight", {kEmbd}, 0.2f, 1.0f);
        for (const char* proj : {"i_proj", "f_proj", "g_proj", "o_proj"}) f.bitlinear(p + "attn." + proj, kEmbd, kEmbd);
        f.add(p + "attn.g_norm.weight", {kEmbd}, 0.2f, 1.0f);
        f.add(p + "mlp_norm.weight", {kEmbd}, 0.2f, 1.0f);
        f.bitlinear(p + "mlp.gate_proj", 2 * kFf, kEmbd);
        f.bitlinear(p + "mlp.down_proj", kEmbd, kFf);
    }
    f.add("model.norm.weight", {kEmbd}, 0.2f, 1.0f);
    f.bitlinear("lm_head", kVocab, kEmbd);
    return f;
}

void write_folder(const Folder& f, const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    testing::write_file(dir / "model.safetensors", testing::make_safetensors(f.header.dump(), f.data));
    testing::write_file(dir / "config.json", f.config.dump(2));
}

tokenizer::Vocabulary tiny_vocabulary() { return testing::placeholder_vocabulary(kVocab); }

std::vector<float> logits_of(const Model& m) {
    ThreadPool pool(2);
    engine::InferenceSession session(m, kernels::kernel_table(kernels::best_isa_here()), pool, 16);
    const std::vector<int32_t> prompt = {1, 42, 7, 33, 63, 3, 3, 20};
    EXPECT_TRUE(session.evaluate(prompt, true).ok());
    return {session.logits().begin(), session.logits().end()};
}

Model load_folder(const Folder& f, const std::filesystem::path& dir) {
    write_folder(f, dir);
    auto m = load_hf_model(dir.string(), {.threads = 2, .progress = {}});
    EXPECT_TRUE(m.ok()) << m.error().message();
    return std::move(m).value();
}

TEST(RecurrentModelLoader, ReadsTheConfigAndDerivesTheFfnWidth) {
    testing::TempDir dir;
    const Model m = load_folder(hgrn_bit_tensors(), dir / "hf");
    EXPECT_EQ(m.arch->name, "hgrn-bit");
    EXPECT_TRUE(m.recurrent());
    EXPECT_EQ(m.hp.n_ff, kFf);
    EXPECT_EQ(m.hp.norm_eps, 1e-6f);
    EXPECT_EQ(m.ternary_type, "BF16 (absmean)");
    EXPECT_EQ(m.lower_bounds.size(), kLayers * kEmbd);
    EXPECT_EQ(m.output_ternary.rows, kVocab);
    EXPECT_EQ(m.layers[1].recurrent.gate_up.rows, 2 * kFf);
    EXPECT_EQ(m.layers[1].recurrent.down_in_norm.size(), kFf);
}

// Every projection, the head included, is absmean of its master weights (even where those are
// exactly ternary times a scale: HGRN-Bit's BitLinear ternarises whatever it is given).
TEST(RecurrentModelLoader, ProjectionsAreAbsmeanOfTheMasterWeights) {
    testing::TempDir dir;
    Folder f = hgrn_bit_tensors();
    // Exactly 0.05 * {-1, 0, +1}: absmean gives the multiplier mean|W| = 0.05 * (share of non-zeros).
    const auto& t = f.header["model.layers.0.attn.g_proj.weight"];
    const size_t begin = t["data_offsets"][0];
    for (size_t i = 0; i < kEmbd * kEmbd; ++i) {
        const uint16_t bits = fp32_to_bf16(i % 3 == 0 ? 0.0f : i % 3 == 1 ? 0.05f : -0.05f);
        std::memcpy(f.data.data() + begin + 2 * i, &bits, 2);
    }
    const Model m = load_folder(f, dir / "hf");
    for (const auto& [name, packed] : {std::pair{"model.layers.1.mlp.down_proj.weight", &m.layers[1].down},
                                       std::pair{"model.layers.0.attn.g_proj.weight", &m.layers[0].recurrent.gate},
                                       std::pair{"lm_head.weight", &m.output_ternary}}) {
        SCOPED_TRACE(name);
        auto expected = quant::ternarize_absmean(f.floats(name), packed->rows, packed->cols);
        ASSERT_TRUE(expected.ok());
        EXPECT_EQ(packed->row_scale.data()[0], expected.value().row_scale.data()[0]);
        for (size_t r = 0; r < packed->rows; ++r)
            for (size_t c = 0; c < packed->cols; ++c)
                ASSERT_EQ(quant::packed_ternary_value(*packed, r, c), quant::packed_ternary_value(expected.value(), r, c));
    }
    const size_t nonzero = kEmbd * kEmbd - (kEmbd * kEmbd + 2) / 3;
    EXPECT_FLOAT_EQ(m.layers[0].recurrent.gate.row_scale.data()[0],
                    bf16_to_fp32(fp32_to_bf16(0.05f)) * nonzero / (kEmbd * kEmbd));
}

TEST(RecurrentModelLoader, HfFolderAndItsGgufGiveTheSameBits) {
    testing::TempDir dir;
    const Model hf = load_folder(hgrn_bit_tensors(), dir / "hf");
    auto writer = recurrent_model_gguf(hf, tiny_vocabulary(), "tiny hgrn-bit");
    ASSERT_TRUE(writer.ok()) << writer.error().message();
    auto bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    auto g = format::parse_gguf(*bytes, "tiny-hgrn-bit.gguf");
    ASSERT_TRUE(g.ok()) << g.error().message();
    EXPECT_EQ(g.value().find_tensor("blk.1.ffn_gate_up.weight")->traits.type, format::GgmlType::kI2_S);
    EXPECT_EQ(g.value().find_tensor("output.weight")->traits.type, format::GgmlType::kI2_S);
    auto gguf = load_gguf_model(g.value(), bytes, "tiny-hgrn-bit.gguf", {.threads = 1, .progress = {}});
    ASSERT_TRUE(gguf.ok()) << gguf.error().message();
    EXPECT_EQ(gguf.value().ternary_type, "I2_S");
    EXPECT_EQ(gguf.value().lower_bounds, hf.lower_bounds);
    const quant::PackedTernary& a = hf.layers[1].recurrent.forget;
    const quant::PackedTernary& b = gguf.value().layers[1].recurrent.forget;
    EXPECT_EQ(a.row_scale.data()[0], b.row_scale.data()[0]);
    EXPECT_EQ(0, std::memcmp(a.codes.data(), b.codes.data(), a.codes.size_bytes()));
    const std::vector<float> from_hf = logits_of(hf), from_gguf = logits_of(gguf.value());
    ASSERT_EQ(from_hf.size(), from_gguf.size());
    EXPECT_EQ(0, std::memcmp(from_hf.data(), from_gguf.data(), from_hf.size() * sizeof(float)));
}

TEST(RecurrentModelLoader, WithoutLowerBoundsTheTensorIsNotNeeded) {
    testing::TempDir dir;
    Folder f;
    f.config["use_lower_bound"] = false;
    f.left_out = {"model.lower_bounds"};
    f = hgrn_bit_tensors(std::move(f));
    const Model hf = load_folder(f, dir / "hf");
    EXPECT_TRUE(hf.lower_bounds.empty());
    auto writer = recurrent_model_gguf(hf, tiny_vocabulary(), "no bounds");
    ASSERT_TRUE(writer.ok());
    auto bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    auto g = format::parse_gguf(*bytes, "no-bounds.gguf");
    ASSERT_TRUE(g.ok());
    auto gguf = load_gguf_model(g.value(), bytes, "no-bounds.gguf", {.threads = 1, .progress = {}});
    ASSERT_TRUE(gguf.ok()) << gguf.error().message();
    EXPECT_TRUE(gguf.value().lower_bounds.empty());
    const std::vector<float> from_hf = logits_of(hf), from_gguf = logits_of(gguf.value());
    EXPECT_EQ(0, std::memcmp(from_hf.data(), from_gguf.data(), from_hf.size() * sizeof(float)));
}

// The error loading a folder built after `change` (to its config, left-out tensors or shapes),
// with the folder's path taken off the front.
std::string load_error(const std::function<void(Folder&)>& change) {
    testing::TempDir dir;
    Folder f;
    change(f);
    f = hgrn_bit_tensors(std::move(f));
    write_folder(f, dir / "hf");
    auto m = load_hf_model((dir / "hf").string(), {.threads = 1, .progress = {}});
    EXPECT_FALSE(m.ok());
    if (m.ok()) return "";
    const std::string prefix = (dir / "hf").string();
    const std::string& msg = m.error().message();
    EXPECT_EQ(msg.find('\n'), std::string::npos);
    return msg.starts_with(prefix) ? msg.substr(prefix.size()) : msg;
}

TEST(RecurrentModelLoader, BadFoldersGetOneLineErrorsNamingTheProblem) {
    const std::string mismatch = ": does not match architecture 'HGRNBitForCausalLM' (1 problems): ";
    EXPECT_EQ(load_error([](Folder& f) { f.left_out = {"model.lower_bounds"}; }),
              mismatch + "missing 'model.lower_bounds' (config.json: use_lower_bound is true)");
    EXPECT_EQ(load_error([](Folder& f) { f.wrong_shapes["model.layers.1.attn.f_proj.weight"] = {64, 128}; }),
              mismatch + "'model.layers.1.attn.f_proj.weight' has shape [64, 128], expected [128, 128] (n_embd, n_embd)");
    EXPECT_EQ(load_error([](Folder& f) { f.wrong_shapes["model.layers.0.mlp.gate_proj.weight"] = {512, 128}; }),
              mismatch + "'model.layers.0.mlp.gate_proj.weight' has shape [512, 128], expected [1024, 128] (2*n_ff, n_embd)");
    EXPECT_EQ(load_error([](Folder& f) { f.left_out = {"lm_head.norm.weight"}; }),
              mismatch + "missing 'lm_head.norm.weight'");
    EXPECT_EQ(load_error([](Folder& f) { f.config["use_short_conv"] = true; }),
              ": config.json: use_short_conv = true is not supported (no released HGRN-Bit uses it)");
    EXPECT_EQ(load_error([](Folder& f) { f.config["num_heads"] = 3; }),
              ": config.json: num_heads = 3 does not divide hidden_size 128");
    EXPECT_EQ(load_error([](Folder& f) { f.config["use_lower_bound"] = "yes"; }),
              "/config.json: 'use_lower_bound': expected true or false, found a string \"yes\"");
}

TEST(RecurrentModelLoader, AGgufWithoutItsLowerBoundsIsRefused) {
    testing::TempDir dir;
    const Model hf = load_folder(hgrn_bit_tensors(), dir / "hf");
    auto writer = recurrent_model_gguf(hf, tiny_vocabulary(), "tiny");
    ASSERT_TRUE(writer.ok());
    std::vector<std::byte> bytes = writer.value().write_to_buffer();
    // Rename the tensor in place (same length), as a converter that forgot it would leave it.
    const std::string from = "lower_bounds.weight", to = "lower_bounds.weighx";
    const auto at = std::search(bytes.begin(), bytes.end(), reinterpret_cast<const std::byte*>(from.data()),
                                reinterpret_cast<const std::byte*>(from.data()) + from.size());
    ASSERT_NE(at, bytes.end());
    std::memcpy(&*at, to.data(), to.size());
    auto shared = std::make_shared<std::vector<std::byte>>(std::move(bytes));
    auto g = format::parse_gguf(*shared, "x.gguf");
    ASSERT_TRUE(g.ok());
    auto m = load_gguf_model(g.value(), shared, "x.gguf", {.threads = 1, .progress = {}});
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().message(), "x.gguf: missing 'lower_bounds.weight' (metadata hgrn-bit.use_lower_bound is true or absent)");
}

}  // namespace
}  // namespace tern::model

namespace tern::model {
namespace {

// MMfreeLM-2.7B's one "head" is 2560 wide: too wide for attention, fine for a recurrence.
TEST(RecurrentModelLoader, AHeadAsWideAsTheModelIsOnlyForRecurrentFamilies) {
    const Hparams hp = {.n_vocab = 32000, .n_embd = 2560, .n_layer = 32, .n_ff = 6912, .n_head = 1, .n_head_kv = 1,
                        .head_dim = 2560, .n_ctx_train = 2048, .rope_theta = 10000.0f, .norm_eps = 1e-6f};
    EXPECT_TRUE(validate_hparams(hp, /*attention=*/false).ok());
    const Status s = validate_hparams(hp);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().message(), "head_dim = 2560 is outside [1, 1024]");
}

}  // namespace
}  // namespace tern::model
