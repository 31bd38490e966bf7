#include "server/completion_request.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "core/str_cat.h"
#include "tokenizer/chat_template.h"

namespace tern::server {
namespace {

using nlohmann::json;

constexpr size_t kMaxStopStrings = 16;

// Thrown inside parsing only and turned into the 400 it carries; never leaves this file.
struct Invalid {
    ApiError error;
};

[[noreturn]] void invalid(std::string param, std::string message) {
    throw Invalid{{.status = 400, .message = std::move(message), .param = std::move(param)}};
}

// The value of `key` unless it is absent or null.
const json* field(const json& body, const char* key) {
    const auto it = body.find(key);
    return it == body.end() || it->is_null() ? nullptr : &*it;
}

double number(const json& body, const char* key, double lo, double hi) {
    const json* v = field(body, key);
    if (!v->is_number()) invalid(key, str_cat("'", key, "' must be a number"));
    const double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) invalid(key, str_cat("'", key, "' must be in [", lo, ", ", hi, "], got ", d));
    return d;
}

int64_t integer(const json& body, const char* key, int64_t lo, int64_t hi) {
    const json* v = field(body, key);
    if (!v->is_number_integer()) invalid(key, str_cat("'", key, "' must be an integer"));
    const int64_t i = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : v->get<int64_t>();
    if (i < lo || i > hi) invalid(key, str_cat("'", key, "' must be in [", lo, ", ", hi, "], got ", i));
    return i;
}

bool boolean(const json& body, const char* key) {
    const json* v = field(body, key);
    if (!v->is_boolean()) invalid(key, str_cat("'", key, "' must be true or false"));
    return v->get<bool>();
}

// A message's content: a string, or an array of {"type": "text", "text": ...} parts.
std::string message_content(const json& content, size_t index) {
    const std::string param = str_cat("messages[", index, "].content");
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) invalid(param, str_cat("'", param, "' must be a string or an array of text parts"));
    std::string text;
    for (const json& part : content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
            invalid(param, str_cat("'", param, "' may only hold parts {\"type\": \"text\", \"text\": string}"));
        text += part["text"].get<std::string>();
    }
    return text;
}

std::vector<ChatMessage> parse_messages(const json& body) {
    const json* messages = field(body, "messages");
    if (messages == nullptr) invalid("messages", "'messages' is required");
    if (!messages->is_array() || messages->empty()) invalid("messages", "'messages' must be a non-empty array");
    std::vector<ChatMessage> out;
    for (size_t i = 0; i < messages->size(); ++i) {
        const json& m = (*messages)[i];
        const std::string param = str_cat("messages[", i, "]");
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            invalid(param, str_cat("'", param, "' must be an object with a string 'role'"));
        const std::string role = m["role"].get<std::string>();
        if (!tokenizer::chat_role_from_name(role))
            invalid(param + ".role", str_cat("role '", role, "' is not supported (", tokenizer::kChatRoleNames, ")"));
        const json* content = field(m, "content");
        out.push_back({role, content == nullptr ? std::string() : message_content(*content, i)});
    }
    return out;
}

std::vector<int32_t> token_ids(const json& array) {
    std::vector<int32_t> ids;
    for (const json& v : array) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
            invalid("prompt", "token ids in 'prompt' must be non-negative integers");
        ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    return ids;
}

// A string, [string], token ids, or [[token ids]]: one prompt (n = 1).
void parse_prompt(const json& body, CompletionRequest& request) {
    const json* prompt = field(body, "prompt");
    if (prompt == nullptr) invalid("prompt", "'prompt' is required");
    const json* p = prompt;
    if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) p = &(*p)[0];
    if (p->is_string()) {
        request.prompt = p->get<std::string>();
    } else if (p->is_array() && !p->empty() && (*p)[0].is_number()) {
        request.prompt_ids = token_ids(*p);
    } else {
        invalid("prompt", "'prompt' must be a string, an array of token ids, or an array holding one of these");
    }
}

void parse_stop(const json& body, CompletionRequest& request) {
    const json* stop = field(body, "stop");
    if (stop == nullptr) return;
    if (stop->is_string()) {
        request.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array() && stop->size() <= kMaxStopStrings) {
        for (const json& s : *stop) {
            if (!s.is_string()) invalid("stop", "'stop' must be a string or an array of strings");
            request.stop.push_back(s.get<std::string>());
        }
    } else {
        invalid("stop", str_cat("'stop' must be a string or an array of at most ", kMaxStopStrings, " strings"));
    }
    for (const std::string& s : request.stop)
        if (s.empty()) invalid("stop", "stop strings must not be empty");
}

