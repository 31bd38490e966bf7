// The public library (include/tern/) as a program built against libtern sees it: this test
// links only libtern.so, so it also proves the export map holds everything the headers declare.
// It runs the shipped TinyStories model and checks against the model's golden story, the PyTorch
// logits fixture, and sums computed here from logits the library returns.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "tern/tern.h"

namespace {

const std::filesystem::path kDir = std::filesystem::path(TERN_SOURCE_DIR) / "models" / "tinystories";
const std::string kGguf = (kDir / "tinystories-bitnet.gguf").string();

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

nlohmann::json card() { return nlohmann::json::parse(read_text(kDir / "card.json")); }

// golden.txt as `tern run` printed it, less the newline it ends with.
std::string golden_story() {
    std::string text = read_text(kDir / "golden.txt");
    if (text.ends_with('\n')) text.pop_back();
    return text;
}

tern::Model load(const tern::LoadOptions& options = {.threads = 2}) {
    tern::Result<tern::Model> model = tern::Model::load(kGguf, options);
    EXPECT_TRUE(model.ok()) << model.error().message();
    return std::move(model).value();
}

// Polls `done` for up to five seconds.
template <class Done>
bool wait_for(const Done& done) {
    for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
}

tern::GenerateOptions greedy(size_t max_tokens) {
    tern::GenerateOptions options;
    options.max_tokens = max_tokens;
    options.sampling.temperature = 0;
    return options;
}

TEST(LibraryModel, DescribesTheShippedModel) {
    const tern::Model model = load();
    const tern::ModelInfo& info = model.info();
    EXPECT_EQ(info.architecture, "bitnet-b1.58");
    EXPECT_EQ(info.n_vocab, 2048u);
    EXPECT_EQ(info.n_embd, 256u);
    EXPECT_EQ(info.n_layers, 6u);
    EXPECT_EQ(info.context, info.n_ctx_train);
    EXPECT_EQ(info.threads, 2);
    EXPECT_TRUE(info.has_tokenizer);
    EXPECT_FALSE(info.chat_template.empty());
    EXPECT_NE(info.description.find("I2_S"), std::string::npos) << info.description;
}

TEST(LibraryModel, GreedyGenerationTellsTheGoldenStoryAndStreamsIt) {
    const tern::Model model = load();
    const nlohmann::json c = card();
    tern::GenerateOptions options = greedy(c["golden_tokens"].get<size_t>());
    std::string streamed;
    size_t pieces = 0;
    options.on_text = [&](std::string_view piece) {
        streamed += piece;
        ++pieces;
        return true;
    };
    tern::Result<tern::Generation> out = model.generate(c["golden_prompt"].get<std::string>(), options);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(out.value().text, golden_story());
    EXPECT_EQ(streamed, out.value().text);
    EXPECT_GT(pieces, 10u);
    EXPECT_EQ(out.value().finish, tern::FinishReason::kLength);
    EXPECT_EQ(out.value().generated_tokens, c["golden_tokens"].get<size_t>());
    EXPECT_EQ(out.value().tokens.size(), out.value().generated_tokens);
    EXPECT_EQ(tern::finish_reason_name(out.value().finish), "length");
}

// echo puts the prompt's text first (as the user typed it: SentencePiece's leading space
// dropped); on_token streams exactly the ids that make the text.
TEST(LibraryModel, EchoAndTokenStreamAgreeWithThePlainGeneration) {
    const tern::Model model = load();
    const nlohmann::json c = card();
    const std::string prompt = c["golden_prompt"].get<std::string>();
    const tern::Generation plain = model.generate(prompt, greedy(24)).value();
    tern::GenerateOptions options = greedy(24);
    options.echo = true;
    std::string streamed;
    std::vector<int32_t> ids;
    options.on_text = [&](std::string_view piece) {
        streamed += piece;
        return true;
    };
    options.on_token = [&](int32_t id) {
        ids.push_back(id);
        return true;
    };
    const tern::Generation echoed = model.generate(prompt, options).value();
    EXPECT_EQ(echoed.text, prompt + plain.text);
    EXPECT_EQ(streamed, echoed.text);
    EXPECT_EQ(ids, plain.tokens);
    EXPECT_EQ(echoed.steps, 24u);   // one forward step per token without drafting
    size_t calls = 0;
    options.on_token = [&](int32_t) { return ++calls < 7; };   // false at the seventh token
    const tern::Generation stopped = model.generate(prompt, options).value();
    EXPECT_EQ(stopped.finish, tern::FinishReason::kCancelled);
    EXPECT_EQ(stopped.tokens.size(), 7u);
}

// A logit bias of +100 on one token makes greedy decoding pick it every time; the penalties
// then see it in their window (a presence penalty alone does not outweigh that bias).
TEST(LibraryModel, LogitBiasAndPenaltiesReachTheSampler) {
    const tern::Model model = load();
    tern::GenerateOptions options = greedy(6);
    options.sampling.logit_bias = {{42, 100.0f}};
    options.sampling.presence_penalty = 1.0f;
    const tern::Generation biased = model.generate("Once upon a time", options).value();
    EXPECT_EQ(biased.tokens, std::vector<int32_t>(6, 42));
    tern::GenerateOptions penalised = greedy(40);
    const tern::Generation plain = model.generate("Once upon a time", penalised).value();
    penalised.sampling.frequency_penalty = 5.0f;
    penalised.sampling.penalty_last_n = 64;
    const tern::Generation varied = model.generate("Once upon a time", penalised).value();
    EXPECT_NE(varied.tokens, plain.tokens);
    std::set<int32_t> distinct(varied.tokens.begin(), varied.tokens.end());
    EXPECT_GT(distinct.size(), std::set<int32_t>(plain.tokens.begin(), plain.tokens.end()).size());
}

TEST(LibraryModel, NgramDraftingKeepsTheText) {
    const tern::Model model = load();
    const nlohmann::json c = card();
    tern::GenerateOptions options = greedy(c["golden_tokens"].get<size_t>());
    options.draft = "ngram";
    tern::Result<tern::Generation> out = model.generate(c["golden_prompt"].get<std::string>(), options);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(out.value().text, golden_story());
    options.draft = "medusa";
    tern::Result<tern::Generation> bad = model.generate("Once", options);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message(), "draft 'medusa' is not supported (\"\" or \"ngram\")");
}

