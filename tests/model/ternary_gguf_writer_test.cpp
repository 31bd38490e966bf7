// Ternary transformers written back as GGUF (what `tern convert` and `tern quantize` do): the
// shipped BitNet folder and its I2_S file give bit-identical logits; TQ2_0 and TQ1_0 keep every
// ternary value and round only the multipliers, to fp16; a float LLaMA ternarised post-training
// survives the llama rope reordering; heads come in the type asked for; and the storage rules
// (one I2_S multiplier per tensor, whole blocks) are refused with the tensor named.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/float16.h"
#include "core/thread_pool.h"
#include "engine/inference_session.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/gguf_tensors.h"
#include "model/hf_model_loader.h"
#include "model/model_gguf_writer.h"
#include "model/ternary_gguf_writer.h"
#include "quant/packed_ternary.h"
#include "tokenizer/spm_model_file.h"

namespace tern::model {
namespace {

using format::GgmlType;

const std::filesystem::path kModels = std::filesystem::path(TERN_SOURCE_DIR) / "models";

Model load_folder(const std::filesystem::path& dir, PostTrainingMethod method = PostTrainingMethod::kNone) {
    auto m = load_hf_model(dir.string(), {.threads = 2, .progress = {}, .post_training = method});
    EXPECT_TRUE(m.ok()) << m.error().message();
    return std::move(m).value();
}

struct Written {
    std::shared_ptr<std::vector<std::byte>> bytes;
    format::GgufContents contents;
    Model model;
    size_t rounded_multipliers = 0;
};

// `model` written in `types`, parsed and loaded back.
Written round_trip(const Model& model, const std::filesystem::path& folder, const ModelFileTypes& types) {
    auto vocab = tokenizer::vocabulary_from_spm_folder(folder.string());
    EXPECT_TRUE(vocab.ok()) << vocab.error().message();
    auto file = model_gguf(model, vocab.value(), "round trip", types);
    EXPECT_TRUE(file.ok()) << file.error().message();
    Written w{.bytes = std::make_shared<std::vector<std::byte>>(file.value().writer.write_to_buffer()), .contents = {},
              .model = {}, .rounded_multipliers = file.value().rounded_multipliers};
    auto contents = format::parse_gguf(*w.bytes, "round-trip.gguf");
    EXPECT_TRUE(contents.ok()) << contents.error().message();
    w.contents = std::move(contents).value();
    auto loaded = load_gguf_model(w.contents, w.bytes, "round-trip.gguf", {.threads = 2, .progress = {}});
    EXPECT_TRUE(loaded.ok()) << loaded.error().message();
    w.model = std::move(loaded).value();
    return w;
}

std::vector<float> logits_of(const Model& m) {
    ThreadPool pool(2);
    engine::InferenceSession session(m, kernels::kernel_table(kernels::best_isa_here()), pool, 32);
    const std::vector<int32_t> prompt = {1, 413, 436, 261, 386, 1983, 384, 281, 7, 99, 1000, 2};
    EXPECT_TRUE(session.evaluate(prompt, true).ok());
    return {session.logits().begin(), session.logits().end()};
}

// Every projection of `a` and `b` holds the same ternary values; returns the largest
// |multiplier ratio - 1| between them.
double compare_projections(const Model& a, const Model& b) {
    double worst = 0;
    for (size_t l = 0; l < a.hp.n_layer; ++l)
        for (TensorRole role : {TensorRole::kAttnQ, TensorRole::kAttnK, TensorRole::kAttnV, TensorRole::kAttnOutput,
                                TensorRole::kFfnGate, TensorRole::kFfnUp, TensorRole::kFfnDown}) {
            const quant::PackedTernary& x = *a.layers[l].projection(role);
            const quant::PackedTernary& y = *b.layers[l].projection(role);
            EXPECT_EQ(x.rows, y.rows);
            for (size_t r = 0; r < x.rows; ++r) {
                for (size_t c = 0; c < x.cols; ++c)
                    if (quant::packed_ternary_value(x, r, c) != quant::packed_ternary_value(y, r, c)) {
                        ADD_FAILURE() << "layer " << l << " role " << static_cast<int>(role) << " (" << r << ", " << c << ")";
                        return 1e9;
                    }
                worst = std::max(worst, std::fabs(static_cast<double>(y.row_scale.data()[r]) / x.row_scale.data()[r] - 1));
            }
        }
    return worst;
}

TEST(TernaryGgufWriter, ShippedBitnetFolderAndItsI2sFileGiveTheSameBits) {
    const Model hf = load_folder(kModels / "tinystories" / "hf");
    const Written w = round_trip(hf, kModels / "tinystories" / "hf", {.projections = GgmlType::kI2_S, .head = {}});
    EXPECT_EQ(w.contents.architecture(), "bitnet-b1.58");
    EXPECT_EQ(w.contents.find_tensor("blk.0.attn_q.weight")->traits.type, GgmlType::kI2_S);
    EXPECT_EQ(w.contents.find_tensor("output.weight"), nullptr);   // tied, in the folder's type
    EXPECT_EQ(w.contents.find_tensor("token_embd.weight")->traits.type, hf.token_embd.type);
    EXPECT_EQ(w.rounded_multipliers, 0u);
    EXPECT_EQ(compare_projections(hf, w.model), 0.0);
    const std::vector<float> a = logits_of(hf), b = logits_of(w.model);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

TEST(TernaryGgufWriter, TqTypesKeepEveryValueAndRoundOnlyTheMultipliers) {
    const Model hf = load_folder(kModels / "tinystories" / "hf");
    for (GgmlType type : {GgmlType::kTQ2_0, GgmlType::kTQ1_0}) {
        const Written w = round_trip(hf, kModels / "tinystories" / "hf", {.projections = type, .head = {}});
        EXPECT_EQ(w.contents.find_tensor("blk.5.ffn_down.weight")->traits.type, type);
        EXPECT_GT(w.rounded_multipliers, 0u);   // absmean multipliers are not fp16 numbers
        const quant::PackedTernary& before = hf.layers[2].up;
        const quant::PackedTernary& after = w.model.layers[2].up;
        EXPECT_EQ(after.row_scale.data()[7], fp16_to_fp32(fp32_to_fp16(before.row_scale.data()[7])));
        EXPECT_LT(compare_projections(hf, w.model), 1.0 / 2048);   // fp16's half ulp
    }
}

// I2_S -> TQ1_0 -> I2_S (tern quantize twice): the values and the fp16 multipliers stay put.
TEST(TernaryGgufWriter, RequantisingRoundTripsExactly) {
    const Model hf = load_folder(kModels / "tinystories" / "hf");
    const auto folder = kModels / "tinystories" / "hf";
    const Written tq1 = round_trip(hf, folder, {.projections = GgmlType::kTQ1_0, .head = {}});
    const Written tq2 = round_trip(tq1.model, folder, {.projections = GgmlType::kTQ2_0, .head = {}});
    const Written i2s = round_trip(tq2.model, folder, {.projections = GgmlType::kI2_S, .head = {}});
    EXPECT_EQ(tq2.rounded_multipliers, 0u);
    EXPECT_EQ(compare_projections(tq1.model, tq2.model), 0.0);
    EXPECT_EQ(compare_projections(tq1.model, i2s.model), 0.0);
    const std::vector<float> a = logits_of(tq1.model), b = logits_of(i2s.model);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

// The llama architecture's GGUF keeps q and k rows in interleaved rope order: the file holds
// the HF rows permuted, and the model it loads computes the same attention (the dot products
// sum the head's dimensions in another order, so equal up to float rounding).
TEST(TernaryGgufWriter, PostTrainingLlamaSurvivesTheRopeReordering) {
    const auto folder = kModels / "tinystories-fairy2i" / "float-hf";
    const Model hf = load_folder(folder, PostTrainingMethod::kThreshold);
    EXPECT_EQ(hf.arch->name, "llama");
    EXPECT_EQ(hf.ternary_type, "BF16 (threshold post-training)");
    const Written w = round_trip(hf, folder, {.projections = GgmlType::kI2_S, .head = GgmlType::kF32});
    EXPECT_EQ(w.contents.architecture(), "llama");
    EXPECT_EQ(w.model.rope, RopePairing::kNorm);
    const std::vector<size_t> rows = interleaved_rope_rows(hf.hp.n_head, hf.hp.head_dim);
    const quant::PackedTernary& q = hf.layers[1].q;
    const quant::PackedTernary& file_q = w.model.layers[1].q;
    for (size_t r = 0; r < q.rows; ++r)
        for (size_t c = 0; c < q.cols; c += 17)
            ASSERT_EQ(quant::packed_ternary_value(file_q, r, c), quant::packed_ternary_value(q, rows[r], c)) << r;
    EXPECT_EQ(0, std::memcmp(hf.layers[1].v.codes.data(), w.model.layers[1].v.codes.data(), hf.layers[1].v.codes.size_bytes()));
    const std::vector<float> a = logits_of(hf), b = logits_of(w.model);
    ASSERT_EQ(a.size(), b.size());
    float worst = 0, largest = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i])), largest = std::max(largest, std::fabs(a[i]));
    EXPECT_LT(worst, 1e-4f * largest);
}

TEST(TernaryGgufWriter, InterleavedRopeRowsPairEachHalfWithItsTwin) {
    EXPECT_EQ(interleaved_rope_rows(2, 4), (std::vector<size_t>{0, 2, 1, 3, 4, 6, 5, 7}));
}

TEST(TernaryGgufWriter, HeadsComeInTheTypeAskedFor) {
    const auto folder = kModels / "tinystories" / "hf";
    const Model hf = load_folder(folder);
    const std::vector<float> reference = logits_of(hf);
    for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0}) {
        const Written w = round_trip(hf, folder, {.projections = {}, .head = type});
        EXPECT_EQ(w.contents.find_tensor("token_embd.weight")->traits.type, type);   // tied: one tensor
        EXPECT_EQ(w.model.q8_head(), type == GgmlType::kQ8_0);
        const std::vector<float> got = logits_of(w.model);
        float worst = 0, largest = 0;
        for (size_t i = 0; i < got.size(); ++i)
            worst = std::max(worst, std::fabs(got[i] - reference[i])), largest = std::max(largest, std::fabs(reference[i]));
        const bool lossy = type == GgmlType::kBF16 || type == GgmlType::kQ8_0;   // the folder's head is F16
        EXPECT_LT(worst, (lossy ? 2e-2f : 1e-5f) * largest) << format::ggml_type_name(static_cast<uint32_t>(type));
    }
}

