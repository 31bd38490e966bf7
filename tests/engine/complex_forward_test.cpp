// The complex (iFairy) layer stack: logits against a naive std::complex<double> forward pass
// written from complex-and-recurrent.md §2.3-2.4, bit-identical on every ISA, for prefill and
// decode, and for a sequence alone or batched with others.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <memory>
#include <vector>

#include "engine/inference_session.h"
#include "engine/shipped_checks.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/synthetic_model.h"
#include "quant/dequantize.h"

namespace tern {
namespace {

using Complex = std::complex<double>;
using CVec = std::vector<Complex>;

struct Tiny {
    std::shared_ptr<std::vector<std::byte>> bytes;
    format::GgufContents gguf;
    model::Model model;
};

std::unique_ptr<Tiny> make_tiny() {
    auto tiny = std::make_unique<Tiny>();
    auto writer = model::synthetic_gguf(*model::find_synthetic_shape("ifairy-tiny"),
                                        {.ternary_type = format::GgmlType::kI2_S, .embd_type = format::GgmlType::kF16,
                                         .untied_head = false, .seed = 5});
    EXPECT_TRUE(writer.ok()) << writer.error().message();
    tiny->bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    tiny->gguf = format::parse_gguf(*tiny->bytes, "ifairy-tiny.gguf").value();
    auto loaded = model::load_gguf_model(tiny->gguf, tiny->bytes, "ifairy-tiny.gguf", {.threads = 1, .progress = {}});
    EXPECT_TRUE(loaded.ok()) << loaded.error().message();
    tiny->model = std::move(loaded).value();
    return tiny;
}

const std::vector<int32_t> kPrompt = {1, 17, 250, 3, 99, 42, 42, 7, 180, 299, 5, 64};

std::vector<float> all_logits(const model::Model& m, const kernels::KernelTable& table, bool one_at_a_time) {
    ThreadPool pool(2);
    engine::InferenceSession session(m, table, pool, 32);
    if (!one_at_a_time) {
        EXPECT_TRUE(session.evaluate(kPrompt, true).ok());
        return {session.logits().begin(), session.logits().end()};
    }
    std::vector<float> logits;
    for (int32_t t : kPrompt) {
        EXPECT_TRUE(session.evaluate(std::vector<int32_t>{t}).ok());
        logits.insert(logits.end(), session.last_logits().begin(), session.last_logits().end());
    }
    return logits;
}

// --- the naive reference: every complex value a std::complex<double> -------------------------

// x with re and im quantised to int8 per token (absmax, round half to even) and back.
CVec fake_quant(const CVec& x) {
    auto part = [&](auto get) {
        double max = 0;
        for (const Complex& v : x) max = std::max(max, std::fabs(static_cast<double>(static_cast<float>(get(v)))));
        const float scale = 127.0f / std::max(static_cast<float>(max), 1e-5f);
        std::vector<double> q(x.size());
        for (size_t i = 0; i < x.size(); ++i)
            q[i] = std::clamp(std::nearbyint(static_cast<float>(get(x[i])) * scale), -128.0f, 127.0f) / static_cast<double>(scale);
        return q;
    };
    const std::vector<double> re = part([](const Complex& v) { return v.real(); });
    const std::vector<double> im = part([](const Complex& v) { return v.imag(); });
    CVec out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = {re[i], im[i]};
    return out;
}

// y = W conj(x), W from the packed codes and scales.
CVec project(const quant::PackedComplex& w, const CVec& x) {
    const CVec xq = fake_quant(x);
    CVec y(w.rows);
    for (size_t r = 0; r < w.rows; ++r)
        for (size_t c = 0; c < w.cols; ++c) {
            const uint8_t code = quant::packed_complex_code(w, r, c);
            const Complex unit(quant::complex_code_re(code) * static_cast<double>(w.scale_re),
                               quant::complex_code_im(code) * static_cast<double>(w.scale_im));
            y[r] += unit * std::conj(xq[c]);
        }
    return y;
}

CVec norm(const CVec& x, const std::vector<float>& w, double eps) {
    double mean = 0;
    for (const Complex& v : x) mean += std::norm(v);
    mean /= static_cast<double>(x.size());
    const double r = 1.0 / std::sqrt(mean + eps);
    CVec out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = {w[i] * x[i].real() * r, w[x.size() + i] * x[i].imag() * r};
    return out;
}

std::vector<double> reference_logits(const model::Model& m) {
    const model::Hparams& hp = m.hp;
    const size_t E = hp.n_embd, D = hp.head_dim, group = hp.n_head / hp.n_head_kv;
    std::vector<std::vector<CVec>> keys(hp.n_layer), values(hp.n_layer);   // [layer][pos][kv_dim]
    std::vector<double> logits;
    for (size_t pos = 0; pos < kPrompt.size(); ++pos) {
        std::vector<float> row(2 * E);
        EXPECT_TRUE(quant::dequantize(m.token_embd.type, {m.token_embd.row(static_cast<size_t>(kPrompt[pos])), m.token_embd.row_bytes}, row).ok());
        CVec x(E);
        for (size_t i = 0; i < E; ++i) x[i] = {row[i], row[E + i]};
        for (size_t l = 0; l < hp.n_layer; ++l) {
            const model::LayerWeights& w = m.layers[l];
            const CVec a = norm(x, w.attn_norm, hp.norm_eps);
            CVec q = project(w.complex.q, a), k = project(w.complex.k, a);
            const CVec v = project(w.complex.v, a);
            for (size_t h = 0; h < hp.n_head; ++h)
                for (size_t j = 0; j < D; ++j) {
                    const double theta = static_cast<double>(pos) * std::pow(static_cast<double>(hp.rope_theta), -static_cast<double>(j) / static_cast<double>(D));
                    q[h * D + j] *= std::polar(1.0, theta);
                    if (h < hp.n_head_kv) k[h * D + j] *= std::polar(1.0, theta);
                }
            keys[l].push_back(k);
            values[l].push_back(v);
            CVec o(hp.q_dim());
            for (size_t h = 0; h < hp.n_head; ++h) {
                const size_t kv = h / group;
                std::vector<double> score(pos + 1);
                double max = -1e300;
                for (size_t s = 0; s <= pos; ++s) {
                    Complex dot = 0;
                    for (size_t j = 0; j < D; ++j) dot += q[h * D + j] * std::conj(keys[l][s][kv * D + j]);
                    score[s] = dot.real() / std::sqrt(2.0 * static_cast<double>(D));
                    max = std::max(max, score[s]);
                }
                double sum = 0;
                for (double& s : score) sum += (s = std::exp(s - max));
                for (size_t s = 0; s <= pos; ++s)
                    for (size_t j = 0; j < D; ++j) o[h * D + j] += score[s] / sum * values[l][s][kv * D + j];
            }
            const CVec attn = project(w.complex.o, norm(o, w.attn_sub_norm, hp.norm_eps));
            for (size_t i = 0; i < E; ++i) x[i] += attn[i];
            const CVec f = norm(x, w.ffn_norm, hp.norm_eps);
            const CVec g = project(w.complex.gate, f), u = project(w.complex.up, f);
            CVec z(hp.n_ff);
            for (size_t i = 0; i < hp.n_ff; ++i) {
                const bool both_negative = g[i].real() < 0 && g[i].imag() < 0;
                const Complex g2 = both_negative ? Complex(0, 0) : Complex(g[i].real() * g[i].real(), g[i].imag() * g[i].imag());
                z[i] = std::conj(g2) * u[i];
            }
            const CVec down = project(w.complex.down, norm(z, w.ffn_sub_norm, hp.norm_eps));
            for (size_t i = 0; i < E; ++i) x[i] += down[i];
        }
        const CVec final = norm(x, m.output_norm, hp.norm_eps);
        std::vector<float> head_row(2 * E);
        for (size_t v = 0; v < hp.n_vocab; ++v) {
            EXPECT_TRUE(quant::dequantize(m.output.type, {m.output.row(v), m.output.row_bytes}, head_row).ok());
            double sum = 0;
            for (size_t i = 0; i < E; ++i) sum += head_row[i] * final[i].real() + head_row[E + i] * final[i].imag();
            logits.push_back(sum);
        }
    }
    return logits;
}

TEST(ComplexForward, MatchesANaiveComplexForwardPass) {
    const auto tiny = make_tiny();
    const std::vector<float> logits = all_logits(tiny->model, kernels::kernel_table(kernels::Isa::kScalar), false);
    const std::vector<double> expected = reference_logits(tiny->model);
    ASSERT_EQ(logits.size(), expected.size());
    // int8 rounding of activations that differ in the last float bit can move a logit a
    // little; the bound is a small fraction of the logits' spread.
    const testing::LogitAgreement a = testing::compare_logits(logits, expected, tiny->model.hp.n_vocab);
    EXPECT_LT(a.max_diff, 0.02 * a.max_abs) << "largest |logit| " << a.max_abs;
    EXPECT_EQ(a.argmax_equal, kPrompt.size());
}

TEST(ComplexForward, EveryIsaGivesTheSameBits) {
    const auto tiny = make_tiny();
    const std::vector<float> expected = all_logits(tiny->model, kernels::kernel_table(kernels::Isa::kScalar), false);
    for (kernels::Isa isa : kernels::isas_supported_here()) {
        const std::vector<float> got = all_logits(tiny->model, kernels::kernel_table(isa), false);
        EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float))) << isa;
    }
}

