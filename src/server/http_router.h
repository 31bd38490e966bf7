// The route table of tern serve: which handler answers a method and path, and what every
// response carries (CORS headers, an OpenAI-style JSON body on every error). The front asks
// whether a route is quick (answered on its own thread: /health must not wait behind busy
// workers) or slow (run on a worker: parsing, tokenizing, waiting for a generation).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "server/http_message.h"

namespace tern::server {

using RouteHandler = std::function<void(HttpRequest&, HttpResponse&)>;

enum class RouteCost { kQuick, kSlow };

class HttpRouter {
public:
    // `pattern` is a path, or a prefix ending in "*" that matches any non-empty rest, which
    // the handler finds in request.matches[0].
    void add(std::string method, std::string pattern, RouteHandler handler, RouteCost cost);
    // Headers every response gets unless it sets them itself.
    void set_default_headers(HttpHeaders headers) { default_headers_ = std::move(headers); }
    // Runs after each routed request, before its response is written (metrics count it there).
    void set_after_routing(std::function<void(const HttpRequest&, const HttpResponse&)> hook) {
        after_routing_ = std::move(hook);
    }

    bool is_quick(const HttpRequest& request) const;
    // Answers `request`: its route, OPTIONS for any path (CORS preflight), or 404. A handler
    // that throws gets a 500; an error status without a body gets a JSON one.
    void dispatch(HttpRequest& request, HttpResponse& response) const;
    // A response for a request the front could not read or refused before routing.
    HttpResponse error_response(int status, const std::string& message) const;

private:
    struct Route {
        std::string method;
        std::string pattern;
        RouteHandler handler;
        RouteCost cost = RouteCost::kSlow;
    };
    const Route* find(const HttpRequest& request, std::string* rest) const;
    void add_default_headers(HttpResponse& response) const;

    std::vector<Route> routes_;
    HttpHeaders default_headers_;
    std::function<void(const HttpRequest&, const HttpResponse&)> after_routing_;
};

}  // namespace tern::server
