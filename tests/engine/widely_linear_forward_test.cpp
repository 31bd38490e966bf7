// Fairy2i (widely-linear LLaMA): a LLaMA folder of random float weights read with --weights
// fairy2i-w2 runs the LLaMA graph on the real matrices its PhaseQuant codes rebuild. Checked
// against a plain double-precision LLaMA forward pass over those rebuilt matrices: the float
// activation path to float rounding, the int8 path to activation rounding; both bit-identical
// on every ISA and for prefill or decode.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

#include "core/float16.h"
#include "engine/inference_session.h"
#include "kernels/dispatch.h"
#include "format/gguf_reader.h"
#include "model/complex_gguf_writer.h"
#include "model/gguf_model_loader.h"
#include "model/hf_model_loader.h"
#include "tokenizer/vocabulary.h"
#include "quant/dequantize.h"
#include "quant/packed_complex.h"
#include "testing/test_files.h"

namespace tern {
namespace {

constexpr model::Hparams kHp = {.n_vocab = 96, .n_embd = 64, .n_layer = 2, .n_ff = 96, .n_head = 4, .n_head_kv = 2,
                                .head_dim = 16, .n_ctx_train = 64, .rope_theta = 10000.0f, .norm_eps = 1e-5f};
const std::vector<int32_t> kPrompt = {1, 42, 7, 33, 95, 3, 3, 20, 61};

void write_llama_folder(const std::filesystem::path& dir) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    std::vector<std::byte> data;
    uint64_t seed = 1;
    auto add = [&](const std::string& name, std::vector<uint64_t> shape, float scale, float offset) {
        size_t n = 1;
        for (uint64_t d : shape) n *= d;
        const std::vector<float> v = testing::random_floats(n, seed++);
        std::vector<uint16_t> bf16(n);
        for (size_t i = 0; i < n; ++i) bf16[i] = fp32_to_bf16(offset + scale * v[i]);
        header[name] = {{"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + 2 * n}}};
        const auto* p = reinterpret_cast<const std::byte*>(bf16.data());
        data.insert(data.end(), p, p + 2 * n);
    };
    const uint64_t E = kHp.n_embd, F = kHp.n_ff, V = kHp.n_vocab, KV = kHp.kv_dim();
    add("model.embed_tokens.weight", {V, E}, 1.0f, 0.0f);
    add("model.norm.weight", {E}, 0.2f, 1.0f);
    add("lm_head.weight", {V, E}, 0.2f, 0.0f);
    for (size_t l = 0; l < kHp.n_layer; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {E}, 0.2f, 1.0f);
        add(p + "post_attention_layernorm.weight", {E}, 0.2f, 1.0f);
        add(p + "self_attn.q_proj.weight", {E, E}, 0.15f, 0.0f);
        add(p + "self_attn.k_proj.weight", {KV, E}, 0.15f, 0.0f);
        add(p + "self_attn.v_proj.weight", {KV, E}, 0.15f, 0.0f);
        add(p + "self_attn.o_proj.weight", {E, E}, 0.15f, 0.0f);
        add(p + "mlp.gate_proj.weight", {F, E}, 0.15f, 0.0f);
        add(p + "mlp.up_proj.weight", {F, E}, 0.15f, 0.0f);
        add(p + "mlp.down_proj.weight", {E, F}, 0.15f, 0.0f);
    }
    std::filesystem::create_directories(dir);
    testing::write_file(dir / "model.safetensors", testing::make_safetensors(header.dump(), data));
    const nlohmann::json config = {
        {"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", V}, {"hidden_size", E},
        {"intermediate_size", F}, {"num_hidden_layers", kHp.n_layer}, {"num_attention_heads", kHp.n_head},
        {"num_key_value_heads", kHp.n_head_kv}, {"hidden_act", "silu"}, {"max_position_embeddings", kHp.n_ctx_train},
        {"rms_norm_eps", kHp.norm_eps}, {"rope_theta", kHp.rope_theta}, {"tie_word_embeddings", false}};
    testing::write_file(dir / "config.json", config.dump(2));
}

// The real matrix [2n][2m] that the codes stand for, summed over stages.
std::vector<double> rebuilt(const quant::PackedWidelyLinear& p) {
    const size_t n = p.rows, m = p.cols;
    std::vector<double> a(4 * n * m, 0.0);
    for (size_t j = 0; j < p.n_matrices; j += 2)
        for (size_t r = 0; r < n; ++r)
            for (size_t k = 0; k < m; ++k) {
                const uint8_t cu = quant::widely_linear_code(p, j, r, k), cw = quant::widely_linear_code(p, j + 1, r, k);
                const double ur = p.scale_re[j] * quant::complex_code_re(cu), ui = p.scale_im[j] * quant::complex_code_im(cu);
                const double wr = p.scale_re[j + 1] * quant::complex_code_re(cw);
                const double wi = p.scale_im[j + 1] * quant::complex_code_im(cw);
                a[r * 2 * m + k] += wr + ur;
                a[r * 2 * m + m + k] += wi - ui;
                a[(n + r) * 2 * m + k] += wi + ui;
                a[(n + r) * 2 * m + m + k] += ur - wr;
            }
    return a;
}

std::vector<double> matvec(const quant::PackedWidelyLinear& p, const std::vector<double>& x) {
    const std::vector<double> a = rebuilt(p);
    const size_t rows = 2 * p.rows, cols = 2 * p.cols;
    std::vector<double> y(rows, 0.0);
    for (size_t r = 0; r < rows; ++r)
        for (size_t k = 0; k < cols; ++k) y[r] += a[r * cols + k] * x[k];
    return y;
}

std::vector<double> rms(const std::vector<double>& x, const std::vector<float>& w, double eps) {
    double s = 0;
    for (double v : x) s += v * v;
    const double r = 1.0 / std::sqrt(s / static_cast<double>(x.size()) + eps);
    std::vector<double> out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = w[i] * x[i] * r;
    return out;
}

std::vector<double> reference_logits(const model::Model& m) {
    const model::Hparams& hp = m.hp;
    const size_t D = hp.head_dim, group = hp.n_head / hp.n_head_kv;
    std::vector<std::vector<std::vector<double>>> keys(hp.n_layer), values(hp.n_layer);
    std::vector<double> logits;
    for (size_t pos = 0; pos < kPrompt.size(); ++pos) {
        std::vector<float> row(hp.n_embd);
        EXPECT_TRUE(quant::dequantize(m.token_embd.type, {m.token_embd.row(static_cast<size_t>(kPrompt[pos])), m.token_embd.row_bytes}, row).ok());
        std::vector<double> x(row.begin(), row.end());
        for (size_t l = 0; l < hp.n_layer; ++l) {
            const model::LayerWeights& w = m.layers[l];
            const std::vector<double> a = rms(x, w.attn_norm, hp.norm_eps);
            std::vector<double> q = matvec(w.widely_linear.q, a), k = matvec(w.widely_linear.k, a);
            const std::vector<double> v = matvec(w.widely_linear.v, a);
            auto rope = [&](std::vector<double>& t, size_t heads) {   // NEOX, as HF LLaMA
                for (size_t h = 0; h < heads; ++h)
                    for (size_t i = 0; i < D / 2; ++i) {
                        const double angle = static_cast<double>(pos) * std::pow(static_cast<double>(hp.rope_theta), -2.0 * static_cast<double>(i) / static_cast<double>(D));
                        const double x0 = t[h * D + i], x1 = t[h * D + i + D / 2];
                        t[h * D + i] = x0 * std::cos(angle) - x1 * std::sin(angle);
                        t[h * D + i + D / 2] = x0 * std::sin(angle) + x1 * std::cos(angle);
                    }
            };
            rope(q, hp.n_head);
            rope(k, hp.n_head_kv);
            keys[l].push_back(k);
            values[l].push_back(v);
            std::vector<double> o(hp.q_dim(), 0.0);
            for (size_t h = 0; h < hp.n_head; ++h) {
                const size_t kv = h / group;
                std::vector<double> score(pos + 1);
                double max = -1e300, sum = 0;
                for (size_t s = 0; s <= pos; ++s) {
                    double dot = 0;
                    for (size_t i = 0; i < D; ++i) dot += q[h * D + i] * keys[l][s][kv * D + i];
                    max = std::max(max, score[s] = dot / std::sqrt(static_cast<double>(D)));
                }
                for (double& s : score) sum += (s = std::exp(s - max));
                for (size_t s = 0; s <= pos; ++s)
                    for (size_t i = 0; i < D; ++i) o[h * D + i] += score[s] / sum * values[l][s][kv * D + i];
            }
            const std::vector<double> attn = matvec(w.widely_linear.o, o);
            for (size_t i = 0; i < x.size(); ++i) x[i] += attn[i];
            const std::vector<double> f = rms(x, w.ffn_norm, hp.norm_eps);
            const std::vector<double> g = matvec(w.widely_linear.gate, f), u = matvec(w.widely_linear.up, f);
            std::vector<double> z(hp.n_ff);
            for (size_t i = 0; i < hp.n_ff; ++i) z[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
            const std::vector<double> down = matvec(w.widely_linear.down, z);
            for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
        }
        const std::vector<double> head = matvec(m.output_widely_linear, rms(x, m.output_norm, hp.norm_eps));
        logits.insert(logits.end(), head.begin(), head.end());
    }
    return logits;
}

std::vector<float> tern_logits(const model::Model& m, kernels::Isa isa, bool one_at_a_time = false) {
    ThreadPool pool(2);
    engine::InferenceSession session(m, kernels::kernel_table(isa), pool, 16);
    if (!one_at_a_time) {
        EXPECT_TRUE(session.evaluate(kPrompt, true).ok());
        return {session.logits().begin(), session.logits().end()};
    }
    std::vector<float> out;
    for (int32_t t : kPrompt) {
        EXPECT_TRUE(session.evaluate(std::vector<int32_t>{t}).ok());
        out.insert(out.end(), session.last_logits().begin(), session.last_logits().end());
    }
    return out;
}

model::Model load(const std::filesystem::path& dir, model::WidelyLinearActivations activations) {
    auto m = model::load_hf_model(dir.string(), {.threads = 2, .progress = {}, .fairy2i_stages = 2,
                                                 .widely_linear_activations = activations});
    EXPECT_TRUE(m.ok()) << m.error().message();
    return std::move(m).value();
}

void expect_close(const std::vector<float>& got, const std::vector<double>& expected, double relative) {
    ASSERT_EQ(got.size(), expected.size());
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(got[i] - expected[i]));
        max_abs = std::max(max_abs, std::fabs(expected[i]));
    }
    std::printf("max |tern - reference| %.3g for logits up to %.3g\n", max_diff, max_abs);
    EXPECT_LT(max_diff, relative * max_abs);
    for (size_t p = 0; p < kPrompt.size(); ++p) {
        auto argmax = [&](const auto& v) { return std::max_element(v.begin() + p * kHp.n_vocab, v.begin() + (p + 1) * kHp.n_vocab) - v.begin(); };
        EXPECT_EQ(argmax(got), argmax(expected)) << "position " << p;
    }
}

TEST(WidelyLinearForward, FloatActivationsComputeTheRebuiltLlama) {
    testing::TempDir dir;
    write_llama_folder(dir / "hf");
    const model::Model m = load(dir / "hf", model::WidelyLinearActivations::kFloat);
    EXPECT_EQ(m.arch->name, "fairy2i");
    EXPECT_EQ(m.ternary_type, "BF16 (Fairy2i W2)");
    expect_close(tern_logits(m, kernels::Isa::kScalar), reference_logits(m), 1e-5);
}

TEST(WidelyLinearForward, Int8ActivationsStayCloseToTheRebuiltLlama) {
    testing::TempDir dir;
    write_llama_folder(dir / "hf");
    const model::Model m = load(dir / "hf", model::WidelyLinearActivations::kInt8);
    expect_close(tern_logits(m, kernels::Isa::kScalar), reference_logits(m), 0.03);
}

TEST(WidelyLinearForward, EveryIsaAndDecodeGiveTheSameBits) {
    testing::TempDir dir;
    write_llama_folder(dir / "hf");
    for (auto activations : {model::WidelyLinearActivations::kInt8, model::WidelyLinearActivations::kFloat}) {
        const model::Model m = load(dir / "hf", activations);
        const std::vector<float> expected = tern_logits(m, kernels::Isa::kScalar);
        for (kernels::Isa isa : kernels::isas_supported_here()) {
            const std::vector<float> got = tern_logits(m, isa);
            EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float))) << isa;
        }
        const std::vector<float> decode = tern_logits(m, kernels::best_isa_here(), true);
        EXPECT_EQ(0, std::memcmp(decode.data(), expected.data(), decode.size() * sizeof(float)));
    }
}

