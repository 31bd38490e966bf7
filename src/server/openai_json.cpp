#include "server/openai_json.h"

namespace tern::server {
namespace {

using nlohmann::json;

const char* object_name(Endpoint endpoint, bool chunk) {
    if (endpoint == Endpoint::kCompletion) return "text_completion";
    return chunk ? "chat.completion.chunk" : "chat.completion";
}

json envelope(const ResponseIdentity& who, bool chunk) {
    return {{"id", who.id},
            {"object", object_name(who.endpoint, chunk)},
            {"created", who.created},
            {"model", who.model},
            {"system_fingerprint", "tern"}};
}

}  // namespace

json usage_json(size_t prompt_tokens, size_t completion_tokens) {
    return {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens}};
}

std::string openai_finish_reason(FinishReason reason) { return reason == FinishReason::kStop ? "stop" : "length"; }

json completion_json(const ResponseIdentity& who, const std::string& text, const BatchUpdate& end) {
    json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", openai_finish_reason(end.finish)}};
    if (who.endpoint == Endpoint::kChat)
        choice["message"] = {{"role", "assistant"}, {"content", text}, {"refusal", nullptr}};
    else
        choice["text"] = text;
    json body = envelope(who, false);
    body["choices"] = json::array({choice});
    body["usage"] = usage_json(end.prompt_tokens, end.completion_tokens);
    return body;
}

json chunk_json(const ResponseIdentity& who, const std::string& text, bool first, const FinishReason* finish,
                bool with_usage_field) {
    json choice = {{"index", 0}, {"logprobs", nullptr},
                   {"finish_reason", finish ? json(openai_finish_reason(*finish)) : json(nullptr)}};
    if (who.endpoint == Endpoint::kChat) {
        json delta = json::object();
        if (first) delta["role"] = "assistant";
        if (!finish) delta["content"] = text;
        choice["delta"] = delta;
    } else {
        choice["text"] = text;
    }
    json body = envelope(who, true);
    body["choices"] = json::array({choice});
    if (with_usage_field) body["usage"] = nullptr;
    return body;
}

json usage_chunk_json(const ResponseIdentity& who, const BatchUpdate& end) {
    json body = envelope(who, true);
    body["choices"] = json::array();
    body["usage"] = usage_json(end.prompt_tokens, end.completion_tokens);
    return body;
}

json model_json(const std::string& id, int64_t created, const ModelMeta& meta) {
    return {{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "tern"},
            {"meta", {{"n_ctx", meta.n_ctx}, {"n_ctx_train", meta.n_ctx_train}, {"n_vocab", meta.n_vocab}}}};
}

std::string dump_json(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace tern::server
