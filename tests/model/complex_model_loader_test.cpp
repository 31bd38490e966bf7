// iFairy HF folders (ComplexNetLM: BF16 master weights, PhaseQuant-ed at load) and tern's
// ifairy GGUF written from them: the same codes and scales, bit-identical logits, and one-line
// errors naming the tensor for a wrong shape, a missing imaginary part or a NaN weight.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "core/float16.h"
#include "engine/inference_session.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/complex_gguf_writer.h"
#include "model/gguf_model_loader.h"
#include "model/hf_model_loader.h"
#include "quant/phase_quant.h"
#include "testing/placeholder_vocabulary.h"
#include "testing/test_files.h"
#include "tokenizer/vocabulary.h"

namespace tern::model {
namespace {

constexpr Hparams kHp = {.n_vocab = 64, .n_embd = 32, .n_layer = 2, .n_ff = 48, .n_head = 2, .n_head_kv = 2,
                         .head_dim = 16, .n_ctx_train = 64, .rope_theta = 10000.0f, .norm_eps = 1e-5f};

struct Folder {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    std::vector<std::byte> data;
    uint64_t seed = 1;

    // BF16 values: uniform in [-scale, scale) plus offset.
    void add(const std::string& name, std::vector<uint64_t> shape, float scale, float offset = 0.0f) {
        size_t n = 1;
        for (uint64_t d : shape) n *= d;
        const std::vector<float> values = testing::random_floats(n, seed++);
        std::vector<uint16_t> bf16(n);
        for (size_t i = 0; i < n; ++i) bf16[i] = fp32_to_bf16(offset + scale * values[i]);
        header[name] = {{"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + 2 * n}}};
        const auto* p = reinterpret_cast<const std::byte*>(bf16.data());
        data.insert(data.end(), p, p + 2 * n);
    }
    void complex(const std::string& stem, std::vector<uint64_t> shape, float scale, float offset = 0.0f) {
        add(stem + "_real", shape, scale, offset);
        add(stem + "_imag", shape, scale, offset);
    }
};

Folder ifairy_tensors() {
    Folder f;
    const uint64_t E = kHp.n_embd, F = kHp.n_ff, V = kHp.n_vocab;
    f.add("token_embeddings_real.weight", {V, E}, 1.0f);
    f.add("token_embeddings_imag.weight", {V, E}, 1.0f);
    f.complex("final_norm.weight", {E}, 0.2f, 1.0f);
    f.add("lm_head.weight", {V, 2 * E}, 0.2f);
    for (size_t l = 0; l < kHp.n_layer; ++l) {
        const std::string p = "layer." + std::to_string(l) + ".";
        f.complex(p + "pre_layernorm.weight", {E}, 0.2f, 1.0f);
        f.complex(p + "post_layernorm.weight", {E}, 0.2f, 1.0f);
        for (const char* proj : {"q_proj", "k_proj", "v_proj", "o_proj"})
            f.complex(p + "self_attn." + proj + ".weight", {E, E}, 0.1f);
        f.complex(p + "self_attn.attn_layernorm.weight", {E}, 0.2f, 1.0f);
        f.complex(p + "mlp.gate_proj.weight", {F, E}, 0.1f);
        f.complex(p + "mlp.up_proj.weight", {F, E}, 0.1f);
        f.complex(p + "mlp.down_proj.weight", {E, F}, 0.1f);
        f.complex(p + "mlp.ffn_layernorm.weight", {F}, 0.2f, 1.0f);
    }
    return f;
}

void write_folder(const Folder& f, const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    testing::write_file(dir / "model.safetensors", testing::make_safetensors(f.header.dump(), f.data));
    const nlohmann::json config = {
        {"architectures", {"ComplexNetLM"}}, {"model_type", "complexnet"}, {"vocab_size", kHp.n_vocab},
        {"hidden_size", kHp.n_embd}, {"intermediate_size", kHp.n_ff}, {"num_hidden_layers", kHp.n_layer},
        {"num_attention_heads", kHp.n_head}, {"num_key_value_heads", kHp.n_head_kv}, {"hidden_act", "relu2"},
        {"max_position_embeddings", kHp.n_ctx_train}, {"rms_norm_eps", kHp.norm_eps}, {"rope_theta", kHp.rope_theta},
        {"tie_word_embeddings", false}};
    testing::write_file(dir / "config.json", config.dump(2));
}

tokenizer::Vocabulary tiny_vocabulary() { return testing::placeholder_vocabulary(kHp.n_vocab); }

std::vector<float> logits_of(const Model& m) {
    ThreadPool pool(2);
    engine::InferenceSession session(m, kernels::kernel_table(kernels::best_isa_here()), pool, 16);
    const std::vector<int32_t> prompt = {1, 42, 7, 33, 63, 3, 3, 20};
    EXPECT_TRUE(session.evaluate(prompt, true).ok());
    return {session.logits().begin(), session.logits().end()};
}

TEST(ComplexModelLoader, HfFolderAndItsGgufGiveTheSameBits) {
    testing::TempDir dir;
    write_folder(ifairy_tensors(), dir / "hf");
    auto hf = load_hf_model((dir / "hf").string(), {.threads = 2, .progress = {}});
    ASSERT_TRUE(hf.ok()) << hf.error().message();
    EXPECT_EQ(hf.value().arch->name, "ifairy");
    EXPECT_EQ(hf.value().ternary_type, "BF16 (PhaseQuant)");

    auto writer = complex_model_gguf(hf.value(), tiny_vocabulary(), "tiny ifairy");
    ASSERT_TRUE(writer.ok()) << writer.error().message();
    auto bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    auto g = format::parse_gguf(*bytes, "tiny-ifairy.gguf");
    ASSERT_TRUE(g.ok()) << g.error().message();
    EXPECT_EQ(g.value().find_tensor("blk.1.ffn_down.weight")->traits.type, format::GgmlType::kTernC2);
    auto gguf = load_gguf_model(g.value(), bytes, "tiny-ifairy.gguf", {.threads = 1, .progress = {}});
    ASSERT_TRUE(gguf.ok()) << gguf.error().message();

    const quant::PackedComplex& a = hf.value().layers[1].complex.down;
    const quant::PackedComplex& b = gguf.value().layers[1].complex.down;
    EXPECT_EQ(a.scale_re, b.scale_re);
    EXPECT_EQ(a.scale_im, b.scale_im);
    EXPECT_EQ(0, std::memcmp(a.codes.data(), b.codes.data(), a.codes.size_bytes()));
    const std::vector<float> from_hf = logits_of(hf.value()), from_gguf = logits_of(gguf.value());
    ASSERT_EQ(from_hf.size(), from_gguf.size());
    EXPECT_EQ(0, std::memcmp(from_hf.data(), from_gguf.data(), from_hf.size() * sizeof(float)));
}

// The loader's codes and scales are PhaseQuant's on the BF16 master weights.
TEST(ComplexModelLoader, ProjectionsArePhaseQuantOfTheMasterWeights) {
    testing::TempDir dir;
    const Folder f = ifairy_tensors();
    write_folder(f, dir / "hf");
    auto hf = load_hf_model((dir / "hf").string(), {.threads = 1, .progress = {}});
    ASSERT_TRUE(hf.ok()) << hf.error().message();
    auto read = [&](const std::string& name) {
        const auto& t = f.header[name];
        const size_t begin = t["data_offsets"][0], end = t["data_offsets"][1];
        std::vector<float> out((end - begin) / 2);
        for (size_t i = 0; i < out.size(); ++i) {
            uint16_t bits;
            std::memcpy(&bits, f.data.data() + begin + 2 * i, 2);
            out[i] = bf16_to_fp32(bits);
        }
        return out;
    };
    const auto q = quant::phase_quantize(read("layer.0.self_attn.q_proj.weight_real"),
                                         read("layer.0.self_attn.q_proj.weight_imag"), quant::kIfairyMinScale);
    ASSERT_TRUE(q.ok());
    const quant::PackedComplex& packed = hf.value().layers[0].complex.q;
    EXPECT_EQ(packed.scale_re, q.value().scale_re);
    EXPECT_EQ(packed.scale_im, q.value().scale_im);
    for (size_t r = 0; r < kHp.n_embd; ++r)
        for (size_t c = 0; c < kHp.n_embd; ++c)
            ASSERT_EQ(quant::packed_complex_code(packed, r, c), q.value().codes[r * kHp.n_embd + c]);
}

std::string load_error(Folder f, const std::function<void(Folder&)>& change) {
    testing::TempDir dir;
    change(f);
    write_folder(f, dir / "hf");
    auto m = load_hf_model((dir / "hf").string(), {.threads = 1, .progress = {}});
    EXPECT_FALSE(m.ok());
    if (m.ok()) return "";
    const std::string prefix = (dir / "hf").string() + ": ";
    const std::string& msg = m.error().message();
    EXPECT_EQ(msg.find('\n'), std::string::npos);
    return msg.starts_with(prefix) ? msg.substr(prefix.size()) : msg;
}

TEST(ComplexModelLoader, BadFoldersGetOneLineErrorsNamingTheTensor) {
    const Folder good = ifairy_tensors();
    EXPECT_EQ(load_error(good, [](Folder& f) {
                  nlohmann::ordered_json renamed = nlohmann::ordered_json::object();
                  for (const auto& [name, value] : f.header.items())
                      renamed[name == "layer.1.mlp.up_proj.weight_imag" ? "layer.1.mlp.up_proj.weight_img" : name] = value;
                  f.header = renamed;
              }),
              "does not match architecture 'ComplexNetLM' (1 problems): missing 'layer.1.mlp.up_proj.weight_imag'");
    EXPECT_EQ(load_error(good, [](Folder& f) { f.header["layer.0.self_attn.k_proj.weight_real"]["shape"] = {16, 64}; }),
              "does not match architecture 'ComplexNetLM' (1 problems): 'layer.0.self_attn.k_proj.weight_real' has "
              "shape [16, 64], expected [32, 32] (n_head_kv*head_dim, n_embd)");
    EXPECT_EQ(load_error(good, [](Folder& f) {
                  const size_t at = f.header["layer.1.mlp.gate_proj.weight_imag"]["data_offsets"][0];
                  const uint16_t nan = 0x7fc0;
                  std::memcpy(f.data.data() + at + 2 * (3 * kHp.n_embd + 5), &nan, 2);
              }),
              "tensor 'layer.1.mlp.gate_proj.weight_real + layer.1.mlp.gate_proj.weight_imag': weight at row 3 "
              "column 5 is not finite (re -0.0664062, im nan)");
}

}  // namespace
}  // namespace tern::model
