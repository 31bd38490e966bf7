// Parses a Jinja template (jinja_lexer's tokens) into statements: text, {{ output }}, if/elif/
// else, for (with else, loop filters and tuple targets), set (also ns.attr and block sets),
// macro, break/continue, and blocks rendered as is ({% generation %}). Expressions follow
// Jinja's precedence: conditional, or, and, not, comparisons and in, + -, ~, * / // %, **,
// unary, then filters, tests and postfix (attribute, subscript, slice, call).
#pragma once

#include <string_view>

#include "tokenizer/jinja/jinja_ast.h"

namespace tern::tokenizer::jinja {

// Throws JinjaError naming the line on a syntax error.
Body parse_template(std::string_view source);

}  // namespace tern::tokenizer::jinja
