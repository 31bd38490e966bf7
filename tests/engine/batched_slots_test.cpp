// Several sequences in one session (the server's continuous batching): a sequence's logits
// are bit-identical whether it runs alone or shares forward steps with others, whatever the
// mix of prefill and decode tokens in a step, and a bad batch changes nothing.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "engine/inference_session.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/synthetic_model.h"

namespace tern {
namespace {

struct Tiny {
    std::shared_ptr<std::vector<std::byte>> bytes;
    format::GgufContents gguf;
    model::Model model;
};

std::unique_ptr<Tiny> make_tiny() {
    auto tiny = std::make_unique<Tiny>();
    auto writer = model::synthetic_gguf(*model::find_synthetic_shape("tiny"),
                                        {.ternary_type = format::GgmlType::kI2_S, .embd_type = format::GgmlType::kF16,
                                         .untied_head = false, .seed = 11});
    EXPECT_TRUE(writer.ok());
    tiny->bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    tiny->gguf = format::parse_gguf(*tiny->bytes, "tiny.gguf").value();
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    tiny->model = model::load_gguf_model(tiny->gguf, tiny->bytes, "tiny.gguf",
                                         {.layout = table.ternary_layout, .head = model::HeadConversion::kKeep, .threads = 1, .progress = {}})
                      .value();
    return tiny;
}

const std::vector<std::vector<int32_t>> kSequences = {
    {1, 17, 250, 3, 99, 42, 42, 7, 180, 299},
    {1, 5, 6},
    {1, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211},
};

// Logits of every position of `tokens`, evaluated alone one token at a time.
std::vector<float> alone(const model::Model& m, const std::vector<int32_t>& tokens) {
    ThreadPool pool(2);
    engine::InferenceSession session(m, kernels::kernel_table(kernels::best_isa_here()), pool, 32);
    std::vector<float> logits;
    for (int32_t t : tokens) {
        EXPECT_TRUE(session.evaluate(std::vector<int32_t>{t}).ok());
        logits.insert(logits.end(), session.last_logits().begin(), session.last_logits().end());
    }
    return logits;
}

TEST(BatchedSlots, EachSequenceGetsTheLogitsItGetsAlone) {
    const auto tiny = make_tiny();
    const size_t n_vocab = tiny->model.hp.n_vocab;
    ThreadPool pool(2);
    engine::InferenceSession session(tiny->model, kernels::kernel_table(kernels::best_isa_here()), pool, 32, 3);
    std::vector<std::vector<float>> batched(kSequences.size());
    std::vector<size_t> next(kSequences.size(), 0);
    // Step k: sequence s contributes (k + s) % 4 + 1 tokens (a prefill chunk or one decode
    // token), in an order that changes from step to step.
    for (size_t step = 0; step < 20; ++step) {
        std::vector<engine::BatchToken> batch;
        for (size_t i = 0; i < kSequences.size(); ++i) {
            const size_t s = (i + step) % kSequences.size();
            const size_t n = std::min((step + s) % 4 + 1, kSequences[s].size() - next[s]);
            for (size_t j = 0; j < n; ++j)
                batch.push_back({.token = kSequences[s][next[s] + j], .slot = s, .logits = true});
            next[s] += n;
        }
        if (batch.empty()) break;
        ASSERT_TRUE(session.evaluate_batch(batch).ok());
        for (size_t r = 0; r < batch.size(); ++r) {
            const auto row = session.logits_row(r);
            batched[batch[r].slot].insert(batched[batch[r].slot].end(), row.begin(), row.end());
        }
    }
    for (size_t s = 0; s < kSequences.size(); ++s) {
        EXPECT_EQ(session.n_past(s), kSequences[s].size());
        const std::vector<float> want = alone(tiny->model, kSequences[s]);
        ASSERT_EQ(batched[s].size(), want.size());
        ASSERT_EQ(want.size(), kSequences[s].size() * n_vocab);
        EXPECT_EQ(0, std::memcmp(batched[s].data(), want.data(), want.size() * sizeof(float))) << "sequence " << s;
    }
}

TEST(BatchedSlots, OnlyRequestedRowsComeOutAndSlotsRestartIndependently) {
    const auto tiny = make_tiny();
    ThreadPool pool(1);
    engine::InferenceSession session(tiny->model, kernels::kernel_table(kernels::best_isa_here()), pool, 32, 2);
    const std::vector<float> want = alone(tiny->model, kSequences[1]);
    const size_t n_vocab = tiny->model.hp.n_vocab;
    for (int round = 0; round < 2; ++round) {   // slot 1 reused after truncate(0)
        session.truncate(0, 1);
        std::vector<engine::BatchToken> batch = {{.token = 9, .slot = 0, .logits = false}};
        for (size_t j = 0; j < kSequences[1].size(); ++j)
            batch.push_back({.token = kSequences[1][j], .slot = 1, .logits = j + 1 == kSequences[1].size()});
        ASSERT_TRUE(session.evaluate_batch(batch).ok());
        ASSERT_EQ(session.logits().size(), n_vocab);
        EXPECT_EQ(0, std::memcmp(session.logits().data(), want.data() + (kSequences[1].size() - 1) * n_vocab,
                                 n_vocab * sizeof(float)));
    }
    EXPECT_EQ(session.n_past(0), 2u);
    EXPECT_EQ(session.n_past(1), kSequences[1].size());
}

TEST(BatchedSlots, BadBatchAppendsNothing) {
    const auto tiny = make_tiny();
    ThreadPool pool(1);
    engine::InferenceSession session(tiny->model, kernels::kernel_table(kernels::best_isa_here()), pool, 4, 2);
    ASSERT_TRUE(session.evaluate_batch(std::vector<engine::BatchToken>{{.token = 1, .slot = 1, .logits = true}}).ok());
    Status bad_slot = session.evaluate_batch(std::vector<engine::BatchToken>{{.token = 1, .slot = 0, .logits = false},
                                                                             {.token = 1, .slot = 2, .logits = true}});
    ASSERT_FALSE(bad_slot.ok());
    EXPECT_EQ(bad_slot.error().message(), "token 1 is for slot 2 but the cache has 2 slots");
    std::vector<engine::BatchToken> overflow(4, {.token = 3, .slot = 1, .logits = false});
    overflow.push_back({.token = 3, .slot = 0, .logits = true});
    Status full = session.evaluate_batch(overflow);
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(full.error().message(), "context full: 1 tokens in the cache + 4 new > n_ctx 4");
    EXPECT_EQ(session.n_past(0), 0u);
    EXPECT_EQ(session.n_past(1), 1u);
}

}  // namespace
}  // namespace tern
