#include "format/gguf_value.h"

#include <cstdio>
#include <sstream>

#include "core/str_cat.h"

namespace tern::format {

std::string_view gguf_type_name(GgufType type) {
    static constexpr std::string_view kNames[] = {"uint8", "int8",    "uint16", "int16", "uint32",
                                                  "int32", "float32", "bool",   "string", "array",
                                                  "uint64", "int64",  "float64"};
    const auto index = static_cast<uint32_t>(type);
    return index < std::size(kNames) ? kNames[index] : "invalid";
}

size_t gguf_type_size(GgufType type) {
    switch (type) {
        case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
        case GgufType::kUint16: case GgufType::kInt16: return 2;
        case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32: return 4;
        case GgufType::kUint64: case GgufType::kInt64: case GgufType::kFloat64: return 8;
        default: return 0;
    }
}

GgufValue GgufValue::string(std::string v) {
    GgufValue value;
    value.elem_type_ = GgufType::kString;
    value.strings_.push_back(std::move(v));
    return value;
}

GgufValue GgufValue::array_raw(GgufType elem_type, uint64_t count, std::vector<std::byte> raw) {
    GgufValue value;
    value.elem_type_ = elem_type;
    value.is_array_ = true;
    value.count_ = count;
    value.raw_ = std::move(raw);
    return value;
}

GgufValue GgufValue::string_array(std::vector<std::string> values) {
    GgufValue value;
    value.elem_type_ = GgufType::kString;
    value.is_array_ = true;
    value.count_ = values.size();
    value.strings_ = std::move(values);
    return value;
}

std::optional<uint64_t> GgufValue::as_uint() const {
    const auto signed_value = as_int();
    if (signed_value && *signed_value >= 0) return static_cast<uint64_t>(*signed_value);
    if (!is_array_ && elem_type_ == GgufType::kUint64) return element<uint64_t>(0);
    return std::nullopt;
}

std::optional<int64_t> GgufValue::as_int() const {
    if (is_array_) return std::nullopt;
    switch (elem_type_) {
        case GgufType::kUint8: return element<uint8_t>(0);
        case GgufType::kInt8: return element<int8_t>(0);
        case GgufType::kUint16: return element<uint16_t>(0);
        case GgufType::kInt16: return element<int16_t>(0);
        case GgufType::kUint32: return element<uint32_t>(0);
        case GgufType::kInt32: return element<int32_t>(0);
        case GgufType::kInt64: return element<int64_t>(0);
        case GgufType::kUint64: {
            const uint64_t v = element<uint64_t>(0);
            if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
            return static_cast<int64_t>(v);
        }
        default: return std::nullopt;
    }
}

std::optional<double> GgufValue::as_float() const {
    if (is_array_) return std::nullopt;
    if (elem_type_ == GgufType::kFloat32) return element<float>(0);
    if (elem_type_ == GgufType::kFloat64) return element<double>(0);
    return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
    if (is_array_ || elem_type_ != GgufType::kBool) return std::nullopt;
    return element<uint8_t>(0) != 0;
}

const std::string* GgufValue::as_string() const {
    if (is_array_ || elem_type_ != GgufType::kString) return nullptr;
    return &strings_[0];
}

namespace {

std::string format_element(const GgufValue& value, uint64_t i) {
    char buffer[40];
    switch (value.elem_type()) {
        case GgufType::kUint8: return std::to_string(value.element<uint8_t>(i));
        case GgufType::kInt8: return std::to_string(value.element<int8_t>(i));
        case GgufType::kUint16: return std::to_string(value.element<uint16_t>(i));
        case GgufType::kInt16: return std::to_string(value.element<int16_t>(i));
        case GgufType::kUint32: return std::to_string(value.element<uint32_t>(i));
        case GgufType::kInt32: return std::to_string(value.element<int32_t>(i));
        case GgufType::kUint64: return std::to_string(value.element<uint64_t>(i));
        case GgufType::kInt64: return std::to_string(value.element<int64_t>(i));
        case GgufType::kFloat32:
            std::snprintf(buffer, sizeof buffer, "%.9g", value.element<float>(i));
            return buffer;
        case GgufType::kFloat64:
            std::snprintf(buffer, sizeof buffer, "%.17g", value.element<double>(i));
            return buffer;
        case GgufType::kBool: return value.element<uint8_t>(i) ? "true" : "false";
        case GgufType::kString: return quote(value.string_element(i), value.is_array() ? 40 : 96);
        default: return "?";
    }
}

}  // namespace

std::string format_gguf_value(const GgufValue& value, size_t max_elems) {
    if (!value.is_array()) return format_element(value, 0);
    std::string out = str_cat("[", gguf_type_name(value.elem_type()), " x ", value.size(), "]");
    const uint64_t shown = value.size() < max_elems ? value.size() : max_elems;
    for (uint64_t i = 0; i < shown; ++i) out += (i == 0 ? " " : ", ") + format_element(value, i);
    if (shown < value.size()) out += ", ...";
    return out;
}

}  // namespace tern::format
