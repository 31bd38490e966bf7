// --split rows and --split layers under mpirun (2 and 3 ranks, from ctest): the logits of a
// split session are bit-identical to one process's, on the shipped model and on a synthetic
// model whose sizes do not divide evenly (KV heads, row tiles, the vocabulary's tail, layers),
// for prompts evaluated in one batch, token by token, after a truncation, with an f16 KV
// cache, a Q8_0, Q4_0 or Q6_K head, every packing.
// Every rank runs the same tests: rank 0 leads and asserts, the others follow.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "distributed/mpi_job.h"
#include "engine/batch_scheduler.h"
#include "engine/inference_session.h"
#include "engine/model_loading.h"
#include "engine/model_split.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/row_split.h"
#include "model/synthetic_model.h"
#include "testing/test_files.h"

namespace tern {
namespace {

distributed::MpiJob* g_job = nullptr;   // the job of this test binary, set once by main()

struct ModelBytes {
    std::shared_ptr<std::vector<std::byte>> bytes;
    format::GgufContents gguf;
};

ModelBytes parse(std::shared_ptr<std::vector<std::byte>> bytes) {
    ModelBytes m{.bytes = std::move(bytes), .gguf = {}};
    auto parsed = format::parse_gguf(*m.bytes, "model.gguf");
    EXPECT_TRUE(parsed.ok()) << parsed.error().message();
    m.gguf = std::move(parsed).value();
    return m;
}

ModelBytes shipped_model() {
    const std::filesystem::path path = std::filesystem::path(TERN_SOURCE_DIR) / "models/tinystories/tinystories-bitnet.gguf";
    return parse(std::make_shared<std::vector<std::byte>>(testing::read_file(path)));
}

// 12 query heads over 4 KV heads of 64, 1280 FFN rows, a vocabulary of 301: with 3 ranks, KV
// heads go 2/1/1, FFN tiles 107/107/106, and the last rank's share of the head is a ragged tail.
ModelBytes uneven_model(format::GgmlType ternary, bool untied) {
    model::SyntheticShape shape = *model::find_synthetic_shape("tiny");
    shape.hp.n_vocab = 301;
    shape.hp.n_embd = 768;
    shape.hp.n_ff = 1280;
    shape.hp.n_head = 12;
    shape.hp.n_head_kv = 4;
    shape.hp.head_dim = 64;
    auto writer = model::synthetic_gguf(shape, {.ternary_type = ternary, .untied_head = untied, .seed = 5});
    EXPECT_TRUE(writer.ok()) << writer.error().message();
    return parse(std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer()));
}

struct Case {
    engine::SplitKind kind = engine::SplitKind::kRows;
    kernels::Packing packing = kernels::Packing::k2Bit;
    model::HeadConversion head = model::HeadConversion::kKeep;
    kernels::KvType kv_type = kernels::KvType::kF32;
    // The rank reads only its share (as tern's commands do), or the whole model and slices it.
    bool share_at_load = true;
    // Tokens of the prompt: a long one goes through the pipeline as several micro-batches.
    size_t prompt_tokens = 18;
};

model::Model load(const ModelBytes& m, const kernels::KernelTable& table, const Case& c, bool whole) {
    model::LoadOptions options{.layout = table.ternary_layout,
                               .head = c.head,
                               .threads = 1, .progress = {}};
    if (!whole && c.share_at_load) {
        if (c.kind == engine::SplitKind::kRows) model::load_only_row_share(options, g_job->size(), g_job->rank());
        else model::load_only_layer_share(options, g_job->size(), g_job->rank());
    }
    auto loaded = model::load_gguf_model(m.gguf, m.bytes, "model.gguf", options);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message();
    return std::move(loaded).value();
}


// A rank that loaded only its share holds exactly its rows: of the projections, and of the
// head when the head is quantised (by layers, the first and the last rank share the head).
void expect_loaded_share(const model::Model& m, const engine::ModelSplit& split, const Case& c) {
    if (!c.share_at_load) return;
    if (c.kind == engine::SplitKind::kRows) {
        const model::RowShares& s = split.shares;
        EXPECT_EQ(m.layers[0].q.rows, split.end(s.q_rows) - split.begin(s.q_rows));
        EXPECT_EQ(m.layers[0].gate.rows, split.end(s.ff_rows) - split.begin(s.ff_rows));
        EXPECT_EQ(m.layers[0].down.rows, split.end(s.embd_rows) - split.begin(s.embd_rows));
        if (c.head != model::HeadConversion::kKeep) {
            EXPECT_EQ(m.quantized_head_rows(), split.end(s.vocab_rows) - split.begin(s.vocab_rows));
            EXPECT_EQ(m.quantized_head_first_row, split.begin(s.vocab_rows));
        }
    } else if (c.head != model::HeadConversion::kKeep) {
        const std::vector<size_t> head = model::plan_pipeline_head(m.hp.n_vocab, g_job->size());
        EXPECT_EQ(m.quantized_head_rows(), split.end(head) - split.begin(head));
        EXPECT_EQ(m.quantized_head_first_row, split.begin(head));
        if (g_job->size() > 1) {
            EXPECT_EQ(m.quantized_head_rows() != 0, split.leader() || split.last());
        }
        EXPECT_EQ(m.q4_head(), c.head == model::HeadConversion::kQ4_0);
        EXPECT_EQ(m.q8_head(), c.head == model::HeadConversion::kQ8_0);
        EXPECT_EQ(m.q6_k_head(), c.head == model::HeadConversion::kQ6_K);
    }
}

const std::vector<int32_t> kPrompt = {1, 17, 250, 3, 99, 42, 42, 7, 180, 299, 5, 64, 128, 33, 2, 11, 260, 8};

// kPrompt's tokens, repeated to n.
std::vector<int32_t> prompt_of(size_t n) {
    std::vector<int32_t> prompt(n);
    for (size_t i = 0; i < n; ++i) prompt[i] = kPrompt[i % kPrompt.size()];
    return prompt;
}

// The logits of the whole prompt in one batch, then of 4 more tokens one by one, then of the
// last 6 again after cutting the sequence back, then of the prompt's last token only (a long
// prompt's first micro-batches then ask for no logits): every row, concatenated.
std::vector<float> logits_of(engine::InferenceSession& session, const std::vector<int32_t>& prompt) {
    std::vector<float> all;
    const auto keep = [&] { all.insert(all.end(), session.logits().begin(), session.logits().end()); };
    EXPECT_TRUE(session.evaluate(prompt, /*all_logits=*/true).ok());
    keep();
    for (const int32_t token : {4, 8, 15, 16}) {
        EXPECT_TRUE(session.evaluate(std::vector<int32_t>{token}).ok());
        keep();
    }
    session.truncate(prompt.size() - 6);
    EXPECT_TRUE(session.evaluate(std::span(prompt).last(6), true).ok());
    keep();
    session.truncate(0);
    EXPECT_TRUE(session.evaluate(prompt).ok());
    keep();
    return all;
}

void expect_split_matches_one_process(const ModelBytes& bytes, const Case& c) {
    const kernels::KernelTable* table = kernels::kernel_table(kernels::best_isa_here(), c.packing);
    if (table == nullptr) GTEST_SKIP() << "this ISA has no kernels for the packing";
    ThreadPool pool(1);
    model::Model split_model = load(bytes, *table, c, /*whole=*/false);
    engine::ModelSplit tp{.comm = g_job, .kind = c.kind};
    if (c.kind == engine::SplitKind::kRows) {
        Result<model::RowShares> shares = model::plan_row_split(split_model, g_job->size());
        ASSERT_TRUE(shares.ok()) << shares.error().message();
        tp.shares = shares.value();
        model::keep_row_share(split_model, tp.shares, g_job->rank());
    } else {
        Result<std::vector<size_t>> layers = model::plan_layer_split(split_model, g_job->size());
        ASSERT_TRUE(layers.ok()) << layers.error().message();
        tp.layers = layers.value();
        model::keep_layer_share(split_model, tp.layers, g_job->rank());
    }
    expect_loaded_share(split_model, tp, c);
    if (!g_job->leader()) {
        const Status followed = engine::follow_leader(split_model, *table, pool, tp);
        EXPECT_TRUE(followed.ok()) << followed.error().message();
        return;
    }
    const model::Model whole_model = load(bytes, *table, c, /*whole=*/true);
    std::vector<float> expected, split;
    {
        engine::InferenceSession one(whole_model, *table, pool, c.prompt_tokens + 16, 1, c.kv_type);
        expected = logits_of(one, prompt_of(c.prompt_tokens));
    }
    {
        engine::InferenceSession session(split_model, *table, pool, c.prompt_tokens + 16, 1, c.kv_type, &tp);
        split = logits_of(session, prompt_of(c.prompt_tokens));
    }
    engine::finish_followers(tp);
    ASSERT_EQ(split.size(), expected.size());
    size_t differing = 0;
    for (size_t i = 0; i < split.size(); ++i) differing += std::memcmp(&split[i], &expected[i], sizeof(float)) != 0;
    EXPECT_EQ(differing, 0u) << "of " << split.size() << " logits over " << g_job->size() << " ranks";
}

constexpr engine::SplitKind kRows = engine::SplitKind::kRows;
constexpr engine::SplitKind kLayers = engine::SplitKind::kLayers;

TEST(SplitRows, ShippedModelLogitsAreBitIdenticalToOneProcess) {
    expect_split_matches_one_process(shipped_model(), {.kind = kRows});
}

TEST(SplitRows, ShippedModelWithQ8HeadAndF16Cache) {
    expect_split_matches_one_process(shipped_model(),
                                     {.kind = kRows, .head = model::HeadConversion::kQ8_0, .kv_type = kernels::KvType::kF16});
}

TEST(SplitRows, ShippedModelWithQ4Head) {
    expect_split_matches_one_process(shipped_model(), {.kind = kRows, .head = model::HeadConversion::kQ4_0});
}

TEST(SplitRows, ShippedModelWithQ6KHead) {
    expect_split_matches_one_process(shipped_model(), {.kind = kRows, .head = model::HeadConversion::kQ6_K});
}

TEST(SplitRows, ShareSlicedAfterLoadingTheWholeModel) {
    expect_split_matches_one_process(shipped_model(), {.kind = kRows, .head = model::HeadConversion::kQ8_0, .share_at_load = false});
}

TEST(SplitRows, UnevenSharesWithAnUntiedHead) {
    expect_split_matches_one_process(uneven_model(format::GgmlType::kTQ2_0, /*untied=*/true), {.kind = kRows});
}

TEST(SplitRows, UnevenSharesInBase3Packing) {
    expect_split_matches_one_process(uneven_model(format::GgmlType::kTQ1_0, false),
                                     {.kind = kRows, .packing = kernels::Packing::kBase3, .head = model::HeadConversion::kQ8_0});
}

TEST(SplitLayers, ShippedModelLogitsAreBitIdenticalToOneProcess) {
    expect_split_matches_one_process(shipped_model(), {.kind = kLayers});
}

TEST(SplitLayers, ShippedModelWithQ4Head) {
    expect_split_matches_one_process(shipped_model(), {.kind = kLayers, .head = model::HeadConversion::kQ4_0});
}

TEST(SplitLayers, ShippedModelWithQ6KHead) {
    expect_split_matches_one_process(shipped_model(), {.kind = kLayers, .head = model::HeadConversion::kQ6_K});
}

TEST(SplitLayers, ShippedModelWithQ8HeadAndF16Cache) {
    expect_split_matches_one_process(shipped_model(),
                                     {.kind = kLayers, .head = model::HeadConversion::kQ8_0, .kv_type = kernels::KvType::kF16});
}

// 2 layers: with 3 ranks, the last rank runs no layer and only computes the head.
TEST(SplitLayers, MoreRanksThanLayersAndAnUntiedHead) {
    expect_split_matches_one_process(uneven_model(format::GgmlType::kTQ2_0, /*untied=*/true), {.kind = kLayers});
}

TEST(SplitLayers, LayersFreedAfterLoadingTheWholeModel) {
    expect_split_matches_one_process(shipped_model(), {.kind = kLayers, .head = model::HeadConversion::kQ8_0, .share_at_load = false});
}

// 300 tokens: micro-batches of 75 (2 ranks) or 50 (3), each rank running one while the rank
// before it runs the next, the leader taking the logits of all of them at the end.
TEST(SplitLayers, ALongPromptInMicroBatches) {
    expect_split_matches_one_process(shipped_model(), {.kind = kLayers, .head = model::HeadConversion::kQ8_0, .prompt_tokens = 300});
}

TEST(SplitLayers, Base3Packing) {
    expect_split_matches_one_process(uneven_model(format::GgmlType::kTQ1_0, false),
                                     {.kind = kLayers, .packing = kernels::Packing::kBase3, .head = model::HeadConversion::kQ8_0});
}

// The server's scheduler over a pipeline keeps a step in flight on every rank (rank 0 starts
// one group of requests' step while the later ranks run another's): each request's text is the
// text one process gives it, greedy and sampled, with prompts of several steps.
std::vector<std::string> scheduler_texts(const model::Model& m, const kernels::KernelTable& table,
                                         const tokenizer::Tokenizer& tokenizer, engine::ModelSplit* split) {
    ThreadPool pool(1);
    FairMutex compute;
    engine::BatchScheduler scheduler(m, table, tokenizer, pool, compute,
                                     {.n_slots = 12, .n_ctx = 96, .max_queue = 4, .model_split = split});
    const std::vector<std::string> prompts = {"Once upon a time", "The little dog ran to the park and saw a big ball.",
                                              "Tom and Sam", "Lily had a doll. Lily had a doll. Lily had a"};
    std::vector<std::shared_ptr<BatchStream>> streams;
    for (size_t i = 0; i < 12; ++i) {
        engine::GenerationJob job;
        job.prompt = tokenizer.encode(prompts[i % prompts.size()], true, false);
        job.max_tokens = 10 + 3 * i;
        job.sampler.seed = i;
        job.sampler.temperature = i % 3 == 0 ? 0.0f : 0.8f;
        streams.push_back(scheduler.submit(std::move(job)));
        EXPECT_NE(streams.back(), nullptr);
    }
    std::vector<std::string> texts;
    for (const auto& stream : streams) {
        const BatchUpdate end = stream->wait_all();
        EXPECT_TRUE(end.error.empty()) << end.error;
        texts.push_back(end.text);
    }
    return texts;
}

TEST(SplitLayers, SchedulerRunsAStepOnEveryRankAtOnce) {
    const Case c{.kind = kLayers, .head = model::HeadConversion::kQ8_0};
    const ModelBytes bytes = shipped_model();
    const kernels::KernelTable& table = *kernels::kernel_table(kernels::best_isa_here(), c.packing);
    ThreadPool pool(1);
    model::Model split_model = load(bytes, table, c, /*whole=*/false);
    engine::ModelSplit pipeline{.comm = g_job, .kind = kLayers};
    pipeline.layers = model::plan_layer_split(split_model, g_job->size()).value();
    model::keep_layer_share(split_model, pipeline.layers, g_job->rank());
    if (!g_job->leader()) {
        const Status followed = engine::follow_leader(split_model, table, pool, pipeline);
        EXPECT_TRUE(followed.ok()) << followed.error().message();
        return;
    }
    const std::filesystem::path path = std::filesystem::path(TERN_SOURCE_DIR) / "models/tinystories/tinystories-bitnet.gguf";
    const Result<tokenizer::Tokenizer> tokenizer = engine::load_tokenizer(path.string());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
    const std::vector<std::string> split = scheduler_texts(split_model, table, tokenizer.value(), &pipeline);
    engine::finish_followers(pipeline);
    const model::Model whole_model = load(bytes, table, c, /*whole=*/true);
    EXPECT_EQ(split, scheduler_texts(whole_model, table, tokenizer.value(), nullptr));
}

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    tern::Result<std::unique_ptr<tern::distributed::MpiJob>> job = tern::distributed::join_mpi_job();
    if (!job.ok()) {
        std::fprintf(stderr, "%s\n", job.error().message().c_str());
        return 1;
    }
    tern::g_job = job.value().get();
    // One report is enough: the followers' results reach it through the leader's comparison,
    // and a follower's own failure through its exit code.
    if (!tern::g_job->leader()) delete testing::UnitTest::GetInstance()->listeners().Release(
        testing::UnitTest::GetInstance()->listeners().default_result_printer());
    const int result = RUN_ALL_TESTS();
    tern::g_job = nullptr;
    return result;
}
