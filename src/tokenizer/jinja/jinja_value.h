// Values of tern's Jinja subset (chat templates): Python's types as Jinja sees them. Strings
// carry, byte by byte, whether they came from a message (untrusted) or from the template, so
// the tokenizer can parse special-token texts in the template's text only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::tokenizer::jinja {

// A string and which of its bytes are untrusted: `untrusted` is empty when every byte is
// trusted, else as long as `text` with 1 for each untrusted byte.
struct Text {
    std::string text;
    std::string untrusted;

    static Text trusted(std::string s) { return {std::move(s), {}}; }
    static Text from_message(std::string s);
    bool any_untrusted() const;
    void append(const Text& other);
    Text substr(size_t pos, size_t count = std::string::npos) const;
    bool untrusted_at(size_t i) const { return !untrusted.empty() && untrusted[i] != 0; }
};

struct Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;   // insertion order, as Python's dict
struct Callable;

struct Value {
    enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kArray, kObject, kNamespace, kCallable };
    Kind kind = Kind::kUndefined;
    bool boolean = false;
    int64_t integer = 0;
    double number = 0.0;
    Text string;
    std::shared_ptr<Array> array;      // shared: Python's reference semantics
    std::shared_ptr<Object> object;    // kObject and kNamespace
    std::shared_ptr<const Callable> callable;
    uint16_t nesting = 0;              // lists and dicts: 1 + their deepest item's

    static Value none() { return make(Kind::kNone); }
    static Value of(bool b) { Value v = make(Kind::kBool); v.boolean = b; return v; }
    static Value of(int64_t i) { Value v = make(Kind::kInt); v.integer = i; return v; }
    static Value of(double d) { Value v = make(Kind::kFloat); v.number = d; return v; }
    static Value of(Text t) { Value v = make(Kind::kString); v.string = std::move(t); return v; }
    static Value of(std::string s) { return of(Text::trusted(std::move(s))); }
    static Value of(const char* s) { return of(Text::trusted(s)); }
    // Lists and dicts nest at most kMaxNesting deep and never hold a namespace, so no value can
    // contain itself and every walk over one is bounded (throws JinjaError otherwise).
    static Value of(Array a);
    static Value of(Object o);
    static Value namespace_of(Object o);

    static Value make(Kind kind) {
        Value v;
        v.kind = kind;
        return v;
    }
    bool is_undefined() const { return kind == Kind::kUndefined; }
    bool is_string() const { return kind == Kind::kString; }
    bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat; }
    bool is_mapping() const { return kind == Kind::kObject || kind == Kind::kNamespace; }
    bool truthy() const;
    double as_double() const { return kind == Kind::kInt ? static_cast<double>(integer) : number; }
    // The member `key` of an object or namespace; undefined when absent.
    Value member(std::string_view key) const;
    // Sets (or adds) `key` of an object or namespace.
    void set_member(const std::string& key, Value value) const;

    static constexpr uint16_t kMaxNesting = 64;
};

struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> named;
};

// A macro or a built-in function (raise_exception, namespace, range, ...).
struct Callable {
    std::string name;
    std::function<Value(const CallArgs&)> call;
};

// What a template did wrong, or raise_exception's message; the interpreter turns it into an
// Error at the API boundary.
struct JinjaError {
    std::string message;
};

// Whether any string inside is untrusted, keys of dicts included.
bool contains_untrusted(const Value& value);

// Python's ==, as Jinja compares.
bool equal(const Value& a, const Value& b);
// Python's <, for numbers and strings (sort, comparisons); false for other pairs.
bool less(const Value& a, const Value& b);
// str(value) as Jinja prints it: None, True, 1.5, ['a', 1], {'k': 'v'}; undefined prints "".
Text to_text(const Value& value);
// Python's repr of a value (strings quoted), used inside printed lists and dicts.
std::string repr(const Value& value);
// json.dumps(value, ensure_ascii=False, indent=indent) as Hugging Face's tojson filter writes it
// (indent < 0: one line with ", " and ": "); keys in insertion order unless sort_keys.
std::string to_json(const Value& value, int indent, bool sort_keys);
// The kind's name for messages: "string", "list", "dict", ...
std::string_view kind_name(Value::Kind kind);

}  // namespace tern::tokenizer::jinja
