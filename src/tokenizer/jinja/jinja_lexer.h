// Splits a Jinja template into text and tag tokens, applying whitespace control as Hugging Face
// configures Jinja for chat templates: trim_blocks (the newline after a block or comment tag
// goes), lstrip_blocks (spaces and tabs before a block or comment tag on its line go), and the
// "-" markers ({%- -%} {{- -}} {#- -#}) that strip all whitespace on their side.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern::tokenizer::jinja {

struct Token {
    enum class Kind {
        kText,          // text outside tags
        kOutputBegin,   // {{
        kStatementBegin,// {%
        kTagEnd,        // }} or %}
        kName,
        kString,        // text holds the unescaped string
        kInteger,
        kFloat,
        kOperator,      // ( ) [ ] { } . , : | = + - * / // % ** ~ == != < > <= >=
        kEnd
    };
    Kind kind;
    std::string text;
    size_t line;
};

// Throws JinjaError naming the line on an unterminated tag, comment or string, or an
// unexpected character.
std::vector<Token> lex_template(std::string_view source);

}  // namespace tern::tokenizer::jinja