// A draft model of another family (the shipped iFairy model, same vocabulary) guesses; the
// text is plain decoding's whether its guesses hold or not, greedy or sampled.
TEST(LibraryModel, DraftModelKeepsTheTextAndCountsItsGuesses) {
    const tern::Model model = load();
    const std::string ifairy = (kDir.parent_path() / "tinystories-ifairy" / "tinystories-ifairy.gguf").string();
    tern::Result<tern::Model> draft = tern::Model::load(ifairy, {.threads = 1});
    ASSERT_TRUE(draft.ok()) << draft.error().message();
    const nlohmann::json c = card();
    tern::GenerateOptions options = greedy(c["golden_tokens"].get<size_t>());
    options.draft_model = &draft.value();
    options.adapt_draft = false;   // the policy times steps: fixed, the counts below are certain
    tern::Result<tern::Generation> out = model.generate(c["golden_prompt"].get<std::string>(), options);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(out.value().text, golden_story());
    EXPECT_GT(out.value().draft_tokens, 10u);
    EXPECT_GT(out.value().accepted_tokens, 0u);
    EXPECT_LT(out.value().accepted_tokens, out.value().draft_tokens);   // some guesses fail: both paths run

    tern::GenerateOptions sampled;
    sampled.max_tokens = 60;
    sampled.sampling.seed = 5;
    const tern::Generation plain = model.generate("Once upon a time", sampled).value();
    sampled.draft_model = &draft.value();
    sampled.max_draft = 4;
    const tern::Generation drafted = model.generate("Once upon a time", sampled).value();
    EXPECT_EQ(drafted.tokens, plain.tokens);
    EXPECT_GT(drafted.draft_tokens, 0u);

    options.draft_model = &model;   // drafting for itself: every guess holds
    const tern::Generation itself = model.generate(c["golden_prompt"].get<std::string>(), options).value();
    EXPECT_EQ(itself.text, golden_story());
    EXPECT_EQ(itself.accepted_tokens, itself.draft_tokens);
    options.draft = "ngram";
    EXPECT_EQ(model.generate("Once", options).error().message(),
              "generate: draft 'ngram' and a draft model are both set");
    options.draft = "";
    options.max_draft = 17;
    EXPECT_EQ(model.generate("Once", options).error().message(), "generate: max_draft 17 is outside 1-16");
}

TEST(LibraryModel, DraftModelWithAnotherVocabularyIsRefused) {
    // The shipped file with one token's text changed (same length, so the file stays valid).
    std::ifstream in(kGguf, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), {}};
    const std::string token = "\xe2\x96\x81little";
    const size_t at = bytes.find(token);
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at + 3, 6, "LITTLE");
    const std::filesystem::path renamed = std::filesystem::temp_directory_path() /
                                          ("tern_api_renamed_" + std::to_string(::getpid()) + ".gguf");
    std::ofstream(renamed, std::ios::binary) << bytes;
    tern::Result<tern::Model> other = tern::Model::load(renamed.string(), {.threads = 1});
    std::filesystem::remove(renamed);
    ASSERT_TRUE(other.ok()) << other.error().message();
    const tern::Model model = load();
    tern::GenerateOptions options = greedy(8);
    options.draft_model = &other.value();
    tern::Result<tern::Generation> out = model.generate("Once", options);
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.error().message().find("draft_model: token "), std::string::npos) << out.error().message();
    EXPECT_NE(out.error().message().find("they must share one vocabulary"), std::string::npos) << out.error().message();
}

