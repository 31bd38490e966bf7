// The HGRN-Bit layer stack: logits against a naive double-precision forward pass written from
// complex-and-recurrent.md §3.2-3.3, bit-identical on every ISA, for prefill and decode, for
// a sequence alone or batched with others, and after a reset; its memory does not grow with
// the context.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/gated_recurrent.h"
#include "engine/inference_session.h"
#include "engine/shipped_checks.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/synthetic_model.h"
#include "quant/dequantize.h"

namespace tern {
namespace {

using Vec = std::vector<double>;

struct Tiny {
    std::shared_ptr<std::vector<std::byte>> bytes;
    format::GgufContents gguf;
    model::Model model;
};

// Projections in `layout`: the one the kernels of the table that will run them read.
std::unique_ptr<Tiny> make_tiny(quant::TernaryLayout layout = kernels::kernel_table(kernels::best_isa_here()).ternary_layout) {
    auto tiny = std::make_unique<Tiny>();
    auto writer = model::synthetic_gguf(*model::find_synthetic_shape("mmfree-tiny"),
                                        {.ternary_type = format::GgmlType::kI2_S, .embd_type = format::GgmlType::kF16,
                                         .untied_head = false, .seed = 11});
    EXPECT_TRUE(writer.ok()) << writer.error().message();
    tiny->bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    tiny->gguf = format::parse_gguf(*tiny->bytes, "mmfree-tiny.gguf").value();
    auto loaded = model::load_gguf_model(tiny->gguf, tiny->bytes, "mmfree-tiny.gguf", {.layout = layout, .threads = 1, .progress = {}});
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

// ---- The reference: the graph as the document writes it, in double. ----

Vec rms_norm(const Vec& x, const std::vector<float>& w, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double scale = 1.0 / std::sqrt(ss / x.size() + eps);
    Vec out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = w[i] * x[i] * scale;
    return out;
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }
double silu(double v) { return v * sigmoid(v); }

// RMSNorm (eps 1e-8), int8 absmax per token, ternary weights times their multiplier.
Vec bitlinear(const quant::PackedTernary& w, const std::vector<float>& in_norm, const Vec& x) {
    const Vec z = rms_norm(x, in_norm, 1e-8);
    double max_abs = 0;
    for (double v : z) max_abs = std::max(max_abs, std::fabs(v));
    const double s = 127.0 / std::max(max_abs, 1e-5);
    Vec out(w.rows, 0.0);
    for (size_t r = 0; r < w.rows; ++r) {
        double acc = 0;
        for (size_t c = 0; c < w.cols; ++c)
            acc += quant::packed_ternary_value(w, r, c) * std::clamp(std::nearbyint(z[c] * s), -128.0, 127.0);
        out[r] = acc / s * w.row_scale.data()[r];
    }
    return out;
}

std::vector<double> reference_logits(const model::Model& m) {
    const model::Hparams& hp = m.hp;
    const size_t H = hp.n_embd, L = hp.n_layer, F = hp.n_ff;
    // lb = softmax over layers, cumulative sum, minus layer 0's share.
    std::vector<Vec> lb(L, Vec(H));
    for (size_t c = 0; c < H; ++c) {
        double sum = 0;
        for (size_t l = 0; l < L; ++l) sum += std::exp(static_cast<double>(m.lower_bounds[l * H + c]));
        double cumulative = 0;
        for (size_t l = 0; l < L; ++l) {
            cumulative += std::exp(static_cast<double>(m.lower_bounds[l * H + c])) / sum;
            lb[l][c] = cumulative - std::exp(static_cast<double>(m.lower_bounds[c])) / sum;
        }
    }
    std::vector<Vec> state(L, Vec(H, 0.0));
    std::vector<double> logits;
    std::vector<float> row(H);
    for (int32_t token : kPrompt) {
        const model::FloatMatrix& e = m.token_embd;
        EXPECT_TRUE(quant::dequantize(e.type, {e.row(token), e.row_bytes}, row).ok());
        Vec x(row.begin(), row.end());
        for (size_t l = 0; l < L; ++l) {
            const model::LayerWeights& w = m.layers[l];
            const model::RecurrentWeights& r = w.recurrent;
            const Vec a = rms_norm(x, w.attn_norm, hp.norm_eps);
            const Vec i = bitlinear(r.input, r.input_in_norm, a), f_raw = bitlinear(r.forget, r.forget_in_norm, a);
            Vec g = bitlinear(r.gate, r.gate_in_norm, a);
            for (size_t c = 0; c < H; ++c) {
                double f = sigmoid(f_raw[c]);
                if (l > 0) f = lb[l][c] + (1 - lb[l][c]) * f;
                state[l][c] = f * state[l][c] + silu(i[c]) * (1 - f);
            }
            g = rms_norm(g, r.gate_norm, hp.norm_eps);
            for (size_t c = 0; c < H; ++c) g[c] *= silu(state[l][c]);
            const Vec o = bitlinear(r.output, r.output_in_norm, g);
            for (size_t c = 0; c < H; ++c) x[c] += o[c];
            const Vec u = bitlinear(r.gate_up, r.gate_up_in_norm, rms_norm(x, w.ffn_norm, hp.norm_eps));
            Vec v(F);
            for (size_t c = 0; c < F; ++c) v[c] = silu(u[c]) * u[F + c];
            const Vec d = bitlinear(w.down, r.down_in_norm, v);
            for (size_t c = 0; c < H; ++c) x[c] += d[c];
        }
        const Vec out = bitlinear(m.output_ternary, m.output_in_norm, rms_norm(x, m.output_norm, hp.norm_eps));
        logits.insert(logits.end(), out.begin(), out.end());
    }
    return logits;
}

TEST(RecurrentForward, MatchesANaiveForwardPass) {
    const kernels::KernelTable& scalar = kernels::kernel_table(kernels::Isa::kScalar);
    const auto tiny = make_tiny(scalar.ternary_layout);
    const std::vector<float> logits = all_logits(tiny->model, scalar, false);
    const std::vector<double> expected = reference_logits(tiny->model);
    ASSERT_EQ(logits.size(), expected.size());
    // int8 rounding of activations that differ in the last float bit can move a logit a
    // little; the bound is a small fraction of the logits' spread.
    const testing::LogitAgreement a = testing::compare_logits(logits, expected, tiny->model.hp.n_vocab);
    EXPECT_LT(a.max_diff, 0.02 * a.max_abs) << "largest |logit| " << a.max_abs;
    EXPECT_EQ(a.argmax_equal, kPrompt.size());
}

TEST(RecurrentForward, EveryIsaGivesTheSameBits) {
    const kernels::KernelTable& scalar = kernels::kernel_table(kernels::Isa::kScalar);
    const std::vector<float> expected = all_logits(make_tiny(scalar.ternary_layout)->model, scalar, false);
    for (kernels::Isa isa : kernels::isas_supported_here()) {
        const kernels::KernelTable& table = kernels::kernel_table(isa);
        const std::vector<float> got = all_logits(make_tiny(table.ternary_layout)->model, table, false);
        EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float))) << isa;
    }
}

