#include <gtest/gtest.h>

#include <cmath>

#include "server/completion_request.h"

namespace tern::server {
namespace {

CompletionRequest ok(std::string_view body, Endpoint endpoint = Endpoint::kChat) {
    ParsedRequest parsed = parse_completion_request(body, endpoint);
    if (const ApiError* e = std::get_if<ApiError>(&parsed)) ADD_FAILURE() << e->message;
    return std::holds_alternative<CompletionRequest>(parsed) ? std::get<CompletionRequest>(parsed) : CompletionRequest{};
}

ApiError bad(std::string_view body, Endpoint endpoint = Endpoint::kChat) {
    ParsedRequest parsed = parse_completion_request(body, endpoint);
    EXPECT_TRUE(std::holds_alternative<ApiError>(parsed)) << body;
    return std::holds_alternative<ApiError>(parsed) ? std::get<ApiError>(parsed) : ApiError{};
}

TEST(CompletionRequest, ChatWithEverySupportedParameter) {
    const CompletionRequest r = ok(R"({"model": "m", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
        {"role": "assistant", "content": null}, {"role": "developer", "content": "x"}],
        "max_tokens": 7, "temperature": 0, "top_p": 0.5, "top_k": 3, "min_p": 0.1, "seed": -5,
        "presence_penalty": 1.5, "frequency_penalty": -2, "stop": ["a", "b"], "stream": true,
        "stream_options": {"include_usage": true}, "logit_bias": {"12": 5, "13": -100}, "n": 1, "user": "u"})");
    ASSERT_EQ(r.messages.size(), 4u);
    EXPECT_EQ(r.messages[1].content, "Hi there");
    EXPECT_EQ(r.messages[2].role, "assistant");
    EXPECT_EQ(r.messages[3].role, "developer");   // the chat template reads it as a system message
    EXPECT_EQ(r.max_tokens, 7u);
    EXPECT_EQ(r.sampler.temperature, 0.0f);
    EXPECT_EQ(r.sampler.top_p, 0.5f);
    EXPECT_EQ(r.sampler.top_k, 3);
    EXPECT_EQ(r.sampler.min_p, 0.1f);
    EXPECT_EQ(r.sampler.seed, static_cast<uint64_t>(int64_t{-5}));
    EXPECT_TRUE(r.seeded);
    EXPECT_EQ(r.sampler.presence_penalty, 1.5f);
    EXPECT_EQ(r.sampler.frequency_penalty, -2.0f);
    EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(r.stream);
    EXPECT_TRUE(r.include_usage);
    EXPECT_EQ(r.sampler.logit_bias.at(12), 5.0f);
    EXPECT_TRUE(std::isinf(r.sampler.logit_bias.at(13)));
}

TEST(CompletionRequest, DefaultsAndPromptForms) {
    const CompletionRequest r = ok(R"({"prompt": "Once"})", Endpoint::kCompletion);
    EXPECT_EQ(r.prompt, "Once");
    EXPECT_FALSE(r.max_tokens);
    EXPECT_FALSE(r.seeded);
    EXPECT_FALSE(r.stream);
    EXPECT_EQ(r.sampler.temperature, SamplingOptions{}.temperature);
    EXPECT_EQ(ok(R"({"prompt": ["Once"]})", Endpoint::kCompletion).prompt, "Once");
    EXPECT_EQ(*ok(R"({"prompt": [1, 2, 3]})", Endpoint::kCompletion).prompt_ids, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(*ok(R"({"prompt": [[4]]})", Endpoint::kCompletion).prompt_ids, (std::vector<int32_t>{4}));
    EXPECT_EQ(ok(R"({"prompt": "x", "stop": "\n", "max_completion_tokens": 3})", Endpoint::kCompletion).stop,
              (std::vector<std::string>{"\n"}));
}

TEST(CompletionRequest, EveryWrongTypeOrRangeNamesItsParameter) {
    struct Case {
        const char* body;
        const char* param;
    };
    const Case cases[] = {
        {R"({"messages": []})", "messages"},
        {R"({})", "messages"},
        {R"({"messages": "hi"})", "messages"},
        {R"({"messages": [{"content": "x"}]})", "messages[0]"},
        {R"({"messages": [{"role": "tool", "content": "x"}]})", "messages[0].role"},
        {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content"},
        {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content"},
        {R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", "temperature"},
        {R"({"messages": [{"role": "user", "content": "x"}], "temperature": 2.5})", "temperature"},
        {R"({"messages": [{"role": "user", "content": "x"}], "top_p": -0.1})", "top_p"},
        {R"({"messages": [{"role": "user", "content": "x"}], "top_k": 1.5})", "top_k"},
        {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", "max_tokens"},
        {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": "10"})", "max_tokens"},
        {R"({"messages": [{"role": "user", "content": "x"}], "seed": 1.5})", "seed"},
        {R"({"messages": [{"role": "user", "content": "x"}], "presence_penalty": 3})", "presence_penalty"},
        {R"({"messages": [{"role": "user", "content": "x"}], "stop": [1]})", "stop"},
        {R"({"messages": [{"role": "user", "content": "x"}], "stop": ""})", "stop"},
        {R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})", "stream"},
        {R"({"messages": [{"role": "user", "content": "x"}], "stream_options": 1})", "stream_options"},
        {R"({"messages": [{"role": "user", "content": "x"}], "n": 2})", "n"},
        {R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true})", "logprobs"},
        {R"({"messages": [{"role": "user", "content": "x"}], "tools": [{}]})", "tools"},
        {R"({"messages": [{"role": "user", "content": "x"}], "logit_bias": {"a": 1}})", "logit_bias"},
        {R"({"messages": [{"role": "user", "content": "x"}], "logit_bias": {"1": 101}})", "logit_bias"},
        {R"({"messages": [{"role": "user", "content": "x"}], "model": 3})", "model"},
        {R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}})",
         "response_format"},
    };
    for (const Case& c : cases) {
        const ApiError e = bad(c.body);
        EXPECT_EQ(e.status, 400) << c.body;
        EXPECT_EQ(e.param, c.param) << c.body << ": " << e.message;
        EXPECT_FALSE(e.message.empty());
    }
    EXPECT_EQ(bad(R"({"prompt": 5})", Endpoint::kCompletion).param, "prompt");
    EXPECT_EQ(bad(R"({"prompt": ["a", "b"]})", Endpoint::kCompletion).param, "prompt");
    EXPECT_EQ(bad(R"({"prompt": [1, -2]})", Endpoint::kCompletion).param, "prompt");
    EXPECT_EQ(bad(R"({})", Endpoint::kCompletion).param, "prompt");
}

TEST(CompletionRequest, MalformedBodies) {
    for (std::string_view body : {"", "{", "[1]", "null", "\"x\"", "{\"messages\": [}", "{\"prompt\": \"\xff\"}"}) {
        const ApiError e = bad(body);
        EXPECT_EQ(e.status, 400) << body;
    }
    EXPECT_EQ(bad("{").message, "the request body is not valid JSON");
    EXPECT_EQ(bad("[1]").message, "the request body must be a JSON object");
}

}  // namespace
}  // namespace tern::server