TEST(ComplexForward, DecodeOneAtATimeEqualsPrefill) {
    const auto tiny = make_tiny();
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    const std::vector<float> prefill = all_logits(tiny->model, table, false);
    const std::vector<float> decode = all_logits(tiny->model, table, true);
    ASSERT_EQ(prefill.size(), decode.size());
    EXPECT_EQ(0, std::memcmp(prefill.data(), decode.data(), prefill.size() * sizeof(float)));
}

TEST(ComplexForward, BatchedSequencesGetTheirOwnLogits) {
    const auto tiny = make_tiny();
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    const std::vector<float> alone = all_logits(tiny->model, table, true);
    const size_t n_vocab = tiny->model.hp.n_vocab;
    ThreadPool pool(2);
    engine::InferenceSession session(tiny->model, table, pool, 32, 2);
    // Slot 1 runs a different sequence interleaved with slot 0's prompt, a token each per step.
    std::vector<float> slot0;
    for (size_t i = 0; i < kPrompt.size(); ++i) {
        const std::vector<engine::BatchToken> batch = {{.token = static_cast<int32_t>(100 + i), .slot = 1, .logits = true},
                                                       {.token = kPrompt[i], .slot = 0, .logits = true}};
        ASSERT_TRUE(session.evaluate_batch(batch).ok());
        slot0.insert(slot0.end(), session.logits_row(1).begin(), session.logits_row(1).end());
    }
    ASSERT_EQ(slot0.size(), kPrompt.size() * n_vocab);
    EXPECT_EQ(0, std::memcmp(slot0.data(), alone.data(), slot0.size() * sizeof(float)));
}

}  // namespace
}  // namespace tern
