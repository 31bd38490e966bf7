// The parsed form of a Jinja template: expressions and statements, as jinja_parser builds them
// and jinja_interpreter walks them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/jinja_value.h"

namespace tern::tokenizer::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Argument {
    std::string name;   // "" for a positional argument
    ExprPtr value;
};

struct Expr {
    enum class Kind {
        kLiteral,    // value
        kName,       // name
        kList,       // items
        kTuple,      // items (Python tuples are lists here)
        kDict,       // pairs of items: key, value, key, value...
        kAttribute,  // items[0].name
        kSubscript,  // items[0][items[1]]
        kSlice,      // items[0][items[1]:items[2]:items[3]] (null parts are absent)
        kCall,       // items[0](arguments)
        kFilter,     // items[0] | name(arguments)
        kTest,       // items[0] is [not] name(arguments)
        kUnary,      // op items[0]: "not", "-", "+"
        kBinary,     // items[0] op items[1]
        kConditional // items[1] if items[0] else items[2] (items[2] may be null)
    };
    Kind kind = Kind::kLiteral;
    size_t line = 0;
    size_t height = 1;   // of the tree below, bounded by the parser (evaluation recurses on it)
    Value value;
    std::string name;   // name, attribute, filter, test, or operator
    bool negated = false;
    std::vector<ExprPtr> items;
    std::vector<Argument> arguments;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
    enum class Kind {
        kText,     // text
        kOutput,   // {{ expr }}
        kIf,       // conditions[i] -> bodies[i]; bodies.back() is the else when it has one more
        kFor,      // for targets in expr [if condition]: bodies[0], else bodies[1]
        kSet,      // set targets (name or ns.attr) = expr, or a block set (bodies[0])
        kMacro,    // macro name(parameters) bodies[0]
        kBreak,
        kContinue,
        kBlock     // a body rendered as is ({% generation %} and the like)
    };
    Kind kind = Kind::kText;
    size_t line = 0;
    std::string text;
    ExprPtr expr;
    ExprPtr condition;
    std::vector<ExprPtr> conditions;
    std::vector<Body> bodies;
    std::vector<std::string> targets;        // for: loop variables; set: names, or {ns, attr}
    bool sets_attribute = false;             // set ns.attr = ...
    std::string name;                        // macro
    std::vector<Argument> parameters;        // macro parameters with their defaults
};

}  // namespace tern::tokenizer::jinja
