// The engine's forward pass against the independent reference (reference_forward.h) on tiny
// synthetic models of every architecture and ternary file type; and its determinism: the
// same logits bit for bit on every ISA, every thread count, batched or token by token.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <numeric>

#include "engine/inference_session.h"
#include "engine/perplexity.h"
#include "engine/reference_forward.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/synthetic_model.h"
#include "quant/block_formats.h"
#include "quant/dequantize.h"
#include "quant/paired_head_rows.h"

namespace tern {
namespace {

using format::GgmlType;
using kernels::Isa;

struct TinyModel {
    std::shared_ptr<std::vector<std::byte>> bytes;
    format::GgufContents gguf;
};

TinyModel make_tiny(std::string_view gguf_arch, GgmlType ternary, bool untied = false, uint64_t seed = 7,
                    GgmlType embd = GgmlType::kF16) {
    model::SyntheticShape shape = *model::find_synthetic_shape("tiny");
    shape.gguf_arch = gguf_arch;
    auto writer = model::synthetic_gguf(shape, {.ternary_type = ternary, .embd_type = embd,
                                                .untied_head = untied, .seed = seed});
    EXPECT_TRUE(writer.ok()) << writer.error().message();
    TinyModel tiny;
    tiny.bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    auto parsed = format::parse_gguf(*tiny.bytes, "tiny.gguf");
    EXPECT_TRUE(parsed.ok()) << parsed.error().message();
    tiny.gguf = std::move(parsed).value();
    return tiny;
}

model::Model load(const TinyModel& tiny, const kernels::KernelTable& table) {
    auto loaded = model::load_gguf_model(tiny.gguf, tiny.bytes, "tiny.gguf",
                                         {.layout = table.ternary_layout, .head = model::HeadConversion::kKeep, .threads = 2, .progress = {}});
    EXPECT_TRUE(loaded.ok()) << loaded.error().message();
    return std::move(loaded).value();
}
model::Model load(const TinyModel& tiny, Isa isa) { return load(tiny, kernels::kernel_table(isa)); }

const std::vector<int32_t> kPrompt = {1, 17, 250, 3, 99, 42, 42, 7, 180, 299, 5, 64, 128, 33, 2, 11, 260, 8};

std::vector<float> engine_logits(const model::Model& m, const kernels::KernelTable& table, int threads, size_t step,
                                 kernels::KvType kv_type = kernels::KvType::kF32) {
    ThreadPool pool(threads);
    engine::InferenceSession session(m, table, pool, 64, 1, kv_type);
    std::vector<float> logits;
    for (size_t begin = 0; begin < kPrompt.size(); begin += step) {
        const size_t n = std::min(step, kPrompt.size() - begin);
        EXPECT_TRUE(session.evaluate(std::span(kPrompt).subspan(begin, n), true).ok());
        logits.insert(logits.end(), session.logits().begin(), session.logits().end());
    }
    return logits;
}
std::vector<float> engine_logits(const model::Model& m, Isa isa, int threads, size_t step,
                                 kernels::KvType kv_type = kernels::KvType::kF32) {
    return engine_logits(m, kernels::kernel_table(isa), threads, step, kv_type);
}

// The largest |want| and the largest |got - want| over two logit arrays of one size.
struct LogitDistance {
    double max_abs = 0;
    double max_diff = 0;
};
LogitDistance distance(const std::vector<float>& want, const std::vector<float>& got) {
    LogitDistance d;
    for (size_t i = 0; i < want.size(); ++i) {
        d.max_abs = std::max(d.max_abs, std::fabs(double(want[i])));
        d.max_diff = std::max(d.max_diff, std::fabs(double(got[i]) - want[i]));
    }
    return d;
}

struct ArchCase {
    const char* gguf_arch;
    GgmlType ternary;
};

class ForwardVsReference : public ::testing::TestWithParam<ArchCase> {};

TEST_P(ForwardVsReference, LogitsMatchTheReference) {
    const TinyModel tiny = make_tiny(GetParam().gguf_arch, GetParam().ternary, /*untied=*/GetParam().ternary == GgmlType::kTQ1_0);
    const model::Model m = load(tiny, kernels::best_isa_here());
    const std::vector<float> got = engine_logits(m, kernels::best_isa_here(), 2, kPrompt.size());
    const std::vector<float> want = testing::reference_logits(tiny.gguf, kPrompt);
    ASSERT_EQ(got.size(), want.size());
    const auto [max_abs, max_diff] = distance(want, got);
    // Measured: max diff ~5e-6 for logits up to ~40 (float vs double order). A float-order
    // difference could flip one int8 activation rounding, moving logits by ~1e-4 of their range;
    // a structural error (rope pairing, GQA mapping, a norm) moves them by whole units.
    EXPECT_LT(max_diff, 1e-3 * max_abs) << "max |logit| " << max_abs;
    EXPECT_GT(max_abs, 0.1);
}

INSTANTIATE_TEST_SUITE_P(
    Architectures, ForwardVsReference,
    ::testing::Values(ArchCase{"bitnet-b1.58", GgmlType::kI2_S}, ArchCase{"bitnet-b1.58", GgmlType::kTQ2_0},
                      ArchCase{"bitnet-25", GgmlType::kTQ1_0}, ArchCase{"bitnet", GgmlType::kTQ2_0},
                      ArchCase{"bitnet", GgmlType::kI2_S}, ArchCase{"llama", GgmlType::kTQ1_0},
                      ArchCase{"llama", GgmlType::kI2_S}),
    [](const auto& info) {
        std::string name = std::string(info.param.gguf_arch) + "_" +
                           format::ggml_type_name(static_cast<uint32_t>(info.param.ternary));
        for (char& c : name)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return name;
    });

TEST(Forward, SameLogitsOnEveryIsaThreadCountAndBatching) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S);
    const Isa best = kernels::best_isa_here();
    const std::vector<float> expected = engine_logits(load(tiny, best), best, 1, kPrompt.size());
    for (Isa isa : kernels::isas_supported_here()) {
        const model::Model m = load(tiny, isa);
        for (int threads : {1, 2, 3})
            for (size_t step : {kPrompt.size(), size_t{1}, size_t{5}}) {
                const std::vector<float> got = engine_logits(m, isa, threads, step);
                ASSERT_EQ(got.size(), expected.size());
                EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)))
                    << kernels::isa_name(isa) << ", " << threads << " threads, " << step << " tokens per step";
            }
    }
}