// Prompts of different lengths decoded together: each gets, token for token, what it gets
// alone, with its own stop, length and cancellation.
TEST(LibraryModel, BatchGivesEachPromptItsOwnGeneration) {
    const tern::Model model = load();
    const std::vector<std::string> prompts = {"Once upon a time", "The little dog",
                                              "One day, a girl named Lily went to the park with her mom. She saw",
                                              "Tom"};
    for (const float temperature : {0.0f, 0.8f}) {
        tern::GenerateOptions options;
        options.max_tokens = 40;
        options.sampling.temperature = temperature;
        options.sampling.seed = 3;
        options.stop = {"."};
        tern::Result<std::vector<tern::Generation>> batch = model.generate_batch(prompts, options);
        ASSERT_TRUE(batch.ok()) << batch.error().message();
        ASSERT_EQ(batch.value().size(), prompts.size());
        size_t stopped = 0;
        for (size_t i = 0; i < prompts.size(); ++i) {
            tern::Result<tern::Generation> single = model.generate(prompts[i], options);
            ASSERT_TRUE(single.ok()) << single.error().message();
            const tern::Generation& alone = single.value();
            const tern::Generation& together = batch.value()[i];
            EXPECT_EQ(together.tokens, alone.tokens) << "prompt " << i << " at temperature " << temperature;
            EXPECT_EQ(together.text, alone.text) << i;
            EXPECT_EQ(together.finish, alone.finish) << i;
            EXPECT_EQ(together.prompt_tokens, alone.prompt_tokens) << i;
            stopped += together.finish == tern::FinishReason::kStop ? 1 : 0;
        }
        EXPECT_GT(stopped, 0u);   // the stop string ended some, at different lengths
    }

    std::vector<std::string> seen(prompts.size());
    tern::Result<std::vector<tern::Generation>> streamed = model.generate_batch(
        prompts, greedy(30), [&](size_t i, std::string_view piece) {
            seen[i] += piece;
            return i != 1 || seen[i].size() < 10;   // prompt 1 is cancelled early, the rest go on
        });
    ASSERT_TRUE(streamed.ok()) << streamed.error().message();
    for (size_t i = 0; i < prompts.size(); ++i) {
        EXPECT_EQ(seen[i], streamed.value()[i].text) << i;
        if (i == 1) continue;
        EXPECT_EQ(streamed.value()[i].text, model.generate(prompts[i], greedy(30)).value().text) << i;
    }
    EXPECT_EQ(streamed.value()[1].finish, tern::FinishReason::kCancelled);
    EXPECT_LT(streamed.value()[1].generated_tokens, 30u);

    tern::GenerateOptions drafted = greedy(8);
    drafted.draft = "ngram";
    EXPECT_EQ(model.generate_batch(prompts, drafted).error().message(),
              "generate_batch: speculative decoding (draft, draft_model) runs one prompt at a time");
    const std::vector<std::string> with_long = {"Once", std::string(2000, 'a')};
    tern::Result<std::vector<tern::Generation>> too_long = model.generate_batch(with_long, greedy(4));
    ASSERT_FALSE(too_long.ok());
    EXPECT_TRUE(too_long.error().message().starts_with("generate_batch: prompt 1 (")) << too_long.error().message();
    EXPECT_TRUE(too_long.error().message().ends_with("leaves no room in the context of 256 tokens"));
}

// A context that fills before max_tokens ends each prompt where generate() ends it; the cancel
// flag ends them all.
TEST(LibraryModel, BatchEndsAtAFullContextAndOnTheCancelFlag) {
    const tern::Model model = load({.threads = 2, .context = 24});
    const std::vector<std::string> prompts = {"Once upon a time", "One day, a girl named Lily went to the park"};
    tern::Result<std::vector<tern::Generation>> batch = model.generate_batch(prompts, greedy(100));
    ASSERT_TRUE(batch.ok()) << batch.error().message();
    for (size_t i = 0; i < prompts.size(); ++i) {
        const tern::Generation alone = model.generate(prompts[i], greedy(100)).value();
        EXPECT_EQ(batch.value()[i].tokens, alone.tokens) << i;
        EXPECT_EQ(batch.value()[i].finish, alone.finish) << i;
        EXPECT_EQ(batch.value()[i].prompt_tokens + batch.value()[i].generated_tokens, 25u) << i;   // n_ctx + 1
    }
    std::atomic<bool> cancel{true};
    tern::GenerateOptions flagged = greedy(10);
    flagged.cancel = &cancel;
    tern::Result<std::vector<tern::Generation>> none = model.generate_batch(prompts, flagged);
    ASSERT_TRUE(none.ok()) << none.error().message();
    for (const tern::Generation& g : none.value()) {
        EXPECT_EQ(g.finish, tern::FinishReason::kCancelled);
        EXPECT_EQ(g.generated_tokens, 0u);
    }
}

// Complex, widely-linear and recurrent layers keep one state per sequence as well.
TEST(LibraryModel, BatchHoldsForEveryModelFamily) {
    const std::vector<std::string> prompts = {"Once upon a time", "The cat sat", "Lily and Ben went"};
    for (const char* name : {"tinystories-ifairy", "tinystories-fairy2i", "tinystories-hgrn-bit"}) {
        const std::filesystem::path file = kDir.parent_path() / name / (std::string(name) + ".gguf");
        tern::Result<tern::Model> model = tern::Model::load(file.string(), {.threads = 2});
        ASSERT_TRUE(model.ok()) << model.error().message();
        tern::GenerateOptions options;
        options.max_tokens = 24;
        options.sampling.seed = 9;
        tern::Result<std::vector<tern::Generation>> batch = model.value().generate_batch(prompts, options);
        ASSERT_TRUE(batch.ok()) << name << ": " << batch.error().message();
        for (size_t i = 0; i < prompts.size(); ++i)
            EXPECT_EQ(batch.value()[i].tokens, model.value().generate(prompts[i], options).value().tokens)
                << name << ", prompt " << i;
    }
}

TEST(LibraryModel, SampledGenerationDependsOnlyOnTheSeed) {
    const tern::Model model = load();
    tern::GenerateOptions options;
    options.max_tokens = 40;
    options.sampling.seed = 11;
    tern::Result<tern::Generation> a = model.generate("Once upon a time", options);
    tern::Result<tern::Generation> b = model.generate("Once upon a time", options);
    options.sampling.seed = 12;
    tern::Result<tern::Generation> c = model.generate("Once upon a time", options);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(a.value().text, b.value().text);
    EXPECT_NE(a.value().text, c.value().text);
}

