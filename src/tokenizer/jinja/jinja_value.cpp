#include "tokenizer/jinja/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace tern::tokenizer::jinja {
namespace {

// Python's float repr: the shortest digits that round-trip, positional for exponents in
// [-4, 16), else scientific with a two-digit exponent at least.
std::string python_float(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, d, std::chars_format::scientific);
    std::string sci(buffer, result.ptr);
    const bool negative = sci[0] == '-';
    if (negative) sci.erase(0, 1);
    const size_t e = sci.find('e');
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exponent = std::stoi(sci.substr(e + 1));
    // Built by appending: GCC 12 warns (-Wrestrict, wrongly) on chains of string temporaries here.
    std::string out = negative ? "-" : "";
    if (exponent >= -4 && exponent < 16) {
        const auto integer_digits = static_cast<size_t>(exponent + 1);
        if (exponent < 0) {
            out.append("0.");
            out.append(static_cast<size_t>(-exponent - 1), '0');
            out.append(digits);
        } else if (integer_digits >= digits.size()) {
            out.append(digits);
            out.append(integer_digits - digits.size(), '0');
            out.append(".0");
        } else {
            out.append(digits, 0, integer_digits);
            out.push_back('.');
            out.append(digits, integer_digits);
        }
    } else {
        out.push_back(digits[0]);
        if (digits.size() > 1) {
            out.push_back('.');
            out.append(digits, 1);
        }
        char exp[16];
        std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
        out.append(exp);
    }
    return out;
}

std::string python_string_repr(const std::string& s) {
    const bool has_single = s.find('\'') != std::string::npos;
    const char quote = has_single && s.find('"') == std::string::npos ? '"' : '\'';
    std::string out(1, quote);
    for (unsigned char c : s) {
        if (c == '\\' || c == static_cast<unsigned char>(quote)) {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + quote;
}

void json_string(const std::string& s, std::string& out) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\u%04x", c);
                    out += hex;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
}

void json_value(const Value& value, int indent, bool sort_keys, int depth, std::string& out) {
    auto newline = [&](int level) {
        if (indent < 0) return;
        out += '\n';
        out.append(static_cast<size_t>(indent * level), ' ');
    };
    const char* item_separator = indent < 0 ? ", " : ",";
    switch (value.kind) {
        case Value::Kind::kUndefined:
        case Value::Kind::kNone: out += "null"; return;
        case Value::Kind::kBool: out += value.boolean ? "true" : "false"; return;
        case Value::Kind::kInt: out += std::to_string(value.integer); return;
        case Value::Kind::kFloat:
            if (std::isnan(value.number)) out += "NaN";
            else if (std::isinf(value.number)) out += value.number > 0 ? "Infinity" : "-Infinity";
            else out += python_float(value.number);
            return;
        case Value::Kind::kString: json_string(value.string.text, out); return;
        case Value::Kind::kArray: {
            if (value.array->empty()) { out += "[]"; return; }
            out += '[';
            for (size_t i = 0; i < value.array->size(); ++i) {
                if (i > 0) out += item_separator;
                newline(depth + 1);
                json_value((*value.array)[i], indent, sort_keys, depth + 1, out);
            }
            newline(depth);
            out += ']';
            return;
        }
        case Value::Kind::kObject:
        case Value::Kind::kNamespace: {
            if (value.object->empty()) { out += "{}"; return; }
            std::vector<const std::pair<std::string, Value>*> entries;
            for (const auto& entry : *value.object) entries.push_back(&entry);
            if (sort_keys) std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
            out += '{';
            for (size_t i = 0; i < entries.size(); ++i) {
                if (i > 0) out += item_separator;
                newline(depth + 1);
                json_string(entries[i]->first, out);
                out += ": ";
                json_value(entries[i]->second, indent, sort_keys, depth + 1, out);
            }
            newline(depth);
            out += '}';
            return;
        }
        case Value::Kind::kCallable: throw JinjaError{"a function cannot be written as JSON"};
    }
}

}  // namespace