// An f16 KV cache rounds keys and values once, when stored: the logits move from f32's (how
// little, on a trained model: ShippedModel.F16KvCacheStaysCloseToF32; this random one amplifies
// every int8 rounding flip) by the same bits on every ISA, thread count and batching; the
// cache is half the size.
TEST(Forward, F16KvCacheIsDeterministicAndHalfTheSize) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S);
    const Isa best = kernels::best_isa_here();
    const model::Model best_model = load(tiny, best);
    const std::vector<float> f32 = engine_logits(best_model, best, 1, kPrompt.size());
    const std::vector<float> f16 = engine_logits(best_model, best, 1, kPrompt.size(), kernels::KvType::kF16);
    ASSERT_EQ(f16.size(), f32.size());
    const auto [max_abs, max_diff] = distance(f32, f16);
    EXPECT_GT(max_diff, 0.0) << "f16 storage should round something";
    EXPECT_LT(max_diff, 0.05 * max_abs) << "max |logit| " << max_abs;
    for (Isa isa : kernels::isas_supported_here()) {
        const model::Model m = load(tiny, isa);
        for (int threads : {1, 2})
            for (size_t step : {kPrompt.size(), size_t{1}}) {
                const std::vector<float> got = engine_logits(m, isa, threads, step, kernels::KvType::kF16);
                EXPECT_EQ(0, std::memcmp(got.data(), f16.data(), got.size() * sizeof(float)))
                    << kernels::isa_name(isa) << ", " << threads << " threads, " << step << " tokens per step";
            }
    }
    ThreadPool pool(1);
    const engine::InferenceSession s32(best_model, kernels::kernel_table(best), pool, 64);
    const engine::InferenceSession s16(best_model, kernels::kernel_table(best), pool, 64, 1, kernels::KvType::kF16);
    EXPECT_EQ(s16.kv_cache_bytes() * 2, s32.kv_cache_bytes());
    EXPECT_EQ(s16.kv_type(), kernels::KvType::kF16);
}

TEST(Forward, GreedyGenerationGolden) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S, /*untied=*/true, /*seed=*/3);
    const model::Model m = load(tiny, kernels::best_isa_here());
    ThreadPool pool(2);
    engine::InferenceSession session(m, kernels::kernel_table(kernels::best_isa_here()), pool, 64);
    ASSERT_TRUE(session.evaluate(std::vector<int32_t>{1, 17, 250}).ok());
    std::vector<int32_t> generated;
    double checksum = 0;
    for (int i = 0; i < 12; ++i) {
        const std::span<const float> logits = session.last_logits();
        checksum += std::accumulate(logits.begin(), logits.end(), 0.0);
        const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        generated.push_back(next);
        ASSERT_TRUE(session.evaluate(std::vector<int32_t>{next}).ok());
    }
    // Recorded from this engine (and checked against the reference by the tests above).
    const std::vector<int32_t> golden_ids = {202, 3, 126, 80, 275, 53, 50, 296, 139, 2, 63, 8};
    const double golden_checksum = -897.2684483230114;
    EXPECT_EQ(generated, golden_ids);

    EXPECT_NEAR(checksum, golden_checksum, 1e-6 * std::fabs(golden_checksum));
}

