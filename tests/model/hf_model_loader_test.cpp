// The Hugging Face loader against the GGUF loader: a tiny synthetic GGUF is rewritten as an
// HF folder (packed U8 + weight_scale in both scale conventions, or plain float weights; q/k
// rows un-permuted for llama), and both must give the same logits.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <memory>

#include "engine/inference_session.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/hf_model_loader.h"
#include "model/synthetic_model.h"
#include "quant/dequantize.h"
#include "testing/test_files.h"

namespace tern::model {
namespace {

using format::GgmlType;

enum class HfWeights { kPackedAuto, kPackedBitlinear, kFloat };

struct SafetensorsBuilder {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    std::vector<std::byte> data;
    void add(const std::string& name, const char* dtype, std::vector<uint64_t> shape, const void* bytes, size_t n) {
        header[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + n}}};
        const auto* p = static_cast<const std::byte*>(bytes);
        data.insert(data.end(), p, p + n);
    }
};

std::vector<float> dequantized(const format::GgufContents& g, const format::GgufTensorInfo& t) {
    std::vector<float> w(t.n_elements);
    EXPECT_TRUE(quant::dequantize(t.traits.type, g.tensor_data(t), w).ok());
    return w;
}

// Undo llama.cpp's q/k permutation: HF row h*d + t*d/2 + j = GGUF row h*d + 2j + t.
std::vector<float> unpermute(const std::vector<float>& w, size_t heads, size_t d, size_t cols) {
    std::vector<float> out(w.size());
    for (size_t h = 0; h < heads; ++h)
        for (size_t j = 0; j < d / 2; ++j)
            for (size_t t = 0; t < 2; ++t)
                std::memcpy(&out[(h * d + t * d / 2 + j) * cols], &w[(h * d + 2 * j + t) * cols], cols * sizeof(float));
    return out;
}

void write_hf_folder(const format::GgufContents& g, const SyntheticShape& shape, HfWeights mode,
                     const std::filesystem::path& dir) {
    const Architecture& arch = *find_gguf_architecture(shape.gguf_arch);
    const Hparams& hp = shape.hp;
    SafetensorsBuilder st;
    for (const TensorSpec& spec : arch.tensors) {
        for (size_t l = 0; l < (spec.per_layer ? hp.n_layer : 1); ++l) {
            const format::GgufTensorInfo* t = g.find_tensor(tensor_name(spec.gguf_name, l));
            if (t == nullptr) continue;
            const std::string name = tensor_name(spec.hf_name, l);
            const size_t cols = t->ne[0], rows = t->n_dims > 1 ? t->ne[1] : 1;
            if (spec.kind != TensorKind::kTernary) {
                const auto bytes = g.tensor_data(*t);
                std::vector<uint64_t> dims = t->n_dims > 1 ? std::vector<uint64_t>{rows, cols} : std::vector<uint64_t>{cols};
                st.add(name, t->traits.type == GgmlType::kF16 ? "F16" : "F32", dims, bytes.data(), bytes.size());
                continue;
            }
            std::vector<float> w = dequantized(g, *t);
            if (arch.gguf_rope == RopePairing::kNorm && (spec.role == TensorRole::kAttnQ || spec.role == TensorRole::kAttnK))
                w = unpermute(w, rows / hp.head_dim, hp.head_dim, cols);
            if (mode == HfWeights::kFloat) {
                st.add(name, "F32", {rows, cols}, w.data(), w.size() * 4);
                continue;
            }
            float m = 0;
            for (float v : w) m = std::max(m, std::fabs(v));
            const size_t r4 = (rows + 3) / 4;
            std::vector<uint8_t> packed(r4 * cols, 0);
            for (size_t r = 0; r < rows; ++r)
                for (size_t c = 0; c < cols; ++c) {
                    const int code = (w[r * cols + c] > 0) - (w[r * cols + c] < 0) + 1;
                    packed[(r % r4) * cols + c] |= static_cast<uint8_t>(code << (2 * (r / r4)));
                }
            st.add(name, "U8", {r4, cols}, packed.data(), packed.size());
            const float scale = mode == HfWeights::kPackedAuto ? m : 1.0f / m;
            st.add(name.substr(0, name.size() - 7) + ".weight_scale", "F32", {1}, &scale, 4);
        }
    }
    std::filesystem::create_directories(dir);
    testing::write_file(dir / "model.safetensors", testing::make_safetensors(st.header.dump(), st.data));
    nlohmann::json config = {
        {"architectures", {std::string(arch.hf_classes[0])}}, {"vocab_size", hp.n_vocab}, {"hidden_size", hp.n_embd},
        {"intermediate_size", hp.n_ff}, {"num_hidden_layers", hp.n_layer}, {"num_attention_heads", hp.n_head},
        {"num_key_value_heads", hp.n_head_kv}, {"max_position_embeddings", hp.n_ctx_train},
        {"rms_norm_eps", hp.norm_eps}, {"rope_theta", hp.rope_theta}, {"tie_word_embeddings", true},
        {"hidden_act", arch.ffn_activation == FfnActivation::kRelu2 ? "relu2" : "silu"}};
    if (mode != HfWeights::kFloat || arch.hf_classes[0] == "LlamaForCausalLM")
        config["quantization_config"] = {{"quant_method", "bitnet"},
                                         {"linear_class", mode == HfWeights::kPackedAuto ? "autobitlinear" : "bitlinear"}};
    testing::write_file(dir / "config.json", config.dump(2));
}

