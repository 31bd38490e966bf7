// The Fairy2i model that ships in models/tinystories-fairy2i (a tiny LLaMA trained here, then
// converted to Fairy2i-W2 with a short QAT by tools/train/fairy2i_*): tern's split and two-stage
// PhaseQuant reproduce PyTorch's codes and scales of every linear layer exactly, the HF folder
// and its GGUF give identical logits, the float path matches PyTorch's forward pass, the int8
// path stays close, and greedy decoding tells PyTorch's story.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>

#include "engine/inference_session.h"
#include "engine/shipped_checks.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/hf_model_loader.h"
#include "testing/test_files.h"

namespace tern {
namespace {

const std::filesystem::path kDir = std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories-fairy2i";
const std::string kGguf = (kDir / "tinystories-fairy2i.gguf").string();

nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

model::Model load(const std::string& path, model::WidelyLinearActivations activations) {
    const model::LoadOptions options{.threads = 2, .progress = {}, .widely_linear_activations = activations};
    auto m = std::filesystem::is_directory(path) ? model::load_hf_model(path, options) : model::load_gguf_model(path, options);
    EXPECT_TRUE(m.ok()) << m.error().message();
    return std::move(m).value();
}

std::vector<float> logits_for(const model::Model& m, const std::vector<int32_t>& ids) {
    ThreadPool pool(2);
    engine::InferenceSession session(m, kernels::kernel_table(kernels::best_isa_here()), pool, 0);
    EXPECT_TRUE(session.evaluate(ids, true).ok());
    return {session.logits().begin(), session.logits().end()};
}

const quant::PackedWidelyLinear& linear(const model::Model& m, const std::string& name) {
    if (name == "lm_head") return m.output_widely_linear;
    // "model.layers.N.self_attn.q_proj" / "model.layers.N.mlp.down_proj"
    const size_t layer = std::stoul(name.substr(13, name.find('.', 13) - 13));
    const std::string module = name.substr(name.rfind('.') + 1);
    const model::WidelyLinearProjections& p = m.layers[layer].widely_linear;
    if (module == "q_proj") return p.q;
    if (module == "k_proj") return p.k;
    if (module == "v_proj") return p.v;
    if (module == "o_proj") return p.o;
    if (module == "gate_proj") return p.gate;
    if (module == "up_proj") return p.up;
    return p.down;
}

// Every linear layer's scales (bits) and code counts against the table PyTorch wrote.
void expect_linears(const model::Model& m, const nlohmann::json& table) {
    size_t checked = 0;
    for (const auto& [name, entry] : table.items()) {
        SCOPED_TRACE(name);
        const quant::PackedWidelyLinear& w = linear(m, name);
        ASSERT_EQ(w.n_matrices, 2 * entry["stages"].size());
        for (size_t stage = 0; stage < entry["stages"].size(); ++stage) {
            const nlohmann::json& s = entry["stages"][stage];
            for (size_t uw = 0; uw < 2; ++uw) {
                const size_t j = 2 * stage + uw;
                const std::string prefix = uw == 0 ? "u_" : "w_";
                EXPECT_EQ(std::bit_cast<uint32_t>(w.scale_re[j]), s[prefix + "scale_re_bits"].get<uint32_t>()) << j;
                EXPECT_EQ(std::bit_cast<uint32_t>(w.scale_im[j]), s[prefix + "scale_im_bits"].get<uint32_t>()) << j;
                std::vector<size_t> counts(4, 0);
                for (size_t r = 0; r < w.rows; ++r)
                    for (size_t c = 0; c < w.cols; ++c) ++counts[quant::widely_linear_code(w, j, r, c)];
                EXPECT_EQ(counts, s[prefix + "code_counts"].get<std::vector<size_t>>()) << j;
            }
        }
        ++checked;
    }
    EXPECT_EQ(checked, 4u * 7u + 1u);   // every projection and the head
}

TEST(ShippedFairy2i, SplitAndPhaseQuantReproducePyTorchsCodesAndScales) {
    const nlohmann::json fixture = read_json(kDir / "fixture.json");
    const model::Model m = load((kDir / "hf").string(), model::WidelyLinearActivations::kInt8);
    expect_linears(m, fixture["linears"]);
    const std::vector<std::byte> codes = testing::read_file(kDir / fixture["codes_file"].get<std::string>());
    for (const auto& t : fixture["codes_tensors"]) {
        const quant::PackedWidelyLinear& w = linear(m, t["tensor"].get<std::string>());
        const size_t j = 2 * (t["stage"].get<size_t>() - 1) + (t["matrix"] == "U" ? 0 : 1);
        const size_t offset = t["offset"].get<size_t>();
        for (size_t r = 0; r < w.rows; ++r)
            for (size_t c = 0; c < w.cols; ++c)
                ASSERT_EQ(quant::widely_linear_code(w, j, r, c), static_cast<uint8_t>(codes[offset + r * w.cols + c]))
                    << t["tensor"] << " matrix " << j << " row " << r << " column " << c;
    }
}

// The float LLaMA before QAT, converted post-training with --weights fairy2i-w2.
TEST(ShippedFairy2i, PostTrainingConversionOfTheFloatModelMatchesPyTorch) {
    const nlohmann::json fixture = read_json(kDir / "fixture.json");
    auto m = model::load_hf_model((kDir / "float-hf").string(),
                                  {.threads = 2, .progress = {}, .fairy2i_stages = 2,
                                   .widely_linear_activations = model::WidelyLinearActivations::kFloat});
    ASSERT_TRUE(m.ok()) << m.error().message();
    expect_linears(m.value(), fixture["float_hf"]["linears"]);
    const std::vector<int32_t> ids = fixture["ids"].get<std::vector<int32_t>>();
    const std::vector<std::byte> raw = testing::read_file(kDir / fixture["float_hf"]["w2_logits_file"].get<std::string>());
    std::vector<float> torch_logits(raw.size() / sizeof(float));
    std::memcpy(torch_logits.data(), raw.data(), raw.size());
    const std::vector<float> ours = logits_for(m.value(), ids);
    ASSERT_EQ(ours.size(), torch_logits.size());
    double max_diff = 0;
    for (size_t i = 0; i < ours.size(); ++i) max_diff = std::max(max_diff, std::fabs(double(ours[i]) - torch_logits[i]));
    EXPECT_LT(max_diff, 1e-3);
}

TEST(ShippedFairy2i, GgufAndHfFolderGiveIdenticalLogits) {
    const std::vector<int32_t> ids = read_json(kDir / "fixture.json")["ids"].get<std::vector<int32_t>>();
    for (auto activations : {model::WidelyLinearActivations::kInt8, model::WidelyLinearActivations::kFloat}) {
        const std::vector<float> a = logits_for(load(kGguf, activations), ids);
        const std::vector<float> b = logits_for(load((kDir / "hf").string(), activations), ids);
        ASSERT_EQ(a.size(), b.size());
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
    }
}

// max |tern - PyTorch| and whether every position's argmax agrees.
std::pair<double, bool> compare_with_pytorch(model::WidelyLinearActivations activations) {
    const nlohmann::json fixture = read_json(kDir / "fixture.json");
    const std::vector<int32_t> ids = fixture["ids"].get<std::vector<int32_t>>();
    const std::vector<std::byte> raw = testing::read_file(kDir / "fixture_logits.f32");
    std::vector<float> torch_logits(raw.size() / sizeof(float));
    std::memcpy(torch_logits.data(), raw.data(), raw.size());
    const std::vector<float> ours = logits_for(load(kGguf, activations), ids);
    EXPECT_EQ(ours.size(), torch_logits.size());
    const size_t vocab = fixture["vocab_size"].get<size_t>();
    double max_diff = 0;
    bool argmax_equal = true;
    for (size_t i = 0; i < ours.size() && i < torch_logits.size(); ++i)
        max_diff = std::max(max_diff, std::fabs(double(ours[i]) - torch_logits[i]));
    for (size_t t = 0; t < ids.size(); ++t) {
        auto row = [&](const std::vector<float>& l) { return std::max_element(l.begin() + t * vocab, l.begin() + (t + 1) * vocab) - l.begin(); };
        argmax_equal = argmax_equal && row(ours) == row(torch_logits);
    }
    return {max_diff, argmax_equal};
}

// The reference keeps activations in float: tern's float path differs from it only in the
// order of float sums (measured below), and its int8 path by the activations' rounding.
TEST(ShippedFairy2i, FloatPathMatchesPyTorchsForwardPass) {
    const auto [max_diff, argmax_equal] = compare_with_pytorch(model::WidelyLinearActivations::kFloat);
    std::printf("float activations: max |tern - PyTorch| = %.3g\n", max_diff);
    EXPECT_LT(max_diff, 1e-3);
    EXPECT_TRUE(argmax_equal);
}

TEST(ShippedFairy2i, Int8PathStaysClose) {
    const auto [max_diff, argmax_equal] = compare_with_pytorch(model::WidelyLinearActivations::kInt8);
    std::printf("int8 activations: max |tern - PyTorch| = %.3g\n", max_diff);
    EXPECT_LT(max_diff, 0.5);
}

// The default int8 path scores the first chunks of the held-out text (card.json says how many:
// seconds, where the whole text takes a minute) within 0.1 % of the PyTorch reference on the same
// chunks. Over the whole text the float path measured 17.4246, the reference's own number; int8 17.4271.
TEST(ShippedFairy2i, PerplexityWithinAThousandthOfPyTorch) {
#ifdef TERN_SANITIZED
    GTEST_SKIP() << "SKIPPED under sanitizers: tens of seconds there; the plain build runs it";
#endif
    const nlohmann::json card = read_json(kDir / "card.json");
    testing::expect_prefix_perplexity(kGguf, card, "reference_perplexity_prefix");
}

TEST(ShippedFairy2i, GreedyDecodingTellsPyTorchsStory) {
    const nlohmann::json card = read_json(kDir / "card.json");
    for (const std::string activations : {"float", "int8"})
        EXPECT_EQ(testing::greedy_text(kGguf, card["reference_greedy_prompt"].get<std::string>(),
                                       card["reference_greedy_tokens"].get<int>(), "--activations " + activations),
                  " " + card["reference_greedy_text"].get<std::string>() + "\n")
            << activations;
}

}  // namespace
}  // namespace tern
