#include "format/json_util.h"

#include <set>
#include <stdexcept>
#include <vector>

#include "core/str_cat.h"

namespace tern::format {
namespace {

struct StrictJsonViolation : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace

Result<nlohmann::json> parse_json_strict(std::string_view text, std::string_view source, int max_depth) {
    std::vector<std::set<std::string>> keys_per_object;
    const auto check = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using Event = nlohmann::json::parse_event_t;
        if (event == Event::object_start || event == Event::array_start) {
            if (depth >= max_depth) throw StrictJsonViolation(str_cat("nesting deeper than ", max_depth, " levels"));
        }
        if (event == Event::object_start) keys_per_object.emplace_back();
        if (event == Event::object_end && !keys_per_object.empty()) keys_per_object.pop_back();
        if (event == Event::key && !keys_per_object.empty()) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!keys_per_object.back().insert(key).second) throw StrictJsonViolation(str_cat("duplicate key ", quote(key)));
        }
        return true;
    };
    try {
        return nlohmann::json::parse(text.begin(), text.end(), check);
    } catch (const StrictJsonViolation& violation) {
        return Error(str_cat(source, ": invalid JSON: ", violation.what()));
    } catch (const nlohmann::json::exception& failure) {
        // nlohmann's messages name the byte position; keep only the first line.
        std::string message = failure.what();
        message = message.substr(0, message.find('\n'));
        return Error(str_cat(source, ": invalid JSON: ", message));
    }
}

std::string_view json_kind(const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::null: return "null";
        case nlohmann::json::value_t::object: return "an object";
        case nlohmann::json::value_t::array: return "an array";
        case nlohmann::json::value_t::string: return "a string";
        case nlohmann::json::value_t::boolean: return "a boolean";
        case nlohmann::json::value_t::number_integer: return "a negative integer";
        case nlohmann::json::value_t::number_unsigned: return "an integer";
        case nlohmann::json::value_t::number_float: return "a number";
        default: return "a binary value";
    }
}

std::string json_preview(const nlohmann::json& value, size_t max_bytes) {
    const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return text.size() <= max_bytes ? text : text.substr(0, max_bytes) + "...";
}

}  // namespace tern::format