std::vector<float> logits_of(const Model& m) {
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    ThreadPool pool(2);
    engine::InferenceSession session(m, table, pool, 32);
    const std::vector<int32_t> prompt = {1, 42, 7, 299, 150, 3, 3, 88};
    EXPECT_TRUE(session.evaluate(prompt, true).ok());
    return {session.logits().begin(), session.logits().end()};
}

struct Case {
    const char* gguf_arch;
    HfWeights mode;
    bool bit_identical;
};

class HfVsGguf : public ::testing::TestWithParam<Case> {};

TEST_P(HfVsGguf, SameLogits) {
    SyntheticShape shape = *find_synthetic_shape("tiny");
    shape.gguf_arch = GetParam().gguf_arch;
    auto writer = synthetic_gguf(shape, {.ternary_type = GgmlType::kI2_S});
    ASSERT_TRUE(writer.ok());
    auto bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    auto g = format::parse_gguf(*bytes, "tiny");
    ASSERT_TRUE(g.ok());
    const LoadOptions options{.layout = kernels::kernel_table(kernels::best_isa_here()).ternary_layout, .head = model::HeadConversion::kKeep, .threads = 2,
                              .progress = {}};
    auto from_gguf = load_gguf_model(g.value(), bytes, "tiny", options);
    ASSERT_TRUE(from_gguf.ok()) << from_gguf.error().message();

    testing::TempDir dir;
    write_hf_folder(g.value(), shape, GetParam().mode, dir / "hf");
    auto from_hf = load_hf_model((dir / "hf").string(), options);
    ASSERT_TRUE(from_hf.ok()) << from_hf.error().message();
    EXPECT_EQ(from_hf.value().rope, RopePairing::kNeox);

    const std::vector<float> a = logits_of(from_gguf.value()), b = logits_of(from_hf.value());
    ASSERT_EQ(a.size(), b.size());
    if (GetParam().bit_identical) {
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
    } else {
        double max_abs = 0, max_diff = 0;
        for (size_t i = 0; i < a.size(); ++i) {
            max_abs = std::max(max_abs, std::fabs(double(a[i])));
            max_diff = std::max(max_diff, std::fabs(double(a[i]) - b[i]));
        }
        EXPECT_LT(max_diff, 1e-3 * max_abs);
    }
}

INSTANTIATE_TEST_SUITE_P(Folders, HfVsGguf,
                         ::testing::Values(Case{"bitnet-b1.58", HfWeights::kPackedAuto, true},
                                           Case{"bitnet-b1.58", HfWeights::kFloat, true},
                                           Case{"bitnet", HfWeights::kPackedBitlinear, false},
                                           Case{"llama", HfWeights::kPackedBitlinear, false},
                                           Case{"llama", HfWeights::kFloat, false}));

TEST(HfModelLoader, ReportsProblemsInOneError) {
    SyntheticShape shape = *find_synthetic_shape("tiny");
    auto writer = synthetic_gguf(shape, {.ternary_type = GgmlType::kI2_S});
    auto bytes = writer.value().write_to_buffer();
    auto g = format::parse_gguf(bytes, "tiny");
    testing::TempDir dir;
    write_hf_folder(g.value(), shape, HfWeights::kPackedAuto, dir / "hf");
    nlohmann::json config = nlohmann::json::parse(testing::read_file(dir / "hf" / "config.json"));
    config["intermediate_size"] = 768;
    testing::write_file(dir / "hf" / "config.json", config.dump());
    auto m = load_hf_model((dir / "hf").string(), {});
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().message().find("(8 problems): 'model.layers.0.mlp.gate_proj.weight' (packed U8) has shape "
                                       "[128, 256], expected [192, 256] (n_ff / 4, n_embd)"),
              std::string::npos)
        << m.error().message();

    config["intermediate_size"] = 512;
    config["architectures"] = {"MambaForCausalLM"};
    testing::write_file(dir / "hf" / "config.json", config.dump());
    auto unknown = load_hf_model((dir / "hf").string(), {});
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.error().message().find("architecture 'MambaForCausalLM' is not supported"), std::string::npos);
}

}  // namespace
}  // namespace tern::model
