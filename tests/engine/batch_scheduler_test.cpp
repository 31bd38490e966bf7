// The server's scheduler with several steps in flight at once (lanes, as a --split layers
// pipeline runs them): in one process a lane's step computes everything when it starts, so
// what is checked here is the bookkeeping — which requests go into which step, that none is in
// two steps at once, that each request's rows are read from its own step — by the text: each
// request's text must be the one it gets with one lane, request by request, greedy and
// sampled, with prompts long enough to be cut over several steps, requests that wait for a slot,
// and guesses (prompt lookup) checked in the steps. tests/distributed runs the same under mpirun.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/batch_scheduler.h"
#include "engine/model_loading.h"

namespace tern {
namespace {

const std::string kGguf =
    (std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories" / "tinystories-bitnet.gguf").string();

struct Request {
    std::string prompt;
    size_t max_tokens;
    uint64_t seed;
    float temperature;
};

const std::vector<Request> kRequests = {
    {"Once upon a time", 24, 1, 0.0f},
    {"The little dog ran to the park and saw a big red ball. He wanted to play with it, so he", 18, 2, 0.8f},
    {"Tom and Sam", 30, 3, 0.0f},
    {"Lily had a doll. Lily had a doll. Lily had a doll. Lily had a doll. Lily had a", 20, 4, 0.0f},
    {"A bird sang", 12, 5, 1.0f},
    {"One day, a girl named Mia found a shiny stone in the garden. She picked it up and", 26, 6, 0.7f},
    {"The sun", 16, 7, 0.0f},
};

std::vector<std::string> texts_with_lanes(const engine::LoadedModel& loaded, size_t lanes, size_t slots,
                                          size_t max_draft) {
    ThreadPool pool(2);
    FairMutex compute;
    engine::BatchScheduler scheduler(loaded.model, loaded.kernels, *loaded.tokenizer, pool, compute,
                                     {.n_slots = slots, .n_ctx = 160, .max_queue = 32, .max_draft = max_draft,
                                      .adaptive_draft = false, .lanes = lanes});
    std::vector<std::shared_ptr<BatchStream>> streams;
    for (const uint64_t round : {0, 1})   // twice, so that three lanes fill
        for (const Request& r : kRequests) {
            engine::GenerationJob job;
            job.prompt = loaded.tokenizer->encode(r.prompt, true, false);
            job.max_tokens = r.max_tokens + 3 * round;
            job.sampler.seed = r.seed + 100 * round;
            job.sampler.temperature = r.temperature;
            streams.push_back(scheduler.submit(std::move(job)));
            EXPECT_NE(streams.back(), nullptr);
        }
    std::vector<std::string> texts;
    for (const auto& stream : streams) {
        const BatchUpdate end = stream->wait_all();
        EXPECT_TRUE(end.finished);
        EXPECT_TRUE(end.error.empty()) << end.error;
        texts.push_back(end.text);
    }
    return texts;
}

class BatchSchedulerLanes : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        engine::ModelRequest request;
        request.threads = 2;
        auto loaded = engine::load_model(kGguf, request);
        ASSERT_TRUE(loaded.ok()) << loaded.error().message();
        loaded_ = std::make_unique<engine::LoadedModel>(std::move(loaded.value()));
    }
    static void TearDownTestSuite() { loaded_.reset(); }
    static std::unique_ptr<engine::LoadedModel> loaded_;
};

std::unique_ptr<engine::LoadedModel> BatchSchedulerLanes::loaded_;

TEST_F(BatchSchedulerLanes, EveryRequestGetsTheTextOfOneLane) {
    const std::vector<std::string> one_lane = texts_with_lanes(*loaded_, 1, 14, 0);
    for (const std::string& text : one_lane) EXPECT_FALSE(text.empty());
    for (size_t lanes : {2, 3}) EXPECT_EQ(texts_with_lanes(*loaded_, lanes, 14, 0), one_lane) << lanes << " lanes";
    // Fewer slots than requests: some wait, and enter steps as others finish.
    EXPECT_EQ(texts_with_lanes(*loaded_, 2, 5, 0), one_lane);
}

TEST_F(BatchSchedulerLanes, GuessesCheckedInLanesKeepTheText) {
    const std::vector<std::string> plain = texts_with_lanes(*loaded_, 1, 14, 0);
    EXPECT_EQ(texts_with_lanes(*loaded_, 1, 14, 4), plain);
    EXPECT_EQ(texts_with_lanes(*loaded_, 2, 14, 4), plain);
}

}  // namespace
}  // namespace tern
