#include "server/request_handlers.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <random>

#include "core/str_cat.h"
#include "server/openai_json.h"
#include "server/server_metrics.h"
#include "server/web_ui.h"

namespace tern::server {
namespace {

using nlohmann::json;

// How often a stream with nothing new (a long prompt being evaluated) sends an SSE comment,
// so that proxies and clients see the connection alive.
constexpr std::chrono::milliseconds kKeepAlive{1000};
// How often a waiting request looks whether the server is stopping (a client that leaves
// cancels its generation at once, through ClientPresence).
constexpr std::chrono::milliseconds kStopWatchInterval{20};
// nginx's "client closed request": never sent, but counted in /metrics for a request whose
// client left before its answer.
constexpr int kClientClosedRequest = 499;

void send_json(HttpResponse& res, int status, const json& body) {
    res.status = status;
    res.set_content(dump_json(body), "application/json");
}

void send_error(HttpResponse& res, const ApiError& error) { send_json(res, error.status, error.body()); }

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

// Streams one request's text as server-sent events until the end, an error, or the client
// leaving (which cancels the generation).
struct EventStream {
    std::shared_ptr<BatchStream> channel;
    std::shared_ptr<ClientPresence> client;
    ResponseIdentity who;
    bool include_usage = false;
    std::shared_ptr<InFlight> counted;

    static std::string data(const json& body) { return "data: " + dump_json(body) + "\n\n"; }

    void run(ResponseSink& sink) const {
        if (!write_all(sink)) channel->cancel();
    }

