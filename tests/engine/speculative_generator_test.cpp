// Speculative decoding keeps plain decoding's output exactly, greedy or sampled, with either
// drafter, while checking several guesses per forward step; and the cache holds exactly the
// tokens it should after every step.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/draft_model_drafter.h"
#include "engine/prompt_lookup_drafter.h"
#include "engine/speculative_generator.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "tokenizer/tokenizer.h"

namespace tern::engine {
namespace {

TEST(PromptLookupDrafter, GuessesWhatFollowedTheLatestLongestMatch) {
    PromptLookupDrafter drafter({.max_ngram = 3, .min_ngram = 2});
    std::vector<int32_t> out;
    // "7 8" occurs at 1 and at 6; the latest earlier copy (6) wins: 5, 5.
    const std::vector<int32_t> context = {1, 7, 8, 9, 4, 3, 7, 8, 5, 5, 2, 7, 8};
    ASSERT_TRUE(drafter.draft(context, 4, out).ok());
    EXPECT_EQ(out, (std::vector<int32_t>{5, 5, 2, 7}));
    // A longer match beats a later shorter one: "3 7 8" occurs only at 5.
    const std::vector<int32_t> longer = {3, 7, 8, 1, 1, 7, 8, 6, 3, 7, 8};
    ASSERT_TRUE(drafter.draft(longer, 2, out).ok());
    EXPECT_EQ(out, (std::vector<int32_t>{1, 1}));
    // The guess stops where the text does, and at max_tokens.
    ASSERT_TRUE(drafter.draft(std::vector<int32_t>{4, 5, 6, 4, 5}, 8, out).ok());
    EXPECT_EQ(out, (std::vector<int32_t>{6, 4, 5}));
    ASSERT_TRUE(drafter.draft(std::vector<int32_t>{4, 5, 6, 4, 5}, 1, out).ok());
    EXPECT_EQ(out, (std::vector<int32_t>{6}));
    // In a run of one token the latest copy has the least after it: the copy with the most wins
    // when none has enough.
    ASSERT_TRUE(drafter.draft(std::vector<int32_t>{9, 9, 9, 9, 9, 9}, 3, out).ok());
    EXPECT_EQ(out, (std::vector<int32_t>{9, 9, 9}));
    // The longest suffix that occurred before decides, however little follows it.
    ASSERT_TRUE(drafter.draft(std::vector<int32_t>{5, 9, 9, 9, 9}, 8, out).ok());
    EXPECT_EQ(out, (std::vector<int32_t>{9}));
    // No earlier copy of a 2-token suffix, an empty or one-token context, no room: no guess.
    for (const std::vector<int32_t>& none : {std::vector<int32_t>{1, 2, 3, 4, 3}, std::vector<int32_t>{},
                                             std::vector<int32_t>{9}}) {
        out = {42};
        ASSERT_TRUE(drafter.draft(none, 4, out).ok());
        EXPECT_TRUE(out.empty());
    }
    ASSERT_TRUE(drafter.draft(context, 0, out).ok());
    EXPECT_TRUE(out.empty());
}

struct Shipped {
    model::Model model;
    tokenizer::Tokenizer tokenizer;
};

const Shipped& shipped() {
    static const Shipped s = [] {
        const std::string path =
            (std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories" / "tinystories-bitnet.gguf").string();
        auto m = model::load_gguf_model(path, {.threads = 1, .progress = {}});
        auto file = format::GgufFile::open(path);
        auto tok = tokenizer::Tokenizer::from_gguf(file.value().contents());
        return Shipped{std::move(m).value(), std::move(tok).value()};
    }();
    return s;
}

// An input-grounded prompt: a story, then its own opening again, which the model tends to
// continue as it went on before.
std::vector<int32_t> grounded_prompt() {
    const std::string story =
        "Once upon a time, there was a little girl named Lily. She loved to play in the park with her red ball. "
        "One day, Lily saw a big dog in the park. The dog wanted to play with her ball. Lily was scared at first, "
        "but the dog was kind. They played together all day and became best friends.\n"
        "Once upon a time, there was a little girl named Lily. She loved to play";
    return shipped().tokenizer.encode(story, true, false);
}

struct Generated {
    std::vector<int32_t> tokens;
    SpeculativeStats stats;
};

// Generates `n` tokens after `prompt`, checking the cache after every step.
Generated generate(const std::vector<int32_t>& prompt, size_t n, const sampling::SamplerOptions& sampling,
                   Drafter* drafter, SpeculativeOptions options, size_t max_per_call = 64) {
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    ThreadPool pool(2);
    InferenceSession session(shipped().model, table, pool, 512);
    EXPECT_TRUE(session.evaluate(prompt).ok());
    sampling::Sampler sampler(sampling);
    SpeculativeGenerator generator(session, sampler, drafter, prompt, 0, std::move(options));
    Generated out;
    while (out.tokens.size() < n) {
        auto step = generator.next(std::min(max_per_call, n - out.tokens.size()));
        EXPECT_TRUE(step.ok()) << step.error().message();
        if (!step.ok()) break;
        EXPECT_GE(step.value().size(), 1u);
        out.tokens.insert(out.tokens.end(), step.value().begin(), step.value().end());
        // Everything returned except the last token is in the cache.
        EXPECT_EQ(session.n_past(), prompt.size() + out.tokens.size() - 1);
    }
    EXPECT_EQ(out.tokens.size(), n);
    out.stats = generator.stats();
    EXPECT_EQ(out.stats.emitted, n);
    return out;
}

// Plain decoding as `tern run` does it: sample, evaluate, repeat.
std::vector<int32_t> plain(const std::vector<int32_t>& prompt, size_t n, const sampling::SamplerOptions& sampling) {
    const kernels::KernelTable& table = kernels::kernel_table(kernels::best_isa_here());
    ThreadPool pool(2);
    InferenceSession session(shipped().model, table, pool, 512);
    EXPECT_TRUE(session.evaluate(prompt).ok());
    sampling::Sampler sampler(sampling);
    std::vector<int32_t> history = prompt, out;
    for (size_t i = 0; i < n; ++i) {
        const int32_t next = sampler.sample(session.last_logits(), history);
        history.push_back(next);
        out.push_back(next);
        EXPECT_TRUE(session.evaluate(std::span(&next, 1)).ok());
    }
    return out;
}

const sampling::SamplerOptions kGreedy = {.temperature = 0, .repeat_penalty = 1.1f};
const sampling::SamplerOptions kSampled = {.temperature = 0.9f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .seed = 7};

TEST(SpeculativeGenerator, PromptLookupKeepsGreedyAndSampledOutputExactly) {
    const std::vector<int32_t> prompt = grounded_prompt();
    for (const sampling::SamplerOptions& sampling : {kGreedy, kSampled}) {
        SCOPED_TRACE(sampling.temperature);
        const std::vector<int32_t> expected = plain(prompt, 48, sampling);
        PromptLookupDrafter drafter;
        const Generated got = generate(prompt, 48, sampling, &drafter, {.max_draft = 6, .adaptive = false});
        EXPECT_EQ(got.tokens, expected);
        // Guesses were checked and some held, so steps emitted several tokens.
        EXPECT_GT(got.stats.drafted, 10u);
        EXPECT_GT(got.stats.accepted, 0u);
        EXPECT_LT(got.stats.steps, 48u);
        // Without a drafter it is plain decoding, one token per step.
        const Generated none = generate(prompt, 48, sampling, nullptr, {});
        EXPECT_EQ(none.tokens, expected);
        EXPECT_EQ(none.stats.drafted, 0u);
        EXPECT_EQ(none.stats.steps, 47u);   // the first token comes from the prompt's logits
    }
}

TEST(SpeculativeGenerator, TheModelDraftingForItselfIsAlwaysRightWhenGreedy) {
    const std::vector<int32_t> prompt = grounded_prompt();
    const sampling::SamplerOptions greedy = {.temperature = 0};
    const std::vector<int32_t> expected = plain(prompt, 40, greedy);
    ThreadPool draft_pool(1);
    DraftModelDrafter drafter(shipped().model, kernels::kernel_table(kernels::best_isa_here()), draft_pool, 512,
                              {.min_probability = 0});
    const Generated got = generate(prompt, 40, greedy, &drafter, {.max_draft = 4, .adaptive = false});
    EXPECT_EQ(got.tokens, expected);
    EXPECT_EQ(got.stats.accepted, got.stats.drafted);
    // The first token comes from the prompt; the other 39 come 5 per step (4 guesses + 1), the
    // last step 4.
    EXPECT_EQ(got.stats.steps, 8u);
}

TEST(SpeculativeGenerator, StepsCutAtMaxTokensAndAtTheEndKeepTheCacheRight) {
    const std::vector<int32_t> prompt = grounded_prompt();
    const std::vector<int32_t> expected = plain(prompt, 30, kSampled);
    PromptLookupDrafter drafter;
    // One, two or three tokens per call: steps often end on a guess that held.
    for (size_t per_call : {1u, 2u, 3u}) {
        const Generated got = generate(prompt, 30, kSampled, &drafter, {.max_draft = 8, .adaptive = false}, per_call);
        EXPECT_EQ(got.tokens, expected) << per_call;
    }
    // A step ends at an end token even when the guesses after it hold.
    const int32_t stop = expected[5];
    const Generated got =
        generate(prompt, 30, kSampled, &drafter,
                 {.max_draft = 8, .adaptive = false, .ends_generation = [stop](int32_t t) { return t == stop; }});
    EXPECT_EQ(got.tokens, expected);
}

TEST(SpeculativeGenerator, AdaptiveDraftingStaysExact) {
    const std::vector<int32_t> prompt = grounded_prompt();
    const std::vector<int32_t> expected = plain(prompt, 64, kGreedy);
    PromptLookupDrafter drafter;
    const Generated got = generate(prompt, 64, kGreedy, &drafter, {});
    EXPECT_EQ(got.tokens, expected);
}

}  // namespace
}  // namespace tern::engine