TEST(LibraryModel, StopStringEndsTheTextBeforeIt) {
    const tern::Model model = load();
    const nlohmann::json c = card();
    const std::string golden = golden_story();
    tern::GenerateOptions options = greedy(c["golden_tokens"].get<size_t>());
    options.stop = {"very brave"};
    tern::Result<tern::Generation> out = model.generate(c["golden_prompt"].get<std::string>(), options);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(out.value().text, golden.substr(0, golden.find("very brave")));
    EXPECT_EQ(out.value().finish, tern::FinishReason::kStop);
}

TEST(LibraryModel, CallbackAndFlagCancel) {
    const tern::Model model = load();
    tern::GenerateOptions options = greedy(60);
    int calls = 0;
    options.on_text = [&](std::string_view) { return ++calls < 3; };
    tern::Result<tern::Generation> out = model.generate("Once upon a time", options);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(out.value().finish, tern::FinishReason::kCancelled);
    EXPECT_LT(out.value().generated_tokens, 10u);

    std::atomic<bool> cancel{true};
    tern::GenerateOptions flagged = greedy(60);
    flagged.cancel = &cancel;
    tern::Result<tern::Generation> none = model.generate("Once upon a time", flagged);
    ASSERT_TRUE(none.ok()) << none.error().message();
    EXPECT_EQ(none.value().finish, tern::FinishReason::kCancelled);
    EXPECT_EQ(none.value().generated_tokens, 0u);
}

TEST(LibraryModel, TokenizesAsTheFixtureAndBack) {
    const tern::Model model = load();
    const nlohmann::json fixture = nlohmann::json::parse(read_text(kDir / "fixture.json"));
    const std::string prompt = fixture["prompt"].get<std::string>();
    tern::Result<std::vector<int32_t>> ids = model.tokenize(prompt);
    ASSERT_TRUE(ids.ok()) << ids.error().message();
    EXPECT_EQ(ids.value(), fixture["ids"].get<std::vector<int32_t>>());
    tern::Result<std::string> text = model.detokenize(std::span(ids.value()).subspan(1));
    ASSERT_TRUE(text.ok()) << text.error().message();
    EXPECT_NE(text.value().find(prompt), std::string::npos) << text.value();
    const std::vector<int32_t> bad = {5, 2048};
    EXPECT_EQ(model.detokenize(bad).error().message(), "token 1 is id 2048, outside the vocabulary of 2048");
}

TEST(LibraryModel, LogitsMatchPyTorchAndAStepBySessionBitForBit) {
    const tern::Model model = load();
    const nlohmann::json fixture = nlohmann::json::parse(read_text(kDir / "fixture.json"));
    const std::vector<int32_t> ids = fixture["ids"].get<std::vector<int32_t>>();
    const std::string raw = read_text(kDir / "fixture_logits.f32");
    std::vector<float> torch(raw.size() / sizeof(float));
    std::memcpy(torch.data(), raw.data(), raw.size());
    tern::Result<std::vector<float>> all = model.logits(ids, /*all_tokens=*/true);
    ASSERT_TRUE(all.ok()) << all.error().message();
    ASSERT_EQ(all.value().size(), torch.size());
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < torch.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(double(all.value()[i]) - torch[i]));
        max_abs = std::max(max_abs, std::fabs(double(torch[i])));
    }
    EXPECT_LT(max_diff, 0.02 * max_abs);   // PyTorch's float BitLinear; see tests/engine/shipped_model_test.cpp

    tern::Result<tern::Session> session = model.new_session(32);
    ASSERT_TRUE(session.ok()) << session.error().message();
    tern::Session& s = session.value();
    EXPECT_TRUE(s.logits().empty());
    for (const int32_t id : ids) ASSERT_TRUE(s.evaluate(std::span(&id, 1)).ok());
    const size_t vocab = model.info().n_vocab;
    ASSERT_EQ(s.logits().size(), vocab);
    EXPECT_EQ(0, std::memcmp(s.logits().data(), all.value().data() + (ids.size() - 1) * vocab, vocab * sizeof(float)));
    // Cut back and evaluate the rest again in one batch: the same bits.
    ASSERT_TRUE(s.truncate(5).ok());
    EXPECT_EQ(s.size(), 5u);
    EXPECT_TRUE(s.logits().empty());
    ASSERT_TRUE(s.evaluate(std::span(ids).subspan(5)).ok());
    EXPECT_EQ(0, std::memcmp(s.logits().data(), all.value().data() + (ids.size() - 1) * vocab, vocab * sizeof(float)));
    EXPECT_EQ(s.truncate(99).error().message(), "truncate: 99 tokens asked to keep, the session holds 15");
    const std::vector<int32_t> too_many(20, 7);
    EXPECT_FALSE(s.evaluate(too_many).ok());
    EXPECT_EQ(s.size(), 15u);
}