void parse_logit_bias(const json& body, SamplingOptions& sampler) {
    const json* bias = field(body, "logit_bias");
    if (bias == nullptr) return;
    if (!bias->is_object()) invalid("logit_bias", "'logit_bias' must be an object mapping token ids to numbers");
    for (const auto& [key, value] : bias->items()) {
        size_t used = 0;
        long long id = -1;
        try {
            id = std::stoll(key, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != key.size() || id < 0 || id > INT32_MAX || !value.is_number())
            invalid("logit_bias", str_cat("'logit_bias' entry '", key, "' must map a token id to a number"));
        const double b = value.get<double>();
        if (!(b >= -100 && b <= 100)) invalid("logit_bias", "'logit_bias' values must be in [-100, 100]");
        // OpenAI: -100 bans the token, +100 forces it.
        sampler.logit_bias[static_cast<int32_t>(id)] =
            b <= -100 ? -std::numeric_limits<float>::infinity() : static_cast<float>(b);
    }
}

void refuse_unsupported(const json& body) {
    if (const json* n = field(body, "n"); n != nullptr && !(n->is_number_integer() && n->get<int64_t>() == 1))
        invalid("n", "only n = 1 is supported");
    if (const json* lp = field(body, "logprobs"); lp != nullptr && !(lp->is_boolean() && !lp->get<bool>()))
        invalid("logprobs", "logprobs are not supported");
    if (const json* tools = field(body, "tools"); tools != nullptr && !(tools->is_array() && tools->empty()))
        invalid("tools", "tools are not supported");
    if (const json* format = field(body, "response_format"); format != nullptr) {
        if (!format->is_object() || format->value("type", "") != "text")
            invalid("response_format", "only response_format {\"type\": \"text\"} is supported");
    }
}

void parse_sampling(const json& body, CompletionRequest& request) {
    SamplingOptions& s = request.sampler;
    if (field(body, "temperature")) s.temperature = static_cast<float>(number(body, "temperature", 0, 2));
    if (field(body, "top_p")) s.top_p = static_cast<float>(number(body, "top_p", 0, 1));
    if (field(body, "top_k")) s.top_k = static_cast<int>(integer(body, "top_k", 0, INT32_MAX));
    if (field(body, "min_p")) s.min_p = static_cast<float>(number(body, "min_p", 0, 1));
    if (field(body, "presence_penalty")) s.presence_penalty = static_cast<float>(number(body, "presence_penalty", -2, 2));
    if (field(body, "frequency_penalty"))
        s.frequency_penalty = static_cast<float>(number(body, "frequency_penalty", -2, 2));
    if (field(body, "seed")) {
        s.seed = static_cast<uint64_t>(integer(body, "seed", INT64_MIN, INT64_MAX));
        request.seeded = true;
    }
    parse_logit_bias(body, s);
}

CompletionRequest parse(const json& body, Endpoint endpoint) {
    if (!body.is_object()) invalid("", "the request body must be a JSON object");
    CompletionRequest request;
    request.endpoint = endpoint;
    if (const json* model = field(body, "model")) {
        if (!model->is_string()) invalid("model", "'model' must be a string");
        request.model = model->get<std::string>();
    }
    refuse_unsupported(body);
    if (endpoint == Endpoint::kChat)
        request.messages = parse_messages(body);
    else
        parse_prompt(body, request);
    for (const char* key : {"max_tokens", "max_completion_tokens"})
        if (field(body, key)) request.max_tokens = static_cast<size_t>(integer(body, key, 1, INT32_MAX));
    parse_sampling(body, request);
    parse_stop(body, request);
    if (field(body, "stream")) request.stream = boolean(body, "stream");
    if (field(body, "ignore_eos")) request.ignore_eos = boolean(body, "ignore_eos");
    if (const json* options = field(body, "stream_options")) {
        if (!options->is_object()) invalid("stream_options", "'stream_options' must be an object");
        if (field(*options, "include_usage")) request.include_usage = boolean(*options, "include_usage");
    }
    return request;
}

}  // namespace

ParsedRequest parse_completion_request(std::string_view body, Endpoint endpoint) {
    const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return ApiError{.status = 400, .message = "the request body is not valid JSON"};
    try {
        return parse(parsed, endpoint);
    } catch (const Invalid& e) {
        return e.error;
    }
}

}  // namespace tern::server
