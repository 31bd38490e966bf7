#include "server/http_router.h"

#include <exception>

#include "core/str_cat.h"
#include "server/api_error.h"
#include "server/openai_json.h"

namespace tern::server {

namespace {

void set_error(HttpResponse& response, int status, const std::string& message) {
    const ApiError error{.status = status, .message = message,
                         .type = status >= 500 ? "server_error" : "invalid_request_error"};
    response.status = status;
    response.stream = nullptr;
    response.set_content(dump_json(error.body()), "application/json");
}

}  // namespace

void HttpRouter::add(std::string method, std::string pattern, RouteHandler handler, RouteCost cost) {
    routes_.push_back({std::move(method), std::move(pattern), std::move(handler), cost});
}

const HttpRouter::Route* HttpRouter::find(const HttpRequest& request, std::string* rest) const {
    for (const Route& route : routes_) {
        // HEAD is GET without the body (the front leaves it out).
        if (route.method != request.method && !(request.method == "HEAD" && route.method == "GET")) continue;
        if (route.pattern.ends_with('*')) {
            const std::string_view prefix = std::string_view(route.pattern).substr(0, route.pattern.size() - 1);
            if (request.path.size() > prefix.size() && request.path.starts_with(prefix)) {
                if (rest != nullptr) *rest = request.path.substr(prefix.size());
                return &route;
            }
        } else if (route.pattern == request.path) {
            return &route;
        }
    }
    return nullptr;
}

bool HttpRouter::is_quick(const HttpRequest& request) const {
    const Route* route = find(request, nullptr);
    return route == nullptr || route->cost == RouteCost::kQuick;
}

void HttpRouter::dispatch(HttpRequest& request, HttpResponse& response) const {
    std::string rest;
    if (const Route* route = find(request, &rest)) {
        if (route->pattern.ends_with('*')) request.matches = {rest};
        try {
            route->handler(request, response);
        } catch (const std::exception&) {
            set_error(response, 500, "internal server error");
        }
    } else if (request.method == "OPTIONS") {
        response.status = 204;
        response.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        response.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
    } else {
        set_error(response, 404, str_cat("no route for ", request.method, " ", request.path));
    }
    if (response.status >= 400 && response.body.empty() && !response.stream)
        set_error(response, response.status, str_cat("HTTP ", response.status));
    add_default_headers(response);
    if (after_routing_) after_routing_(request, response);
}

HttpResponse HttpRouter::error_response(int status, const std::string& message) const {
    HttpResponse response;
    set_error(response, status, message);
    add_default_headers(response);
    return response;
}

void HttpRouter::add_default_headers(HttpResponse& response) const {
    for (const auto& [name, value] : default_headers_)
        if (find_header(response.headers, name).empty()) response.headers.emplace_back(name, value);
}

}  // namespace tern::server