// Perplexity as llama-perplexity defines it, summed here from the logits the library returns.
TEST(LibraryModel, PerplexityEqualsTheSumOverLogits) {
    const tern::Model model = load();
    const std::string text = golden_story() + "\n" + golden_story();
    const size_t window = 32;
    tern::Result<tern::Perplexity> ppl = model.perplexity(text, {.window = window, .max_chunks = 0, .on_start = {}});
    ASSERT_TRUE(ppl.ok()) << ppl.error().message();
    std::vector<int32_t> tokens = model.tokenize(text).value();
    const size_t chunks = tokens.size() / window, vocab = model.info().n_vocab;
    double nll = 0;
    for (size_t c = 0; c < chunks; ++c) {
        std::vector<int32_t> chunk(tokens.begin() + c * window, tokens.begin() + (c + 1) * window);
        chunk[0] = 1;   // BOS
        const std::vector<float> logits = model.logits(chunk, true).value();
        for (size_t i = window / 2; i + 1 < window; ++i) {   // row i predicts token i + 1
            const float* row = logits.data() + i * vocab;
            const double max = *std::max_element(row, row + vocab);
            double sum = 0;
            for (size_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - max);
            nll -= row[chunk[i + 1]] - max - std::log(sum);
        }
    }
    const size_t scored = chunks * (window - 1 - window / 2);
    EXPECT_EQ(ppl.value().chunks, chunks);
    EXPECT_EQ(ppl.value().scored_tokens, scored);
    EXPECT_EQ(ppl.value().text_tokens, tokens.size());
    EXPECT_NEAR(ppl.value().perplexity, std::exp(nll / scored), 1e-6 * std::exp(nll / scored));
    std::vector<tern::Perplexity> seen;
    std::vector<std::pair<size_t, size_t>> started;   // (text tokens, chunks), before any chunk
    const auto on_start = [&](size_t text_tokens, size_t n) {
        EXPECT_TRUE(seen.empty());
        started.emplace_back(text_tokens, n);
    };
    const tern::Perplexity again =
        model.perplexity(text, {.window = window, .max_chunks = 0, .on_start = on_start},
                         [&](const tern::Perplexity& p) { seen.push_back(p); })
            .value();
    EXPECT_EQ(started, (std::vector<std::pair<size_t, size_t>>{{tokens.size(), chunks}}));
    ASSERT_EQ(seen.size(), chunks);
    for (size_t c = 0; c < chunks; ++c) EXPECT_EQ(seen[c].chunks, c + 1);
    EXPECT_EQ(seen.back().perplexity, again.perplexity);
    EXPECT_EQ(again.perplexity, ppl.value().perplexity);
}

// The tokenizer alone, from the GGUF and from the Hugging Face folder (tokenizer.model): the
// fixture's ids, as the model gives them, and the same ids from both.
TEST(LibraryTokenizer, LoadsWithoutTheWeightsAndTokenizesAsTheModel) {
    const nlohmann::json fixture = nlohmann::json::parse(read_text(kDir / "fixture.json"));
    const std::string prompt = fixture["prompt"].get<std::string>();
    const std::vector<int32_t> want = fixture["ids"].get<std::vector<int32_t>>();
    for (const std::filesystem::path& path : {std::filesystem::path(kGguf), kDir / "hf", kDir / "hf" / "tokenizer.model"}) {
        tern::Result<tern::Tokenizer> tok = tern::Tokenizer::load(path.string());
        ASSERT_TRUE(tok.ok()) << path << ": " << tok.error().message();
        EXPECT_EQ(tok.value().vocab_size(), 2048u) << path;
        EXPECT_EQ(tok.value().encode(prompt), want) << path;
        EXPECT_EQ(tok.value().encode(prompt, false).size() + 1, want.size()) << path;   // no BOS
        tern::Result<std::string> text = tok.value().decode(std::span(want).subspan(1));
        ASSERT_TRUE(text.ok()) << text.error().message();
        EXPECT_NE(text.value().find(prompt), std::string::npos) << text.value();
        EXPECT_EQ(tok.value().piece(want[0]).value(), "<s>");
        EXPECT_EQ(tok.value().piece(want[0], false).value(), "");
        const std::vector<int32_t> bad = {5, -1};
        EXPECT_EQ(tok.value().decode(bad).error().message(), "token 1 is id -1, outside the vocabulary of 2048");
        EXPECT_EQ(tok.value().piece(2048).error().message(), "token 0 is id 2048, outside the vocabulary of 2048");
    }
    const tern::Result<tern::Tokenizer> missing = tern::Tokenizer::load("/nonexistent/tokenizer.json");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().message().find('\n'), std::string::npos);
    EXPECT_NE(missing.error().message().find("/nonexistent/tokenizer.json"), std::string::npos);
}

TEST(LibraryModel, ChatRendersTheConversationWithTheModelsTemplate) {
    const tern::Model model = load();
    const std::vector<tern::ChatMessage> messages = {{"system", "You tell stories."}, {"user", "A story about a fox."}};
    tern::Result<tern::Generation> out = model.chat(messages, greedy(20));
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_GT(out.value().prompt_tokens, model.tokenize("A story about a fox.").value().size());
    EXPECT_GT(out.value().generated_tokens, 0u);
    const std::vector<tern::ChatMessage> bad = {{"user", "hi"}, {"tool", "42"}};
    EXPECT_EQ(model.chat(bad).error().message(), "chat: message 1 has role 'tool' (system, developer, user or assistant)");
    EXPECT_EQ(model.chat({}).error().message(), "chat: no messages");
}

