// Multi-turn chat in one KV cache: later turns evaluate only their own tokens, the logits
// equal a fresh evaluation of the whole transcript, and a full context restarts cleanly.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "engine/conversation.h"
#include "format/gguf_reader.h"
#include "kernels/dispatch.h"
#include "model/gguf_model_loader.h"
#include "model/synthetic_model.h"

namespace tern {
namespace {

struct Fixture {
    std::shared_ptr<std::vector<std::byte>> bytes;
    format::GgufContents gguf;
    model::Model model;
    tokenizer::Tokenizer tokenizer;
};

std::unique_ptr<Fixture> make_fixture() {
    auto writer = model::synthetic_gguf(*model::find_synthetic_shape("tiny"), {});
    auto bytes = std::make_shared<std::vector<std::byte>>(writer.value().write_to_buffer());
    auto gguf = format::parse_gguf(*bytes, "tiny");
    auto m = model::load_gguf_model(gguf.value(), bytes, "tiny", {});
    auto tok = tokenizer::Tokenizer::from_gguf(gguf.value());
    return std::make_unique<Fixture>(Fixture{bytes, std::move(gguf).value(), std::move(m).value(), std::move(tok).value()});
}

TEST(Conversation, KeepsEarlierTurnsInTheCache) {
    const auto f = make_fixture();
    const kernels::KernelTable& table = kernels::kernel_table(kernels::Isa::kScalar);
    ThreadPool pool(2);
    engine::InferenceSession session(f->model, table, pool, 128);
    const tokenizer::ChatTemplate t = *tokenizer::chat_template_by_name("plain");
    engine::Conversation chat(session, f->tokenizer, t, "sys");
    ASSERT_TRUE(chat.add_user_message("hi", 8).ok());
    const size_t after_first = session.n_past();
    const std::vector<int32_t> reply = {300 - 1, 299 - 5};
    for (int32_t id : reply) ASSERT_TRUE(session.evaluate(std::vector<int32_t>{id}).ok());
    ASSERT_TRUE(chat.end_reply("", reply).ok());
    const size_t before_second = session.n_past();
    EXPECT_GT(before_second, after_first + reply.size());   // the end-of-reply text went in
    auto second = chat.add_user_message("more", 8);
    ASSERT_TRUE(second.ok());
    EXPECT_FALSE(second.value());
    const std::vector<int32_t> turn = tokenizer::encode_segments(f->tokenizer, t.user_turn("more"), false);
    EXPECT_EQ(session.n_past(), before_second + turn.size());

    // The same transcript evaluated at once gives the same logits, bit for bit.
    std::vector<int32_t> transcript = tokenizer::encode_segments(f->tokenizer, t.begin("sys"), true);
    const auto first_turn = tokenizer::encode_segments(f->tokenizer, t.user_turn("hi"), false);
    transcript.insert(transcript.end(), first_turn.begin(), first_turn.end());
    transcript.insert(transcript.end(), reply.begin(), reply.end());
    const auto close = tokenizer::encode_segments(f->tokenizer, {{"\n", true}}, false);
    transcript.insert(transcript.end(), close.begin(), close.end());
    transcript.insert(transcript.end(), turn.begin(), turn.end());
    ASSERT_EQ(transcript.size(), session.n_past());
    const std::span<const int32_t> cached = chat.cached_tokens();
    EXPECT_EQ(std::vector<int32_t>(cached.begin(), cached.end()), transcript);
    const std::vector<float> incremental(session.last_logits().begin(), session.last_logits().end());
    engine::InferenceSession fresh(f->model, table, pool, 128);
    ASSERT_TRUE(fresh.evaluate(transcript).ok());
    EXPECT_EQ(0, std::memcmp(incremental.data(), fresh.last_logits().data(), incremental.size() * sizeof(float)));
}

// A Jinja template renders the whole conversation each turn; the cache keeps what the new
// rendering shares with it, and the logits equal a fresh evaluation of that rendering.
TEST(Conversation, JinjaTemplateKeepsTheSharedPrefixAndMatchesAFreshEvaluation) {
    const auto f = make_fixture();
    const kernels::KernelTable& table = kernels::kernel_table(kernels::Isa::kScalar);
    ThreadPool pool(2);
    engine::InferenceSession session(f->model, table, pool, 256);
    auto t = tokenizer::jinja_chat_template(
        "{% for m in messages %}{{ m.role }}: {{ m.content | trim }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
        "{% if messages | length > 5 %}{{ raise_exception('too many turns') }}{% endif %}",
        f->tokenizer.vocab(), "test");
    ASSERT_TRUE(t.ok()) << t.error().message();
    engine::Conversation chat(session, f->tokenizer, t.value(), "sys");
    ASSERT_TRUE(chat.add_user_message("hi", 8).ok());
    const size_t after_first = session.n_past();
    const std::vector<int32_t> reply = {299, 294};
    for (int32_t id : reply) ASSERT_TRUE(session.evaluate(std::vector<int32_t>{id}).ok());
    ASSERT_TRUE(chat.end_reply("a b", reply).ok());
    auto second = chat.add_user_message("more", 8);
    ASSERT_TRUE(second.ok()) << second.error().message();
    EXPECT_FALSE(second.value());

    using Role = tokenizer::ChatMessage::Role;
    const auto rendered = t.value().conversation({{Role::kSystem, "sys"}, {Role::kUser, "hi"},
                                                  {Role::kAssistant, "a b"}, {Role::kUser, "more"}});
    ASSERT_TRUE(rendered.ok());
    const std::vector<int32_t> transcript = tokenizer::encode_segments(f->tokenizer, rendered.value(), true);
    ASSERT_EQ(session.n_past(), transcript.size());
    EXPECT_GT(transcript.size(), after_first);
    const std::vector<float> incremental(session.last_logits().begin(), session.last_logits().end());
    engine::InferenceSession fresh(f->model, table, pool, 256);
    ASSERT_TRUE(fresh.evaluate(transcript).ok());
    EXPECT_EQ(0, std::memcmp(incremental.data(), fresh.last_logits().data(), incremental.size() * sizeof(float)));

    // The template's refusal reaches the caller, and the conversation is unchanged by it.
    ASSERT_TRUE(chat.end_reply("ok", {}).ok());
    auto refused = chat.add_user_message("again", 8);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message().find("too many turns"), std::string::npos) << refused.error().message();
    ASSERT_TRUE(chat.reset().ok());
    EXPECT_EQ(session.n_past(), 0u);
    EXPECT_TRUE(chat.add_user_message("fresh start", 8).ok());
}

TEST(Conversation, RestartsWhenTheContextIsFull) {
    const auto f = make_fixture();
    ThreadPool pool(1);
    engine::InferenceSession session(f->model, kernels::kernel_table(kernels::best_isa_here()), pool, 64);
    engine::Conversation chat(session, f->tokenizer, *tokenizer::chat_template_by_name("plain"), "");
    ASSERT_TRUE(chat.add_user_message("a b c d", 20).ok());
    bool restarted = false;
    for (int i = 0; i < 10 && !restarted; ++i) {
        auto r = chat.add_user_message("a b c d", 20);
        ASSERT_TRUE(r.ok()) << r.error().message();
        restarted = r.value();
    }
    EXPECT_TRUE(restarted);
    const std::string huge(400, 'x');
    auto too_long = chat.add_user_message(huge, 20);
    ASSERT_FALSE(too_long.ok());
    EXPECT_NE(too_long.error().message().find("do not fit the context of 64 tokens"), std::string::npos);
}

}  // namespace
}  // namespace tern