namespace {

uint16_t nesting_of(const Value& item) {
    if (item.kind == Value::Kind::kNamespace) throw JinjaError{"a namespace cannot be put in a list or dict"};
    return item.nesting;
}

uint16_t checked_nesting(uint16_t deepest) {
    if (deepest + 1 > Value::kMaxNesting)
        throw JinjaError{"lists and dicts nested deeper than " + std::to_string(Value::kMaxNesting)};
    return static_cast<uint16_t>(deepest + 1);
}

}  // namespace

Value Value::of(Array a) {
    uint16_t deepest = 0;
    for (const Value& item : a) deepest = std::max(deepest, nesting_of(item));
    Value v = make(Kind::kArray);
    v.nesting = checked_nesting(deepest);
    v.array = std::make_shared<Array>(std::move(a));
    return v;
}

Value Value::of(Object o) {
    uint16_t deepest = 0;
    for (const auto& entry : o) deepest = std::max(deepest, nesting_of(entry.second));
    Value v = make(Kind::kObject);
    v.nesting = checked_nesting(deepest);
    v.object = std::make_shared<Object>(std::move(o));
    return v;
}

Value Value::namespace_of(Object o) {
    Value v = of(std::move(o));
    v.kind = Kind::kNamespace;
    return v;
}

bool contains_untrusted(const Value& value) {
    switch (value.kind) {
        case Value::Kind::kString: return value.string.any_untrusted();
        case Value::Kind::kArray:
            return std::any_of(value.array->begin(), value.array->end(), [](const Value& v) { return contains_untrusted(v); });
        case Value::Kind::kObject:
        case Value::Kind::kNamespace:
            return std::any_of(value.object->begin(), value.object->end(), [](const auto& e) { return contains_untrusted(e.second); });
        default: return false;
    }
}

Text Text::from_message(std::string s) {
    std::string mask(s.size(), '\1');
    return {std::move(s), std::move(mask)};
}

bool Text::any_untrusted() const {
    return std::any_of(untrusted.begin(), untrusted.end(), [](char c) { return c != 0; });
}

void Text::append(const Text& other) {
    if (!other.untrusted.empty() || !untrusted.empty()) {
        if (untrusted.empty()) untrusted.assign(text.size(), '\0');
        if (other.untrusted.empty()) untrusted.append(other.text.size(), '\0');
        else untrusted += other.untrusted;
    }
    text += other.text;
}

Text Text::substr(size_t pos, size_t count) const {
    pos = std::min(pos, text.size());
    Text out{text.substr(pos, count), {}};
    if (!untrusted.empty()) out.untrusted = untrusted.substr(pos, count);
    return out;
}

bool Value::truthy() const {
    switch (kind) {
        case Kind::kUndefined:
        case Kind::kNone: return false;
        case Kind::kBool: return boolean;
        case Kind::kInt: return integer != 0;
        case Kind::kFloat: return number != 0.0;
        case Kind::kString: return !string.text.empty();
        case Kind::kArray: return !array->empty();
        case Kind::kObject: return !object->empty();
        case Kind::kNamespace:
        case Kind::kCallable: return true;
    }
    return false;
}

Value Value::member(std::string_view key) const {
    if (!is_mapping()) return {};
    for (const auto& [name, value] : *object)
        if (name == key) return value;
    return {};
}

void Value::set_member(const std::string& key, Value value) const {
    (void)checked_nesting(nesting_of(value));   // a namespace holds no namespace: no cycles
    for (auto& [name, existing] : *object)
        if (name == key) {
            existing = std::move(value);
            return;
        }
    object->emplace_back(key, std::move(value));
}

