// An error as the OpenAI API reports it: an HTTP status and
// {"error": {"message", "type", "param", "code"}}.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tern::server {

struct ApiError {
    int status = 400;
    std::string message;
    std::string param = {};                          // "" -> null
    std::string code = {};                           // "" -> null
    std::string type = "invalid_request_error";

    nlohmann::json body() const {
        auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
        return {{"error", {{"message", message}, {"type", type}, {"param", or_null(param)}, {"code", or_null(code)}}}};
    }
};

}  // namespace tern::server
