#include "server/request_handlers.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <random>

#include "core/str_cat.h"
#include "server/client_socket.h"
#include "server/openai_json.h"
#include "server/web_ui.h"

namespace tern::server {
namespace {

using nlohmann::json;

// How often a stream with nothing new (a long prompt being evaluated) sends an SSE comment,
// which is also how a client that went away is noticed.
constexpr std::chrono::milliseconds kKeepAlive{1000};
// How often a non-streaming request checks that its client is still there.
constexpr std::chrono::milliseconds kClientWatchInterval{20};

void send_json(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(dump_json(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) { send_json(res, error.status, error.body()); }

int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Constant time in the key's length, so a wrong key's timing says nothing about the right one.
bool same_secret(const std::string& given, const std::string& expected) {
    unsigned diff = given.size() == expected.size() ? 0u : 1u;
    for (size_t i = 0; i < expected.size(); ++i) diff |= static_cast<unsigned char>(i < given.size() ? given[i] : 0) ^
                                                         static_cast<unsigned char>(expected[i]);
    return diff == 0;
}

// Counts a completion request from the moment it has a channel until its response is written.
class InFlight {
public:
    explicit InFlight(std::atomic<size_t>& count) : count_(count) { ++count_; }
    ~InFlight() { --count_; }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

private:
    std::atomic<size_t>& count_;
};

// Streams one request's text as server-sent events; shared by the content provider and its
// releaser, which cancels the generation when the client went away before the end.
struct EventStream {
    std::shared_ptr<GenerationChannel> channel;
    ResponseIdentity who;
    bool include_usage = false;
    std::shared_ptr<InFlight> counted;
    bool first = true;
    bool done = false;

    static bool write(httplib::DataSink& sink, const std::string& event) { return sink.write(event.data(), event.size()); }
    static std::string data(const json& body) { return "data: " + dump_json(body) + "\n\n"; }

    bool pump(httplib::DataSink& sink) {
        const std::optional<GenerationUpdate> update = channel->next(kKeepAlive);
        if (!update) return write(sink, ": keep-alive\n\n");
        if (!update->error.empty()) {
            done = true;
            write(sink, data(ApiError{.status = 503, .message = update->error, .type = "server_error"}.body()));
            sink.done();
            return true;
        }
        if (!update->text.empty() || (first && who.endpoint == Endpoint::kChat)) {
            if (!write(sink, data(chunk_json(who, update->text, first, nullptr, include_usage)))) return false;
            first = false;
        }
        if (!update->finished) return true;
        done = true;
        std::string tail = data(chunk_json(who, "", first, &update->reason, include_usage));
        if (include_usage) tail += data(usage_chunk_json(who, *update));
        tail += "data: [DONE]\n\n";
        if (!write(sink, tail)) return false;
        sink.done();
        return true;
    }
};

}  // namespace

struct RequestHandlers::Prompt {
    std::vector<int32_t> tokens;
    std::optional<ApiError> error;
};

RequestHandlers::RequestHandlers(BatchScheduler& scheduler, const tokenizer::Tokenizer& tokenizer,
                                 tokenizer::ChatTemplate chat_template, const ServerOptions& options,
                                 ServerMetrics* metrics)
    : scheduler_(scheduler), tokenizer_(tokenizer), chat_template_(chat_template), options_(options), metrics_(metrics),
      created_(unix_seconds()) {}

void RequestHandlers::install(httplib::Server& http) {
    using httplib::Request, httplib::Response;
    http.set_default_headers({{"Access-Control-Allow-Origin", "*"}});
    http.Options(".*", [](const Request&, Response& res) {
        res.status = 204;
        res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
    });
    http.Get("/health", [this](const Request&, Response& res) { health(res); });
    http.Get("/v1/models", [this](const Request& req, Response& res) { models(req, res); });
    http.Get("/v1/models/(.+)", [this](const Request& req, Response& res) { models(req, res); });
    http.Post("/v1/chat/completions",
              [this](const Request& req, Response& res) { completions(req, res, Endpoint::kChat); });
    http.Post("/v1/completions",
              [this](const Request& req, Response& res) { completions(req, res, Endpoint::kCompletion); });
    http.Post("/tokenize", [this](const Request& req, Response& res) { tokenize(req, res); });
    http.Post("/detokenize", [this](const Request& req, Response& res) { detokenize(req, res); });
    if (options_.web_ui) install_web_ui(http);
    if (metrics_ != nullptr) {
        http.Get("/metrics", [this](const Request& req, Response& res) { metrics(req, res); });
        // Counted before the response is written (the logger runs after), so a client that reads
        // /metrics right after an answer finds that answer counted.
        http.set_post_routing_handler(
            [this](const Request& req, Response& res) { metrics_->count_request(req.path, res.status); });
    }
    // Statuses cpp-httplib sets itself (no route, body too large, unreadable request) get a
    // JSON body too; responses that already have one keep it.
    http.set_error_handler(httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message = str_cat("HTTP ", res.status);
        if (res.status == 404) message = str_cat("no route for ", req.method, " ", req.path);
        if (res.status == 413) message = "the request body is larger than the server accepts";
        if (res.status == 400) message = "the request could not be read (malformed HTTP, or the client stalled)";
        send_error(res, {.status = res.status, .message = message});
        return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
        send_error(res, {.status = 500, .message = "internal server error", .type = "server_error"});
    });
}

bool RequestHandlers::authorized(const httplib::Request& req, httplib::Response& res) const {
    if (options_.api_keys.empty()) return true;
    const std::string header = req.get_header_value("Authorization");
    const std::string_view bearer = "Bearer ";
    if (header.starts_with(bearer)) {
        // Every key is compared, so the time taken does not tell which one nearly matched.
        bool match = false;
        for (const std::string& key : options_.api_keys) match |= same_secret(header.substr(bearer.size()), key);
        if (match) return true;
    }
    send_error(res, {.status = 401, .message = "invalid or missing API key (Authorization: Bearer KEY)",
                     .code = "invalid_api_key"});
    return false;
}

void RequestHandlers::health(httplib::Response& res) const {
    const SchedulerLoad load = scheduler_.load();
    send_json(res, 200, {{"status", "ok"}, {"slots_idle", load.n_slots - load.active},
                         {"slots_processing", load.active}, {"requests_queued", load.queued}});
}

void RequestHandlers::models(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    const ModelMeta meta{.n_ctx = scheduler_.n_ctx(), .n_ctx_train = options_.n_ctx_train,
                         .n_vocab = tokenizer_.vocab().size()};
    if (req.matches.size() > 1) {
        const std::string id = req.matches[1];
        if (id != options_.model_name)
            return send_error(res, {.status = 404, .message = str_cat("the model '", id, "' does not exist"),
                                    .param = "model", .code = "model_not_found"});
        return send_json(res, 200, model_json(id, created_, meta));
    }
    send_json(res, 200, {{"object", "list"}, {"data", json::array({model_json(options_.model_name, created_, meta)})}});
}

RequestHandlers::Prompt RequestHandlers::prompt_tokens(const CompletionRequest& request) const {
    Prompt prompt;
    if (request.endpoint == Endpoint::kChat) {
        Result<std::vector<tokenizer::ChatSegment>> segments = chat_template_.conversation(request.messages);
        if (!segments.ok()) {
            prompt.error = ApiError{.status = 400, .message = segments.error().message(), .param = "messages"};
            return prompt;
        }
        prompt.tokens = tokenizer::encode_segments(tokenizer_, segments.value(), tokenizer_.vocab().add_bos);
    } else if (request.prompt_ids) {
        prompt.tokens = *request.prompt_ids;
        for (int32_t id : prompt.tokens)
            if (static_cast<size_t>(id) >= tokenizer_.vocab().size())
                prompt.error = ApiError{.status = 400, .message = str_cat("token id ", id, " is outside the vocabulary of ",
                                                                          tokenizer_.vocab().size()), .param = "prompt"};
    } else {
        prompt.tokens = tokenizer_.encode(request.prompt, /*add_special=*/true, /*parse_special=*/true);
    }
    const size_t n_ctx = scheduler_.n_ctx();
    if (!prompt.error && prompt.tokens.empty())
        prompt.error = ApiError{.status = 400, .message = "the prompt is empty",
                                .param = request.endpoint == Endpoint::kChat ? "messages" : "prompt"};
    if (!prompt.error && prompt.tokens.size() >= n_ctx)
        prompt.error = ApiError{.status = 400,
                                .message = str_cat("the prompt is ", prompt.tokens.size(), " tokens; this server's context ",
                                                   "holds ", n_ctx, " per request, including the reply"),
                                .param = request.endpoint == Endpoint::kChat ? "messages" : "prompt",
                                .code = "context_length_exceeded"};
    return prompt;
}

void RequestHandlers::completions(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
    if (!authorized(req, res)) return;
    ParsedRequest parsed = parse_completion_request(req.body, endpoint);
    if (const ApiError* error = std::get_if<ApiError>(&parsed)) return send_error(res, *error);
    CompletionRequest& request = std::get<CompletionRequest>(parsed);
    Prompt prompt = prompt_tokens(request);
    if (prompt.error) return send_error(res, *prompt.error);
    if (!request.seeded) request.sampler.seed = std::random_device{}() * uint64_t{0x100000001} ^ unix_seconds();
    std::shared_ptr<GenerationChannel> channel = scheduler_.submit(
        {.prompt = std::move(prompt.tokens), .max_tokens = request.max_tokens.value_or(0), .sampler = request.sampler,
         .stop = request.stop, .ignore_eos = request.ignore_eos});
    if (!channel) {
        const SchedulerLoad load = scheduler_.load();
        if (load.draining)
            return send_error(res, {.status = 503, .message = "the server is shutting down", .type = "server_error"});
        res.set_header("Retry-After", "1");
        return send_error(res, {.status = 503, .message = str_cat("all ", load.n_slots, " slots are busy and ",
                                                                  load.queued, " requests are waiting; try again later"),
                                .code = "server_busy", .type = "server_error"});
    }
    const std::string id = str_cat(endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-", "tern", created_, "x",
                                   next_id_.fetch_add(1));
    const ResponseIdentity who{.endpoint = endpoint, .id = id, .created = unix_seconds(),
                               .model = request.model.empty() ? options_.model_name : request.model};
    if (!request.stream) {
        const InFlight counted(in_flight_);
        // Nothing is written until the end, so a client that leaves is noticed by watching its
        // socket: the request is cancelled and its slot freed within a step or two.
        const std::optional<int> client = find_client_socket(req.remote_addr, req.remote_port, req.local_port);
        std::optional<GenerationUpdate> finished;
        while (!(finished = channel->wait_all_for(kClientWatchInterval))) {
            if (client && peer_hung_up(*client)) {
                channel->cancel();
                return;
            }
        }
        const GenerationUpdate& end = *finished;
        if (!end.error.empty())
            return send_error(res, {.status = 503, .message = end.error, .type = "server_error"});
        return send_json(res, 200, completion_json(who, end.text, end));
    }
    auto stream = std::make_shared<EventStream>(EventStream{.channel = channel, .who = who,
                                                            .include_usage = request.include_usage,
                                                            .counted = std::make_shared<InFlight>(in_flight_)});
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [stream](size_t, httplib::DataSink& sink) { return stream->pump(sink); },
        [stream](bool) {
            if (!stream->done) stream->channel->cancel();
            stream->counted.reset();
        });
}

void RequestHandlers::metrics(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    const SchedulerLoad load = scheduler_.load();
    const ServingGauges gauges{.slots_total = load.n_slots, .slots_busy = load.active, .requests_queued = load.queued,
                               .kv_cells_used = scheduler_.kv_cells_used(), .kv_cells_total = load.n_slots * scheduler_.n_ctx()};
    res.set_content(metrics_->prometheus_text(gauges), "text/plain; version=0.0.4; charset=utf-8");
}

void RequestHandlers::tokenize(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("content") || !body["content"].is_string())
        return send_error(res, {.status = 400, .message = "expected {\"content\": string}", .param = "content"});
    const json add_special = body.value("add_special", json(false));
    if (!add_special.is_boolean())
        return send_error(res, {.status = 400, .message = "'add_special' must be true or false", .param = "add_special"});
    const std::vector<int32_t> ids =
        tokenizer_.encode(body["content"].get<std::string>(), add_special.get<bool>(), /*parse_special=*/true);
    send_json(res, 200, {{"tokens", ids}});
}

void RequestHandlers::detokenize(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("tokens") || !body["tokens"].is_array())
        return send_error(res, {.status = 400, .message = "expected {\"tokens\": [token ids]}", .param = "tokens"});
    std::vector<int32_t> ids;
    for (const json& v : body["tokens"]) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
            v.get<int64_t>() >= static_cast<int64_t>(tokenizer_.vocab().size()))
            return send_error(res, {.status = 400,
                                    .message = str_cat("'tokens' must hold ids in [0, ", tokenizer_.vocab().size(), ")"),
                                    .param = "tokens"});
        ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    send_json(res, 200, {{"content", tokenizer_.decode(ids)}});
}

}  // namespace tern::server