// A Chat keeps the conversation in its cache: its first reply is the stateless chat()'s, a
// second conversation with the same seed says the same things turn by turn, reset() starts
// over, and a small context restarts the conversation rather than failing. (With a built-in
// format a Chat tokenizes turn by turn, so after a system prompt a SentencePiece vocabulary
// starts the user's turn with its word-start space, where chat() renders one string: the first
// replies are compared without one.)
TEST(LibraryModel, ChatKeepsTheConversationAcrossTurns) {
    const tern::Model model = load();
    const std::string system = "You tell stories.";
    const std::vector<std::string> turns = {"A story about a fox.", "And then?", "Who else came?", "The end?"};
    tern::Chat chat = model.new_chat().value();
    const tern::Generation first = chat.send(turns[0], greedy(20)).value();
    const std::vector<tern::ChatMessage> messages = {{"user", turns[0]}};
    EXPECT_EQ(first.text, model.chat(messages, greedy(20)).value().text);
    EXPECT_GT(chat.size(), first.prompt_tokens);

    tern::GenerateOptions sampled;
    sampled.max_tokens = 24;
    sampled.sampling.seed = 5;
    std::vector<std::string> said[2];
    for (int run = 0; run < 2; ++run) {
        tern::Chat fresh = model.new_chat({.system = system, .context = 0}).value();
        for (const std::string& turn : turns) said[run].push_back(fresh.send(turn, sampled).value().text);
    }
    EXPECT_EQ(said[0], said[1]);
    EXPECT_NE(said[0][1], said[0][2]);

    ASSERT_TRUE(chat.reset().ok());
    EXPECT_EQ(chat.send(turns[0], greedy(20)).value().text, first.text);

    tern::Chat small = model.new_chat({.system = "", .context = 64}).value();
    bool restarted = false;
    for (int i = 0; i < 6; ++i) {
        tern::Result<tern::Generation> out = small.send("Tell me about the big red ball and the dog.", greedy(16));
        ASSERT_TRUE(out.ok()) << out.error().message();
        restarted = restarted || small.restarted();
        EXPECT_LE(small.size(), small.context());
    }
    EXPECT_TRUE(restarted);
    EXPECT_EQ(small.send(std::string(400, 'a'), greedy(8)).error().message().substr(0, 18), "chat: the message ");
    EXPECT_EQ(model.new_chat({.system = "", .context = 4096}).error().message(),
              "chat: context 4096 exceeds the model's 256 tokens");
}

// Continuous batching: requests submitted together (more than the slots, so some wait) each
// get the text generate() gives them alone; a full batcher says so with a null stream; a
// cancelled request ends; bad prompts are one-line errors.
TEST(LibraryModel, BatcherGivesEachRequestItsOwnText) {
    const tern::Model model = load();
    size_t prompts_admitted = 0, tokens_seen = 0;
    tern::BatcherOptions options{.slots = 2, .context = 128, .max_queue = 2};
    options.on_prompt = [&](size_t) { ++prompts_admitted; };
    options.on_token = [&](bool, double seconds) {
        EXPECT_GE(seconds, 0.0);
        ++tokens_seen;
    };
    tern::Batcher batcher = model.new_batcher(options).value();
    EXPECT_EQ(batcher.context(), 128u);
    const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Tom and Sam", "A big red ball"};
    std::vector<std::shared_ptr<tern::BatchStream>> streams;
    for (size_t i = 0; i < prompts.size(); ++i) {
        tern::BatchRequest request{.prompt = model.tokenize(prompts[i]).value(), .max_tokens = 12 + i, .sampling = {},
                                   .stop = {}, .ignore_eos = false};
        request.sampling.seed = 3 + i;
        streams.push_back(batcher.submit(std::move(request)).value());
        ASSERT_NE(streams.back(), nullptr) << i;
    }
    tern::BatchRequest extra{.prompt = model.tokenize("One more").value(), .max_tokens = 4};
    EXPECT_EQ(batcher.submit(extra).value(), nullptr);   // 2 slots + 2 queued are taken
    size_t completion_tokens = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
        const tern::BatchUpdate end = streams[i]->wait_all();
        EXPECT_TRUE(end.finished);
        EXPECT_TRUE(end.error.empty()) << end.error;
        tern::GenerateOptions alone;
        alone.max_tokens = 12 + i;
        alone.sampling.seed = 3 + i;
        EXPECT_EQ(end.text, model.generate(prompts[i], alone).value().text) << prompts[i];
        completion_tokens += end.completion_tokens;
    }
    EXPECT_EQ(prompts_admitted, prompts.size());
    EXPECT_EQ(tokens_seen, completion_tokens);

    std::shared_ptr<tern::BatchStream> cancelled =
        batcher.submit({.prompt = model.tokenize("Once").value(), .max_tokens = 0}).value();
    cancelled->cancel();
    EXPECT_TRUE(cancelled->cancelled());
    ASSERT_TRUE(wait_for([&] { return batcher.load().active == 0 && batcher.load().queued == 0; }));
    EXPECT_EQ(batcher.submit({.prompt = {}}).error().message(), "batcher: the prompt is empty");
    EXPECT_EQ(batcher.submit({.prompt = {1, 5000}}).error().message(),
              "batcher: token 1 is id 5000, outside the vocabulary of 2048");
    batcher.begin_drain();
    EXPECT_TRUE(batcher.load().draining);
    EXPECT_EQ(batcher.submit(extra).value(), nullptr);
    EXPECT_EQ(model.new_batcher({.slots = 0}).error().message(), "batcher: 0 slots is outside 1-256");
}