TEST(Forward, RejectsBadTokensAndFullContext) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S);
    const model::Model m = load(tiny, kernels::best_isa_here());
    ThreadPool pool(1);
    engine::InferenceSession session(m, kernels::kernel_table(kernels::best_isa_here()), pool, 8);
    Status bad = session.evaluate(std::vector<int32_t>{1, 300});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message(), "token 1 has id 300, outside the vocabulary [0, 300)");
    EXPECT_FALSE(session.evaluate(std::vector<int32_t>{-1}).ok());
    ASSERT_TRUE(session.evaluate(std::vector<int32_t>(6, 5)).ok());
    Status full = session.evaluate(std::vector<int32_t>(3, 5));
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(full.error().message(), "context full: 6 tokens in the cache + 3 new > n_ctx 8");
    EXPECT_EQ(session.n_past(), 6u);
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

TEST(Perplexity, MatchesTheDefinitionOnTwoChunks) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S);
    const model::Model m = load(tiny, kernels::best_isa_here());
    ThreadPool pool(2);
    engine::InferenceSession session(m, kernels::kernel_table(kernels::best_isa_here()), pool, 16);
    std::vector<int32_t> tokens(40);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 37 + 5) % 300);
    auto result = engine::compute_perplexity(session, tokens, 16, /*bos=*/1, 0, {});
    ASSERT_TRUE(result.ok()) << result.error().message();
    EXPECT_EQ(result.value().chunks, 2u);
    EXPECT_EQ(result.value().scored_tokens, 14u);

    // By hand: chunk c starts with BOS, tokens 8..14 predict tokens 9..15.
    double nll = 0;
    for (size_t c = 0; c < 2; ++c) {
        std::vector<int32_t> chunk(tokens.begin() + c * 16, tokens.begin() + (c + 1) * 16);
        chunk[0] = 1;
        session.truncate(0);
        ASSERT_TRUE(session.evaluate(chunk, true).ok());
        for (size_t j = 8; j < 15; ++j) {
            const auto row = session.logits().subspan(j * 300, 300);
            double sum = 0;
            for (float l : row) sum += std::exp(static_cast<double>(l));
            nll += std::log(sum) - row[chunk[j + 1]];
        }
    }
    EXPECT_NEAR(result.value().perplexity, std::exp(nll / 14), 1e-9 * std::exp(nll / 14));
    EXPECT_GT(result.value().uncertainty, 0.0);
    EXPECT_FALSE(engine::compute_perplexity(session, std::vector<int32_t>(10, 3), 16, 1, 0, {}).ok());
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

TEST(Forward, Q8HeadIsCloseToTheF16HeadAndIdenticalOnEveryIsa) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S);
    const Isa best = kernels::best_isa_here();
    const std::vector<float> f16 = engine_logits(load(tiny, best), best, 2, kPrompt.size());
    auto load_q8 = [&](Isa isa) {
        auto m = model::load_gguf_model(tiny.gguf, tiny.bytes, "tiny.gguf",
                                        {.layout = kernels::kernel_table(isa).ternary_layout, .head = model::HeadConversion::kQ8_0,
                                         .threads = 2, .progress = {}});
        EXPECT_TRUE(m.ok());
        EXPECT_TRUE(m.value().q8_head());
        return std::move(m).value();
    };
    const std::vector<float> q8 = engine_logits(load_q8(best), best, 2, kPrompt.size());
    const auto [max_abs, max_diff] = distance(f16, q8);
    EXPECT_LT(max_diff, 2e-2 * max_abs);
    EXPECT_GT(max_diff, 0.0);   // it really is another head
    for (Isa isa : kernels::isas_supported_here()) {
        const std::vector<float> got = engine_logits(load_q8(isa), isa, 3, 5);
        EXPECT_EQ(0, std::memcmp(got.data(), q8.data(), q8.size() * sizeof(float))) << kernels::isa_name(isa);
    }
}

