// The body of POST /v1/chat/completions and /v1/completions, parsed and checked against the
// OpenAI API's types and ranges. Anything wrong becomes a 400 naming the parameter; fields
// tern cannot honour (n > 1, logprobs, tools) are refused rather than silently ignored.
// Sampling parameters a request leaves out keep tern's defaults (llama.cpp's: temperature
// 0.8, top-k 40, top-p 0.95, min-p 0.05).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/api_error.h"
#include "tern/model.h"

namespace tern::server {

enum class Endpoint { kChat, kCompletion };

struct CompletionRequest {
    Endpoint endpoint = Endpoint::kChat;
    std::string model;
    std::vector<ChatMessage> messages;              // chat (roles checked)
    std::string prompt;                             // completion, as text ...
    std::optional<std::vector<int32_t>> prompt_ids; // ... or as token ids
    std::optional<size_t> max_tokens;               // absent: until the context is full
    SamplingOptions sampler;
    bool seeded = false;                            // false: the server draws a seed
    std::vector<std::string> stop;
    bool stream = false;
    bool ignore_eos = false;                        // llama.cpp's extension: generate to max_tokens
    bool include_usage = false;                     // stream_options.include_usage
};

using ParsedRequest = std::variant<CompletionRequest, ApiError>;

ParsedRequest parse_completion_request(std::string_view body, Endpoint endpoint);

}  // namespace tern::server