TEST(LibraryModel, ThreadsTakeTurnsAndGetTheirOwnAnswers) {
    const tern::Model model = load();
    const nlohmann::json c = card();
    const std::string golden = golden_story();
    std::vector<std::string> texts(3);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < texts.size(); ++i)
        threads.emplace_back([&, i] {
            const tern::Model copy = model;   // a handle shares the weights
            texts[i] = copy.generate(c["golden_prompt"].get<std::string>(), greedy(c["golden_tokens"].get<size_t>()))
                           .value()
                           .text;
        });
    for (std::thread& t : threads) t.join();
    for (const std::string& text : texts) EXPECT_EQ(text, golden);
}

// The model's lock goes to callers in the order they ask: a generation on a model whose batcher
// is busy runs between two of its steps, not after its last request ends.
TEST(LibraryModel, AGenerationGoesBetweenABusyBatchersSteps) {
    const tern::Model model = load();
    tern::Batcher batcher = model.new_batcher({.slots = 2, .context = 1024}).value();
    std::vector<std::shared_ptr<tern::BatchStream>> streams;
    for (const char* prompt : {"Once upon a time", "The little dog"})
        streams.push_back(batcher.submit({.prompt = model.tokenize(prompt).value(), .max_tokens = 1000,
                                          .sampling = {}, .stop = {}, .ignore_eos = true})
                              .value());
    ASSERT_TRUE(streams[0]->next(std::chrono::seconds(30)).has_value());   // the batcher is stepping
    const tern::Generation alone = model.generate("Tom and Sam", greedy(4)).value();
    EXPECT_FALSE(alone.text.empty());
    EXPECT_GT(batcher.load().active, 0u) << "the generation waited for the batcher to finish";
    for (const auto& stream : streams) stream->cancel();
}

TEST(LibraryModel, BenchmarkReportsLikeTernBenchJson) {
    const tern::Model model = load();
    tern::Result<std::string> report = model.benchmark({.prompt_tokens = 8, .generate_tokens = 8, .threads = {1},
                                                        .repetitions = 1});
    ASSERT_TRUE(report.ok()) << report.error().message();
    const nlohmann::json j = nlohmann::json::parse(report.value());
    ASSERT_EQ(j["results"].size(), 2u);
    EXPECT_EQ(j["results"][0]["test"], "pp8");
    EXPECT_EQ(j["results"][1]["test"], "tg8");
    EXPECT_GT(j["results"][1]["tokens_per_s"].get<double>(), 0.0);
    EXPECT_EQ(j["architecture"], "bitnet-b1.58");
    EXPECT_EQ(j["description"], model.info().description);
}

// A synthetic model of a named shape, measured with sequences decoded together and at a depth.
TEST(LibraryModel, SyntheticModelBenchmarksBatchesAndDepths) {
    tern::Result<tern::Model> tiny = tern::Model::synthetic("tiny", "tq2_0", {.threads = 1});
    ASSERT_TRUE(tiny.ok()) << tiny.error().message();
    EXPECT_EQ(tiny.value().info().path, "synthetic tiny");
    EXPECT_NE(tiny.value().info().description.find("TQ2_0"), std::string::npos) << tiny.value().info().description;
    std::vector<std::string> announced;
    tern::BenchmarkOptions options{.prompt_tokens = 0, .generate_tokens = 4, .threads = {1}, .repetitions = 1,
                                   .sequences = {1, 3}, .depths = {0, 16}, .on_test = {}};
    options.on_test = [&](std::string_view test, int threads) {
        EXPECT_EQ(threads, 1);
        announced.emplace_back(test);
    };
    const nlohmann::json j = nlohmann::json::parse(tiny.value().benchmark(options).value());
    std::vector<std::string> tests;
    for (const nlohmann::json& r : j["results"]) tests.push_back(r["test"].get<std::string>());
    EXPECT_EQ(tests, (std::vector<std::string>{"tg4", "tg4x3", "tg4@d16", "tg4x3@d16"}));
    tests.push_back("read bandwidth");   // measured after the tests, in the same run
    EXPECT_EQ(announced, tests);
    EXPECT_FALSE(j["recurrent"].get<bool>());
    options.sequences = {0};
    EXPECT_EQ(tiny.value().benchmark(options).error().message(), "benchmark: 0 sequences is outside 1-64");
    EXPECT_EQ(tern::Model::synthetic("huge").error().message().substr(0, 24), "synthetic shape 'huge' i");
}

