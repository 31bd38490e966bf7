// What Jinja and Hugging Face give a chat template beyond syntax: operators, filters (trim,
// tojson, join, map, selectattr, ...), tests (defined, none, string, ...), the methods of
// strings, dicts and lists Python templates call (strip, split, startswith, items, get, ...),
// and the global functions (raise_exception, namespace, range, strftime_now). Strings keep
// track of their untrusted bytes through every operation.
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/jinja/jinja_value.h"

namespace tern::tokenizer::jinja {

// Callbacks a filter needs from the interpreter: `map('upper')` applies another filter.
struct FilterContext {
    std::function<Value(std::string_view filter, const Value& input, const CallArgs& args)> apply_filter;
    std::function<bool(std::string_view test, const Value& input, const CallArgs& args)> apply_test;
};

Value binary_operation(std::string_view op, const Value& left, const Value& right);
Value unary_operation(std::string_view op, const Value& operand);
Value filter(std::string_view name, const Value& input, const CallArgs& args, const FilterContext& context);
bool test(std::string_view name, const Value& input, const CallArgs& args);
// A method call value.name(args); throws when the value has no such method.
Value call_method(const Value& self, std::string_view name, const CallArgs& args);
bool has_method(const Value& self, std::string_view name);
// value[index] for lists, strings (by code point) and dicts; undefined when absent.
Value subscript(const Value& value, const Value& index);
Value slice(const Value& value, const Value& start, const Value& stop, const Value& step);
// The globals a chat template may call: raise_exception, namespace, range, strftime_now, dict.
Object global_functions();
// Lists a for loop or a filter walks: list items, dict keys, string characters.
Array iterate(const Value& value);

}  // namespace tern::tokenizer::jinja
