// Response bodies in the shapes of the OpenAI API: chat.completion / text_completion objects,
// their streamed chunks (chat.completion.chunk; text_completion for /v1/completions), usage,
// and the model list.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "server/completion_request.h"
#include "tern/batcher.h"

namespace tern::server {

// What every object of one response shares.
struct ResponseIdentity {
    Endpoint endpoint = Endpoint::kChat;
    std::string id;        // "chatcmpl-..." or "cmpl-..."
    int64_t created = 0;   // Unix seconds
    std::string model;
};

nlohmann::json usage_json(size_t prompt_tokens, size_t completion_tokens);
std::string openai_finish_reason(FinishReason reason);

// The whole answer of a non-streaming request.
nlohmann::json completion_json(const ResponseIdentity& who, const std::string& text, const BatchUpdate& end);

// One streamed chunk: `text` as the delta (with the assistant role on a chat stream's first
// chunk), or the closing chunk with its finish reason. `with_usage_field` adds "usage": null
// as OpenAI does when the client asked for a usage chunk.
nlohmann::json chunk_json(const ResponseIdentity& who, const std::string& text, bool first,
                          const FinishReason* finish, bool with_usage_field);
// The extra chunk with empty choices and the usage (stream_options.include_usage).
nlohmann::json usage_chunk_json(const ResponseIdentity& who, const BatchUpdate& end);

// What /v1/models says about the model beyond OpenAI's fields, under "meta" as llama.cpp does.
struct ModelMeta {
    size_t n_ctx = 0;         // tokens per request, prompt and reply together
    size_t n_ctx_train = 0;   // the model's training context
    size_t n_vocab = 0;
};
nlohmann::json model_json(const std::string& id, int64_t created, const ModelMeta& meta);

// Serialises for the wire; invalid UTF-8 (a model can emit broken byte sequences) becomes
// U+FFFD instead of throwing.
std::string dump_json(const nlohmann::json& value);

}  // namespace tern::server