TEST(LibraryModel, BadInputGetsOneLineErrors) {
    tern::Result<tern::Model> missing = tern::Model::load("/nonexistent/model.gguf");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message().find("/nonexistent/model.gguf"), std::string::npos);
    EXPECT_EQ(missing.error().message().find('\n'), std::string::npos);
    EXPECT_EQ(tern::Model::load(kGguf, {.kv_type = "f8"}).error().message(), "kv_type 'f8' is not supported (f32 or f16)");
    EXPECT_EQ(tern::Model::load(kGguf, {.isa = "sse9"}).ok(), false);
    EXPECT_EQ(tern::Model::load(kGguf, {.context = 1 << 23}).error().message(),
              kGguf + ": context 8388608 is beyond 4194304 tokens");
    const tern::Model longer = tern::Model::load(kGguf, {.threads = 1, .context = 512}).value();
    EXPECT_EQ(longer.info().context, 512u);
    EXPECT_EQ(longer.info().warnings,
              std::vector<std::string>{"context 512 is more than the 256 tokens the model was trained on; text past them "
                                       "may degrade"});
    const tern::Model model = load();
    const std::vector<int32_t> out_of_vocab = {1, 4096};
    EXPECT_EQ(model.generate(std::span<const int32_t>(out_of_vocab)).error().message(),
              "generate: token 1 is id 4096, outside the vocabulary of 2048");
    EXPECT_EQ(model.generate(std::string(2000, 'a'), greedy(4)).error().message().substr(0, 20), "generate: the prompt");
    EXPECT_EQ(model.new_session(4096).error().message(), "session: context 4096 exceeds the model's 256 tokens");
    EXPECT_EQ(model.perplexity("tiny", {.window = 1, .max_chunks = 0, .on_start = {}}).error().message(),
              "perplexity: a window of 1 tokens is too short (at least 2)");
    EXPECT_EQ(tern::Model::load(kGguf, {.split = "cols"}).error().message(),
              "split: 'cols' is not a split (expected rows or layers)");
    EXPECT_EQ(model.follow().error().message(), "follow: the model is not split (LoadOptions::split)");
    EXPECT_EQ(model.info().rank, 0u);
    EXPECT_EQ(model.info().ranks, 1u);
    EXPECT_TRUE(model.info().warnings.empty());
}

TEST(LibrarySystem, ReportsTheKernelsThatRunHere) {
    const tern::SystemInfo info = tern::system_info();
    EXPECT_EQ(info.version, tern::kVersion);
    ASSERT_FALSE(info.kernels.empty());
    EXPECT_EQ(info.kernels.front(), "scalar");
    EXPECT_NE(std::find(info.kernels.begin(), info.kernels.end(), info.best_kernels), info.kernels.end());
    EXPECT_GE(info.usable_cpus, 1);
    EXPECT_FALSE(info.amx_prefill.empty());
    EXPECT_FALSE(info.caches.empty());
    EXPECT_TRUE(info.isa_error.empty()) << info.isa_error;
    EXPECT_FALSE(info.mpi_version.empty());
    if (info.isa_override.empty()) {   // the load-time race includes the best table itself
        EXPECT_NE(std::find(info.autotuned_kernels.begin(), info.autotuned_kernels.end(), info.best_kernels),
                  info.autotuned_kernels.end());
        EXPECT_GE(info.autotuned_complex_kernels.size(), info.autotuned_kernels.size());
    } else {
        EXPECT_TRUE(info.autotuned_kernels.empty());
        EXPECT_EQ(info.amx_prefill, "off: the ISA is forced, its own kernels run");
    }
    const tern::MemoryBandwidth read = tern::measure_memory_bandwidth(1, 0.05).value();
    EXPECT_GT(read.gb_per_s, 0.0);
    EXPECT_LE(read.min_gb_per_s, read.gb_per_s);
    EXPECT_GE(read.max_gb_per_s, read.gb_per_s);
    EXPECT_FALSE(read.method.empty());
    EXPECT_GE(read.buffer_bytes, uint64_t{256} << 20);
    EXPECT_EQ(tern::measure_memory_bandwidth(0).error().message(), "measure_memory_bandwidth: threads 0 is below 1");
    EXPECT_EQ(tern::measure_memory_bandwidth(1, 0).error().message(), "measure_memory_bandwidth: seconds 0 is not positive");
}

TEST(LibrarySystem, KernelBenchmarkReportsLikeTernBenchKernelsJson) {
    std::vector<std::string> timed;
    const std::string best = tern::system_info().best_kernels;   // fast under emulation too, unlike scalar
    tern::Result<std::string> report =
        tern::benchmark_kernels({.isas = {best}, .threads = {1}, .gemm_tokens = 0, .head = false, .complex = false,
                                 .seconds_per_point = 0.001, .stream_mb = 1,
                                 .on_point = [&](std::string_view point) { timed.emplace_back(point); }});
    ASSERT_TRUE(report.ok()) << report.error().message();
    const nlohmann::json j = nlohmann::json::parse(report.value());
    ASSERT_EQ(j["read_bandwidth_gb_per_s"].size(), 1u);
    EXPECT_GT(j["read_bandwidth_gb_per_s"][0]["gb_per_s"].get<double>(), 0.0);
    // The 2B4T projections, one GEMV each, with the ISA's kernels in each packing they have.
    ASSERT_FALSE(j["points"].empty());
    EXPECT_EQ(j["points"].size(), timed.size());
    for (const nlohmann::json& p : j["points"]) {
        EXPECT_EQ(p["op"], "gemv");
        EXPECT_EQ(p["isa"], best);
        EXPECT_EQ(p["threads"], 1);
        EXPECT_GT(p["seconds"].get<double>(), 0.0);
    }
    EXPECT_EQ(timed.front(), "gemv " + best + " attn_q/o t=1");
    EXPECT_EQ(tern::benchmark_kernels({.isas = {"avx9"}}).error().message().substr(0, 22), "--isa unknown ISA 'avx");
    EXPECT_EQ(tern::benchmark_kernels({.threads = {0}}).error().message(), "benchmark_kernels: thread count 0 is below 1");
    EXPECT_EQ(tern::benchmark_kernels({.seconds_per_point = 0}).error().message(),
              "benchmark_kernels: seconds per point 0 is not positive");
}

}  // namespace