TEST(RecurrentForward, DecodeOneAtATimeEqualsPrefill) {
    const auto tiny = make_tiny();
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    const std::vector<float> prefill = all_logits(tiny->model, table, false);
    const std::vector<float> decode = all_logits(tiny->model, table, true);
    ASSERT_EQ(prefill.size(), decode.size());
    EXPECT_EQ(0, std::memcmp(prefill.data(), decode.data(), prefill.size() * sizeof(float)));
}

TEST(RecurrentForward, BatchedSequencesKeepTheirOwnStates) {
    const auto tiny = make_tiny();
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    const std::vector<float> alone = all_logits(tiny->model, table, true);
    const size_t n_vocab = tiny->model.hp.n_vocab;
    ThreadPool pool(2);
    engine::InferenceSession session(tiny->model, table, pool, 32, 3);
    // Slot 1 runs another sequence interleaved with slot 0's prompt; slot 2 takes two tokens a step.
    std::vector<float> slot0;
    for (size_t i = 0; i < kPrompt.size(); ++i) {
        const std::vector<engine::BatchToken> batch = {
            {.token = static_cast<int32_t>(100 + i), .slot = 1, .logits = true},
            {.token = static_cast<int32_t>(200 + i), .slot = 2, .logits = false},
            {.token = kPrompt[i], .slot = 0, .logits = true},
            {.token = static_cast<int32_t>(150 + i), .slot = 2, .logits = true}};
        ASSERT_TRUE(session.evaluate_batch(batch).ok());
        slot0.insert(slot0.end(), session.logits_row(1).begin(), session.logits_row(1).end());
    }
    ASSERT_EQ(slot0.size(), kPrompt.size() * n_vocab);
    EXPECT_EQ(0, std::memcmp(slot0.data(), alone.data(), slot0.size() * sizeof(float)));
}

TEST(RecurrentForward, ANewSequenceStartsFromAnEmptyState) {
    const auto tiny = make_tiny();
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    ThreadPool pool(2);
    engine::InferenceSession session(tiny->model, table, pool, 64);
    EXPECT_FALSE(session.can_rewind());
    ASSERT_TRUE(session.evaluate(kPrompt, true).ok());
    const std::vector<float> first(session.logits().begin(), session.logits().end());
    ASSERT_TRUE(session.evaluate(std::vector<int32_t>{9, 10, 11}).ok());
    session.truncate(0);
    ASSERT_TRUE(session.evaluate(kPrompt, true).ok());
    EXPECT_EQ(0, std::memcmp(first.data(), session.logits().data(), first.size() * sizeof(float)));
}

TEST(RecurrentForward, MemoryIsOneStatePerLayerWhateverTheContext) {
    const auto tiny = make_tiny();
    const model::Hparams& hp = tiny->model.hp;
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    ThreadPool pool(1);
    const engine::InferenceSession short_ctx(tiny->model, table, pool, 16, 4);
    const engine::InferenceSession long_ctx(tiny->model, table, pool, 100000, 4);
    EXPECT_EQ(short_ctx.kv_cache_bytes(), 4 * hp.n_layer * hp.n_embd * sizeof(float));
    EXPECT_EQ(long_ctx.kv_cache_bytes(), short_ctx.kv_cache_bytes());
}

TEST(RecurrentForward, LowerBoundsStartAtZeroAndRise) {
    // Zeros: softmax gives every layer 1/L, so layer l's bound is l/L.
    const std::vector<float> bounds = engine::forget_lower_bounds(std::vector<float>(4 * 3, 0.0f), 4, 3);
    for (size_t l = 0; l < 4; ++l)
        for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(bounds[l * 3 + c], l / 4.0, 1e-7) << l;
    // A large raw value on layer 2 puts nearly all of the bound's rise there.
    const std::vector<float> peaked = engine::forget_lower_bounds({0.0f, 0.0f, 20.0f, 0.0f}, 4, 1);
    EXPECT_EQ(peaked[0], 0.0f);
    EXPECT_LT(peaked[1], 1e-8);
    EXPECT_NEAR(peaked[2], 1.0, 1e-7);
    EXPECT_NEAR(peaked[3], 1.0, 1e-7);
}

}  // namespace
}  // namespace tern