TEST(TernaryGgufWriter, StorageRulesAreRefusedWithTheTensorNamed) {
    auto per_row = quant::pack_ternary(4, 256, [](size_t row, std::span<int8_t> v) -> Result<float> {
        for (size_t c = 0; c < v.size(); ++c) v[c] = static_cast<int8_t>(static_cast<int>((row + c) % 3) - 1);
        return 0.5f + static_cast<float>(row);
    });
    ASSERT_TRUE(per_row.ok());
    auto i2s = check_ternary_encoding(per_row.value(), GgmlType::kI2_S, "blk.0.attn_q.weight");
    ASSERT_FALSE(i2s.ok());
    EXPECT_EQ(i2s.error().message(), "tensor 'blk.0.attn_q.weight': row 1 has multiplier 1.5, row 0 0.5 (I2_S holds one "
                                     "per tensor; TQ2_0 and TQ1_0 hold one per row)");
    auto tq2 = check_ternary_encoding(per_row.value(), GgmlType::kTQ2_0, "blk.0.attn_q.weight");
    ASSERT_TRUE(tq2.ok());
    EXPECT_EQ(tq2.value().rounded_multipliers, 0u);   // 0.5, 1.5, 2.5, 3.5 are fp16 numbers
    auto narrow = quant::pack_ternary(4, 128, [](size_t, std::span<int8_t> v) -> Result<float> {
        std::fill(v.begin(), v.end(), int8_t{1});
        return 1.0f;
    });
    ASSERT_TRUE(narrow.ok());
    auto tq1 = check_ternary_encoding(narrow.value(), GgmlType::kTQ1_0, "blk.3.ffn_up.weight");
    ASSERT_FALSE(tq1.ok());
    EXPECT_EQ(tq1.error().message(), "tensor 'blk.3.ffn_up.weight': TQ1_0 needs rows of a multiple of 256 weights, got 128");
    EXPECT_FALSE(check_ternary_encoding(narrow.value(), GgmlType::kQ8_0, "x").ok());
}

TEST(TernaryGgufWriter, FamiliesRefuseTypesTheyCannotHold) {
    const auto folder = kModels / "tinystories-hgrn-bit" / "hf";
    const Model hgrn = load_folder(folder);
    auto vocab = tokenizer::vocabulary_from_spm_folder(folder.string());
    ASSERT_TRUE(vocab.ok());
    auto tq = model_gguf(hgrn, vocab.value(), "x", {.projections = GgmlType::kTQ2_0, .head = {}});
    ASSERT_FALSE(tq.ok());
    EXPECT_EQ(tq.error().message(), "--type: hgrn-bit files hold I2_S projections (the absmean codes)");
    auto head = model_gguf(hgrn, vocab.value(), "x", {.projections = {}, .head = GgmlType::kQ8_0});
    ASSERT_FALSE(head.ok());
    EXPECT_TRUE(model_gguf(hgrn, vocab.value(), "x", {}).ok());
}

}  // namespace
}  // namespace tern::model
