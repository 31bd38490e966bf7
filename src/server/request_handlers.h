// The routes of tern serve: each turns an HTTP request into a response or an OpenAI-style
// error (api_error.h). Completion requests are parsed (completion_request.h), tokenized with
// the model's chat template, and handed to the batcher (tern/batcher.h); their text comes back
// as one JSON body or as server-sent events. Only the public library is used.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "server/completion_request.h"
#include "server/http_message.h"
#include "server/http_router.h"
#include "server/http_server.h"
#include "tern/batcher.h"
#include "tern/model.h"

namespace tern::server {

class RequestHandlers {
public:
    RequestHandlers(Batcher& batcher, const Model& model, const ServerOptions& options, ServerMetrics* metrics);
    void install(HttpRouter& router);
    // Completion requests whose response is not yet fully written.
    size_t in_flight() const { return in_flight_.load(); }

private:
    bool authorized(const HttpRequest& req, HttpResponse& res) const;
    void completions(const HttpRequest& req, HttpResponse& res, Endpoint endpoint);
    void health(HttpResponse& res) const;
    void models(const HttpRequest& req, HttpResponse& res) const;
    void tokenize(const HttpRequest& req, HttpResponse& res) const;
    void detokenize(const HttpRequest& req, HttpResponse& res) const;
    void metrics(const HttpRequest& req, HttpResponse& res) const;

    struct Prompt;
    Prompt prompt_tokens(const CompletionRequest& request) const;

    Batcher& batcher_;
    const Model& model_;
    const ServerOptions& options_;
    ServerMetrics* metrics_;   // null: GET /metrics is not served
    int64_t created_;   // the model's "created": when the server started
    std::atomic<uint64_t> next_id_{0};   // response ids: unique within this server
    std::atomic<size_t> in_flight_{0};
};

}  // namespace tern::server