// tern convert's fairy2i GGUF holds the same codes: a mapping plus a re-tiling gives the same bits.
TEST(WidelyLinearForward, ItsGgufGivesTheSameBits) {
    testing::TempDir dir;
    write_llama_folder(dir / "hf");
    tokenizer::Vocabulary vocab;
    for (size_t i = 0; i < kHp.n_vocab; ++i) {
        static const char* const kSpecial[] = {"<unk>", "<s>", "</s>"};
        std::string text = std::to_string(i);
        text.insert(0, 1, 't');
        vocab.tokens.push_back(i < 3 ? std::string(kSpecial[i]) : text);
        vocab.scores.push_back(-static_cast<float>(i));
        vocab.types.push_back(i < 3 ? tokenizer::TokenType::kControl : tokenizer::TokenType::kNormal);
    }
    vocab.bos = 1;
    vocab.eos = 2;
    tokenizer::index_vocabulary(vocab);
    for (auto activations : {model::WidelyLinearActivations::kInt8, model::WidelyLinearActivations::kFloat}) {
        const model::Model hf = load(dir / "hf", activations);
        auto writer = model::complex_model_gguf(hf, vocab, "tiny fairy2i");
        ASSERT_TRUE(writer.ok()) << writer.error().message();
        auto bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
        auto g = format::parse_gguf(*bytes, "tiny-fairy2i.gguf");
        ASSERT_TRUE(g.ok()) << g.error().message();
        auto gguf = model::load_gguf_model(g.value(), bytes, "tiny-fairy2i.gguf",
                                           {.threads = 1, .progress = {}, .widely_linear_activations = activations});
        ASSERT_TRUE(gguf.ok()) << gguf.error().message();
        EXPECT_EQ(gguf.value().arch->name, "fairy2i");
        const std::vector<float> a = tern_logits(hf, kernels::best_isa_here()), b = tern_logits(gguf.value(), kernels::best_isa_here());
        ASSERT_EQ(a.size(), b.size());
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
    }
}

TEST(WidelyLinearForward, PlainLlamaNeedsTheFlagAndOddShapesAreRefused) {
    testing::TempDir dir;
    write_llama_folder(dir / "hf");
    auto plain = model::load_hf_model((dir / "hf").string(), {.threads = 1, .progress = {}});
    ASSERT_FALSE(plain.ok());
    EXPECT_NE(plain.error().message().find("--weights fairy2i-w1|fairy2i-w2"), std::string::npos) << plain.error().message();
}

}  // namespace
}  // namespace tern