// --head q4_0: the head's rows are ggml's Q4_0 of the file's rows (bit for bit), the logits
// stay close to the F16 head's (4 bits: looser than Q8_0), and are the same on every ISA,
// thread count and batch size.
TEST(Forward, Q4HeadIsGgmlsQ4_0OfTheFileHeadAndIdenticalOnEveryIsa) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S);
    const Isa best = kernels::best_isa_here();
    const model::Model f16_model = load(tiny, best);
    const std::vector<float> f16 = engine_logits(f16_model, best, 2, kPrompt.size());
    auto load_q4 = [&](Isa isa) {
        auto m = model::load_gguf_model(tiny.gguf, tiny.bytes, "tiny.gguf",
                                        {.layout = kernels::kernel_table(isa).ternary_layout, .head = model::HeadConversion::kQ4_0,
                                         .threads = 2, .progress = {}});
        EXPECT_TRUE(m.ok());
        EXPECT_TRUE(m.value().q4_head());
        EXPECT_FALSE(m.value().q8_head());
        return std::move(m).value();
    };
    const model::Model q4_model = load_q4(best);
    const model::FloatMatrix& head = f16_model.output;
    std::vector<float> values(head.cols);
    std::vector<std::byte> want_row(head.cols / 32 * quant::kQ4_0BlockBytes), got_row(want_row.size());
    for (size_t r = 0; r < head.rows; ++r) {
        ASSERT_TRUE(quant::dequantize(head.type, {head.row(r), head.row_bytes}, values).ok());
        quant::quantize_row_q4_0(values.data(), want_row.data(), head.cols);
        quant::unpair_q4_0_row(q4_model.output_q4, r, got_row);
        ASSERT_EQ(0, std::memcmp(want_row.data(), got_row.data(), got_row.size())) << "row " << r;
    }
    EXPECT_EQ(q4_model.head_weight_bytes(), q4_model.output_q4.bytes());
    const std::vector<float> q4 = engine_logits(q4_model, best, 2, kPrompt.size());
    const auto [max_abs, max_diff] = distance(f16, q4);
    EXPECT_LT(max_diff, 1e-1 * max_abs);
    EXPECT_GT(max_diff, 0.0);
    for (Isa isa : kernels::isas_supported_here()) {
        const std::vector<float> got = engine_logits(load_q4(isa), isa, 3, 5);
        EXPECT_EQ(0, std::memcmp(got.data(), q4.data(), q4.size() * sizeof(float))) << kernels::isa_name(isa);
    }
}

// A file whose head is Q8_0 already: its rows reach the kernel as stored (regrouped, never
// requantised), and the logits are the same on every ISA and thread count.
TEST(Forward, AQ8HeadFromTheFileIsUsedAsStored) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S, false, 7, GgmlType::kQ8_0);
    const model::Model m = load(tiny, kernels::best_isa_here());
    ASSERT_TRUE(m.q8_head());
    ASSERT_EQ(m.output.type, GgmlType::kQ8_0);
    std::vector<std::byte> row(m.output.row_bytes);
    for (size_t r = 0; r < m.output.rows; ++r) {
        quant::unpair_q8_0_row(m.output_q8, r, row);
        ASSERT_EQ(0, std::memcmp(row.data(), m.output.row(r), row.size())) << "row " << r;
    }
    const std::vector<float> want = engine_logits(m, kernels::best_isa_here(), 2, kPrompt.size());
    for (Isa isa : kernels::isas_supported_here()) {
        const std::vector<float> got = engine_logits(load(tiny, isa), isa, 1, 4);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float))) << kernels::isa_name(isa);
    }
}