    // False when the client went away before the end.
    bool write_all(ResponseSink& sink) const {
        bool first = true;
        for (;;) {
            if (client->gone()) return false;
            const std::optional<BatchUpdate> update = channel->next(kKeepAlive);
            if (!update) {
                if (!sink.write(": keep-alive\n\n")) return false;
                continue;
            }
            if (!update->error.empty())
                return sink.write(data(ApiError{.status = 503, .message = update->error, .type = "server_error"}.body()));
            if (!update->text.empty() || (first && who.endpoint == Endpoint::kChat)) {
                if (!sink.write(data(chunk_json(who, update->text, first, nullptr, include_usage)))) return false;
                first = false;
            }
            if (!update->finished) continue;
            std::string tail = data(chunk_json(who, "", first, &update->finish, include_usage));
            if (include_usage) tail += data(usage_chunk_json(who, *update));
            tail += "data: [DONE]\n\n";
            return sink.write(tail);
        }
    }
};

}  // namespace

struct RequestHandlers::Prompt {
    std::vector<int32_t> tokens;
    std::optional<ApiError> error;
};

RequestHandlers::RequestHandlers(Batcher& batcher, const Model& model, const ServerOptions& options,
                                 ServerMetrics* metrics)
    : batcher_(batcher), model_(model), options_(options), metrics_(metrics),
      created_(unix_seconds()) {}

void RequestHandlers::install(HttpRouter& router) {
    router.set_default_headers({{"Access-Control-Allow-Origin", "*"}});
    const auto quick = RouteCost::kQuick, slow = RouteCost::kSlow;
    router.add("GET", "/health", [this](HttpRequest&, HttpResponse& res) { health(res); }, quick);
    router.add("GET", "/v1/models", [this](HttpRequest& req, HttpResponse& res) { models(req, res); }, quick);
    router.add("GET", "/v1/models/*", [this](HttpRequest& req, HttpResponse& res) { models(req, res); }, quick);
    router.add("POST", "/v1/chat/completions",
               [this](HttpRequest& req, HttpResponse& res) { completions(req, res, Endpoint::kChat); }, slow);
    router.add("POST", "/v1/completions",
               [this](HttpRequest& req, HttpResponse& res) { completions(req, res, Endpoint::kCompletion); }, slow);
    router.add("POST", "/tokenize", [this](HttpRequest& req, HttpResponse& res) { tokenize(req, res); }, slow);
    router.add("POST", "/detokenize", [this](HttpRequest& req, HttpResponse& res) { detokenize(req, res); }, slow);
    if (options_.web_ui) install_web_ui(router);
    if (metrics_ != nullptr) {
        router.add("GET", "/metrics", [this](HttpRequest& req, HttpResponse& res) { metrics(req, res); }, quick);
        // Counted before the response is written, so a client that reads /metrics right after
        // an answer finds that answer counted.
        router.set_after_routing(
            [this](const HttpRequest& req, const HttpResponse& res) { metrics_->count_request(req.path, res.status); });
    }
}

bool RequestHandlers::authorized(const HttpRequest& req, HttpResponse& res) const {
    if (options_.api_keys.empty()) return true;
    const std::string header(req.header("Authorization"));
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

void RequestHandlers::health(HttpResponse& res) const {
    const BatcherLoad load = batcher_.load();
    send_json(res, 200, {{"status", "ok"}, {"slots_idle", load.slots - load.active},
                         {"slots_processing", load.active}, {"requests_queued", load.queued}});
}

void RequestHandlers::models(const HttpRequest& req, HttpResponse& res) const {
    if (!authorized(req, res)) return;
    const ModelMeta meta{.n_ctx = batcher_.context(), .n_ctx_train = options_.n_ctx_train,
                         .n_vocab = model_.info().n_vocab};
    if (!req.matches.empty()) {
        const std::string& id = req.matches[0];
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
        Result<std::vector<int32_t>> rendered = model_.chat_prompt(request.messages);
        if (!rendered.ok()) {
            prompt.error = ApiError{.status = 400, .message = rendered.error().message(), .param = "messages"};
            return prompt;
        }
        prompt.tokens = std::move(rendered).value();
    } else if (request.prompt_ids) {
        prompt.tokens = *request.prompt_ids;
        for (int32_t id : prompt.tokens)
            if (static_cast<size_t>(id) >= model_.info().n_vocab)
                prompt.error = ApiError{.status = 400, .message = str_cat("token id ", id, " is outside the vocabulary of ",
                                                                          model_.info().n_vocab), .param = "prompt"};
    } else {
        prompt.tokens = model_.tokenize(request.prompt, /*add_special=*/true, /*parse_special=*/true).value();
    }
    const size_t n_ctx = batcher_.context();
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

void RequestHandlers::completions(const HttpRequest& req, HttpResponse& res, Endpoint endpoint) {
    if (!authorized(req, res)) return;
    ParsedRequest parsed = parse_completion_request(req.body, endpoint);
    if (const ApiError* error = std::get_if<ApiError>(&parsed)) return send_error(res, *error);
    CompletionRequest& request = std::get<CompletionRequest>(parsed);
    Prompt prompt = prompt_tokens(request);
    if (prompt.error) return send_error(res, *prompt.error);
    if (!request.seeded) request.sampler.seed = std::random_device{}() * uint64_t{0x100000001} ^ unix_seconds();
    Result<std::shared_ptr<BatchStream>> submitted = batcher_.submit(
        {.prompt = std::move(prompt.tokens), .max_tokens = request.max_tokens.value_or(0), .sampling = request.sampler,
         .stop = request.stop, .ignore_eos = request.ignore_eos});
    if (!submitted.ok())   // the prompt was checked above: a bug if it comes to this
        return send_error(res, {.status = 500, .message = submitted.error().message(), .type = "server_error"});
    std::shared_ptr<BatchStream> channel = std::move(submitted).value();
    if (!channel) {
        const BatcherLoad load = batcher_.load();
        if (load.draining)
            return send_error(res, {.status = 503, .message = "the server is shutting down", .type = "server_error"});
        res.set_header("Retry-After", "1");
        return send_error(res, {.status = 503, .message = str_cat("all ", load.slots, " slots are busy and ",
                                                                  load.queued, " requests are waiting; try again later"),
                                .code = "server_busy", .type = "server_error"});
    }
    const std::string id = str_cat(endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-", "tern", created_, "x",
                                   next_id_.fetch_add(1));
    const ResponseIdentity who{.endpoint = endpoint, .id = id, .created = unix_seconds(),
                               .model = request.model.empty() ? options_.model_name : request.model};
    // A client that leaves stops its generation at once, freeing the slot within a step.
    req.client->on_gone([channel] { channel->cancel(); });
    if (!request.stream) {
        const InFlight counted(in_flight_);
        std::optional<BatchUpdate> finished;
        while (!(finished = channel->wait_all_for(kStopWatchInterval))) {
            if (req.client->gone()) {
                channel->cancel();
                res.status = kClientClosedRequest;
                return;
            }
        }
        const BatchUpdate& end = *finished;
        if (!end.error.empty())
            return send_error(res, {.status = 503, .message = end.error, .type = "server_error"});
        return send_json(res, 200, completion_json(who, end.text, end));
    }
    auto stream = std::make_shared<EventStream>(EventStream{.channel = channel, .client = req.client, .who = who,
                                                            .include_usage = request.include_usage,
                                                            .counted = std::make_shared<InFlight>(in_flight_)});
    res.set_header("Content-Type", "text/event-stream");
    res.set_header("Cache-Control", "no-cache");
    res.stream = [stream](ResponseSink& sink) { stream->run(sink); };
}

void RequestHandlers::metrics(const HttpRequest& req, HttpResponse& res) const {
    if (!authorized(req, res)) return;
    const BatcherLoad load = batcher_.load();
    const ServingGauges gauges{.slots_total = load.slots, .slots_busy = load.active, .requests_queued = load.queued,
                               .kv_cells_used = load.kv_cells_used, .kv_cells_total = load.slots * batcher_.context()};
    res.set_content(metrics_->prometheus_text(gauges), "text/plain; version=0.0.4; charset=utf-8");
}

void RequestHandlers::tokenize(const HttpRequest& req, HttpResponse& res) const {
    if (!authorized(req, res)) return;
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("content") || !body["content"].is_string())
        return send_error(res, {.status = 400, .message = "expected {\"content\": string}", .param = "content"});
    const json add_special = body.value("add_special", json(false));
    if (!add_special.is_boolean())
        return send_error(res, {.status = 400, .message = "'add_special' must be true or false", .param = "add_special"});
    const std::vector<int32_t> ids =
        model_.tokenize(body["content"].get<std::string>(), add_special.get<bool>(), /*parse_special=*/true).value();
    send_json(res, 200, {{"tokens", ids}});
}

void RequestHandlers::detokenize(const HttpRequest& req, HttpResponse& res) const {
    if (!authorized(req, res)) return;
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("tokens") || !body["tokens"].is_array())
        return send_error(res, {.status = 400, .message = "expected {\"tokens\": [token ids]}", .param = "tokens"});
    std::vector<int32_t> ids;
    for (const json& v : body["tokens"]) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
            v.get<int64_t>() >= static_cast<int64_t>(model_.info().n_vocab))
            return send_error(res, {.status = 400,
                                    .message = str_cat("'tokens' must hold ids in [0, ", model_.info().n_vocab, ")"),
                                    .param = "tokens"});
        ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    send_json(res, 200, {{"content", model_.detokenize(ids).value()}});
}

}  // namespace tern::server