bool equal(const Value& a, const Value& b) {
    using K = Value::Kind;
    const bool a_numeric = a.is_number() || a.kind == K::kBool;
    const bool b_numeric = b.is_number() || b.kind == K::kBool;
    if (a_numeric && b_numeric) {
        auto number = [](const Value& v) { return v.kind == K::kBool ? (v.boolean ? 1.0 : 0.0) : v.as_double(); };
        if (a.kind == K::kInt && b.kind == K::kInt) return a.integer == b.integer;
        return number(a) == number(b);
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case K::kUndefined:
        case K::kNone: return true;
        case K::kString: return a.string.text == b.string.text;
        case K::kArray:
            return a.array->size() == b.array->size() &&
                   std::equal(a.array->begin(), a.array->end(), b.array->begin(), [](const Value& x, const Value& y) { return equal(x, y); });
        case K::kObject:
        case K::kNamespace:
            if (a.object->size() != b.object->size()) return false;
            for (const auto& [key, value] : *a.object)
                if (!equal(value, b.member(key))) return false;
            return true;
        case K::kCallable: return a.callable == b.callable;
        default: return false;
    }
}

bool less(const Value& a, const Value& b) {
    if ((a.is_number() || a.kind == Value::Kind::kBool) && (b.is_number() || b.kind == Value::Kind::kBool)) {
        auto number = [](const Value& v) { return v.kind == Value::Kind::kBool ? (v.boolean ? 1.0 : 0.0) : v.as_double(); };
        if (a.kind == Value::Kind::kInt && b.kind == Value::Kind::kInt) return a.integer < b.integer;
        return number(a) < number(b);
    }
    if (a.is_string() && b.is_string()) return a.string.text < b.string.text;
    throw JinjaError{std::string("cannot order ") + std::string(kind_name(a.kind)) + " and " + std::string(kind_name(b.kind))};
}

std::string repr(const Value& value) {
    switch (value.kind) {
        case Value::Kind::kString: return python_string_repr(value.string.text);
        case Value::Kind::kUndefined: return "";
        default: return to_text(value).text;
    }
}

Text to_text(const Value& value) {
    switch (value.kind) {
        case Value::Kind::kUndefined: return {};
        case Value::Kind::kNone: return Text::trusted("None");
        case Value::Kind::kBool: return Text::trusted(value.boolean ? "True" : "False");
        case Value::Kind::kInt: return Text::trusted(std::to_string(value.integer));
        case Value::Kind::kFloat: return Text::trusted(python_float(value.number));
        case Value::Kind::kString: return value.string;
        case Value::Kind::kArray: {
            std::string out = "[";
            for (size_t i = 0; i < value.array->size(); ++i) out += (i ? ", " : "") + repr((*value.array)[i]);
            Text text = Text::trusted(out + "]");
            // Printing a list of messages must not launder them.
            if (contains_untrusted(value)) text.untrusted.assign(text.text.size(), '\1');
            return text;
        }
        case Value::Kind::kObject:
        case Value::Kind::kNamespace: {
            std::string out = value.kind == Value::Kind::kNamespace ? "<Namespace {" : "{";
            bool first = true;
            for (const auto& [key, item] : *value.object) {
                out += (first ? "" : ", ") + python_string_repr(key) + ": " + repr(item);
                first = false;
            }
            Text text = Text::trusted(out + (value.kind == Value::Kind::kNamespace ? "}>" : "}"));
            if (contains_untrusted(value)) text.untrusted.assign(text.text.size(), '\1');
            return text;
        }
        case Value::Kind::kCallable: return Text::trusted("<function " + value.callable->name + ">");
    }
    return {};
}

std::string to_json(const Value& value, int indent, bool sort_keys) {
    std::string out;
    json_value(value, indent, sort_keys, 0, out);
    return out;
}

std::string_view kind_name(Value::Kind kind) {
    switch (kind) {
        case Value::Kind::kUndefined: return "undefined";
        case Value::Kind::kNone: return "none";
        case Value::Kind::kBool: return "boolean";
        case Value::Kind::kInt: return "integer";
        case Value::Kind::kFloat: return "float";
        case Value::Kind::kString: return "string";
        case Value::Kind::kArray: return "list";
        case Value::Kind::kObject: return "dict";
        case Value::Kind::kNamespace: return "namespace";
        case Value::Kind::kCallable: return "function";
    }
    return "value";
}

}  // namespace tern::tokenizer::jinja