// --head q6_k: the head's rows are ggml's Q6_K of the file's rows (quantize_row_q6_K_ref, bit
// for bit), the logits stay close to the F16 head's and are identical on every ISA, thread
// count and batch size.
TEST(Forward, Q6KHeadIsGgmlsQ6_KOfTheFileHeadAndIdenticalOnEveryIsa) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S);
    const Isa best = kernels::best_isa_here();
    const model::Model f16_model = load(tiny, best);
    const std::vector<float> f16 = engine_logits(f16_model, best, 2, kPrompt.size());
    auto load_q6_k = [&](Isa isa) {
        auto m = model::load_gguf_model(tiny.gguf, tiny.bytes, "tiny.gguf",
                                        {.layout = kernels::kernel_table(isa).ternary_layout, .head = model::HeadConversion::kQ6_K,
                                         .threads = 2, .progress = {}});
        EXPECT_TRUE(m.ok());
        EXPECT_TRUE(m.value().q6_k_head());
        return std::move(m).value();
    };
    const model::Model q6_model = load_q6_k(best);
    const model::FloatMatrix& head = f16_model.output;
    std::vector<float> values(head.cols);
    std::vector<std::byte> want_row(head.cols / 256 * quant::kQ6_KBlockBytes);
    for (size_t r = 0; r < head.rows; ++r) {
        ASSERT_TRUE(quant::dequantize(head.type, {head.row(r), head.row_bytes}, values).ok());
        quant::quantize_row_q6_k(values.data(), want_row.data(), head.cols);
        ASSERT_EQ(0, std::memcmp(want_row.data(), q6_model.output_q6_k.row_blocks(r), want_row.size())) << "row " << r;
    }
    EXPECT_EQ(q6_model.head_weight_bytes(), head.rows * want_row.size());
    const std::vector<float> q6 = engine_logits(q6_model, best, 2, kPrompt.size());
    const auto [max_abs, max_diff] = distance(f16, q6);
    EXPECT_LT(max_diff, 2e-2 * max_abs);
    EXPECT_GT(max_diff, 0.0);
    for (Isa isa : kernels::isas_supported_here()) {
        const std::vector<float> got = engine_logits(load_q6_k(isa), isa, 3, 5);
        EXPECT_EQ(0, std::memcmp(got.data(), q6.data(), q6.size() * sizeof(float))) << kernels::isa_name(isa);
    }
}

// A file whose tied embedding is Q6_K, as llama.cpp's quantisations often write it: the head
// reads the file's blocks in place (never copied, widened or requantised) by default, the
// embedding decodes its rows from the same bytes, and --head q8_0 still converts it.
TEST(Forward, AQ6_KHeadFromTheFileIsUsedAsStored) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kI2_S, false, 7, GgmlType::kQ6_K);
    const Isa best = kernels::best_isa_here();
    const model::Model m = load(tiny, best);
    ASSERT_TRUE(m.q6_k_head());
    ASSERT_EQ(m.output.type, GgmlType::kQ6_K);
    ASSERT_EQ(m.token_embd.type, GgmlType::kQ6_K);
    EXPECT_TRUE(m.token_embd.owned.empty());   // a view of the file
    ASSERT_EQ(m.output_q6_k.bytes(), m.output.bytes());
    EXPECT_TRUE(m.output_q6_k.borrowed());
    EXPECT_EQ(m.output_q6_k.row_blocks(0), m.output.data);
    for (const model::HeadConversion c : {model::HeadConversion::kAuto, model::HeadConversion::kQ6_K}) {
        auto again = model::load_gguf_model(tiny.gguf, tiny.bytes, "tiny.gguf",
                                            {.layout = kernels::kernel_table(best).ternary_layout, .head = c, .threads = 1, .progress = {}});
        ASSERT_TRUE(again.ok());
        EXPECT_TRUE(again.value().q6_k_head());
    }
    const std::vector<float> want = engine_logits(m, best, 2, kPrompt.size());
    for (Isa isa : kernels::isas_supported_here()) {
        const std::vector<float> got = engine_logits(load(tiny, isa), isa, 1, 4);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float))) << kernels::isa_name(isa);
    }
    auto q8 = model::load_gguf_model(tiny.gguf, tiny.bytes, "tiny.gguf",
                                     {.layout = kernels::kernel_table(best).ternary_layout, .head = model::HeadConversion::kQ8_0,
                                      .threads = 1, .progress = {}});
    ASSERT_TRUE(q8.ok());
    EXPECT_TRUE(q8.value().q8_head());
    const std::vector<float> via_q8 = engine_logits(q8.value(), best, 2, kPrompt.size());
    const auto [max_abs, max_diff] = distance(want, via_q8);
    EXPECT_LT(max_diff, 2e-2 * max_abs);
}

// The base-3 packing reads the same weights through other kernels: the same logits, bit for
// bit, for every ISA that has base-3 kernels.
TEST(Forward, Base3PackingGivesTheSameLogits) {
    const TinyModel tiny = make_tiny("bitnet-b1.58", GgmlType::kTQ1_0);
    const Isa best = kernels::best_isa_here();
    const std::vector<float> want = engine_logits(load(tiny, best), best, 2, 5);
    for (Isa isa : kernels::isas_supported_here()) {
        const kernels::KernelTable* table = kernels::kernel_table(isa, kernels::Packing::kBase3);
        if (table == nullptr) continue;
        const model::Model m = load(tiny, *table);
        EXPECT_EQ(m.layers[0].q.layout, quant::TernaryLayout::kBase3);
        const std::vector<float> got = engine_logits(m, *table, 2, 5);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float))) << table->name;
    }
}

}  // namespace
}  // namespace tern
