// Calibrated post-training ternarisation of the float TinyStories LLaMA: the row fit and GPTQ
// give per-row fp16 multipliers and a lower held-out loss than the uncalibrated threshold rule
// they start from; models they cannot calibrate, and bad calibration tokens, are refused.
#include "engine/calibrated_ternarization.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/float16.h"
#include "core/mapped_file.h"
#include "engine/inference_session.h"
#include "kernels/dispatch.h"
#include "model/hf_model_loader.h"
#include "tokenizer/spm_model_file.h"
#include "tokenizer/tokenizer.h"

namespace tern::engine {
namespace {

const std::string kFloat = (std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories-fairy2i" / "float-hf").string();

model::Model threshold_model() {
    auto m = model::load_hf_model(kFloat, {.threads = 2, .progress = {}, .post_training = model::PostTrainingMethod::kThreshold});
    EXPECT_TRUE(m.ok()) << m.error().message();
    return std::move(m).value();
}

struct Texts {
    std::vector<std::vector<int32_t>> calibration;   // 8 sequences of 128 tokens
    std::vector<int32_t> held_out;                   // 256 tokens the calibration never saw
};

Texts texts() {
    auto vocab = tokenizer::vocabulary_from_spm_folder(kFloat);
    EXPECT_TRUE(vocab.ok());
    auto tok = tokenizer::Tokenizer::from_vocabulary(vocab.value());
    EXPECT_TRUE(tok.ok());
    auto text = read_text_file(TERN_VALID_TEXT, size_t{1} << 24);
    EXPECT_TRUE(text.ok());
    const std::vector<int32_t> ids = tok.value().encode(text.value(), false, false);
    Texts t;
    t.held_out.assign(ids.begin(), ids.begin() + 256);
    for (size_t s = 0; s < 8; ++s) {
        t.calibration.push_back({1});
        t.calibration.back().insert(t.calibration.back().end(), ids.begin() + 20000 + s * 127, ids.begin() + 20000 + (s + 1) * 127);
    }
    return t;
}

// Mean negative log-likelihood of each next token of `ids` (BOS first).
double held_out_loss(const model::Model& m, const std::vector<int32_t>& ids) {
    ThreadPool pool(2);
    InferenceSession session(m, kernels::kernel_table(kernels::best_isa_here()), pool, 300);
    std::vector<int32_t> prompt = {1};
    prompt.insert(prompt.end(), ids.begin(), ids.end());
    EXPECT_TRUE(session.evaluate(prompt, true).ok());
    const auto logits = session.logits();
    const size_t vocab = m.hp.n_vocab;
    double loss = 0;
    for (size_t p = 0; p + 1 < prompt.size(); ++p) {
        const float* row = logits.data() + p * vocab;
        double top = row[0], sum = 0;
        for (size_t v = 0; v < vocab; ++v) top = std::max(top, static_cast<double>(row[v]));
        for (size_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - top);
        loss += top + std::log(sum) - row[prompt[p + 1]];
    }
    return loss / static_cast<double>(prompt.size() - 1);
}

TEST(CalibratedTernarization, RowFitAndGptqLowerTheHeldOutLoss) {
    const Texts t = texts();
    model::Model plain = threshold_model();
    const double plain_loss = held_out_loss(plain, t.held_out);
    ThreadPool pool(2);
    for (quant::CalibratedMethod method : {quant::CalibratedMethod::kRowFit, quant::CalibratedMethod::kGptq}) {
        model::Model m = threshold_model();
        size_t progress_calls = 0;
        ASSERT_TRUE(calibrate_projections(m, kFloat, t.calibration, method, pool, [&](size_t, size_t) { ++progress_calls; }).ok());
        EXPECT_EQ(progress_calls, m.hp.n_layer);
        const quant::PackedTernary& down = m.layers[3].down;
        EXPECT_NE(down.row_scale.data()[0], down.row_scale.data()[1]);
        for (size_t r = 0; r < down.rows; ++r) ASSERT_EQ(down.row_scale.data()[r], fp16_to_fp32(fp32_to_fp16(down.row_scale.data()[r])));
        const double loss = held_out_loss(m, t.held_out);
        EXPECT_LT(loss, plain_loss - 0.05) << "method " << static_cast<int>(method) << ": " << loss << " vs " << plain_loss;
    }
}

TEST(CalibratedTernarization, RefusesWhatItCannotCalibrate) {
    ThreadPool pool(1);
    model::Model m = threshold_model();
    const std::vector<std::vector<int32_t>> outside = {{1, 5000}};
    Status bad = calibrate_projections(m, kFloat, outside, quant::CalibratedMethod::kRowFit, pool);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message(), "calibration token 5000 is outside the vocabulary [0, 2048)");
    const std::vector<std::vector<int32_t>> none;
    EXPECT_FALSE(calibrate_projections(m, kFloat, none, quant::CalibratedMethod::kRowFit, pool).ok());
    auto bitnet = model::load_hf_model((std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories" / "hf").string(),
                                       {.threads = 1, .progress = {}});
    ASSERT_TRUE(bitnet.ok());
    const std::vector<std::vector<int32_t>> some = {{1, 5, 6}};
    Status sub_norms = calibrate_projections(bitnet.value(), kFloat, some, quant::CalibratedMethod::kGptq, pool);
    ASSERT_FALSE(sub_norms.ok());
    EXPECT_EQ(sub_norms.error().message(), "calibrated methods ternarise float LLaMA-family models; 'bitnet-b1.58' is not one");
}

}  // namespace
}  // namespace tern::engine
