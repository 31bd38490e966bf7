#include "tokenizer/jinja/jinja_parser.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <utility>

#include "core/str_cat.h"
#include "tokenizer/jinja/jinja_lexer.h"

namespace tern::tokenizer::jinja {
namespace {

using TK = Token::Kind;

// Nesting deeper than this is hostile (or broken); it would exhaust the stack.
constexpr size_t kMaxDepth = 200;

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

    Body parse() {
        std::string end_tag;
        Body body = parse_body({}, end_tag);
        return body;
    }

private:
    const Token& peek(size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
    const Token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
    bool at_operator(std::string_view op) const { return peek().kind == TK::kOperator && peek().text == op; }
    bool at_name(std::string_view name) const { return peek().kind == TK::kName && peek().text == name; }

    [[noreturn]] void fail(const std::string& what) const {
        const Token& t = peek();
        std::string found = t.kind == TK::kEnd ? "the end of the template"
                            : t.kind == TK::kTagEnd ? "the end of the tag"
                            : t.kind == TK::kText ? "text" : "'" + t.text + "'";
        throw JinjaError{str_cat("line ", t.line, ": ", what, ", found ", found)};
    }

    void expect_operator(std::string_view op) {
        if (!at_operator(op)) fail(str_cat("expected '", op, "'"));
        next();
    }
    void expect_tag_end() {
        if (peek().kind != TK::kTagEnd) fail("expected the end of the tag");
        next();
    }
    std::string expect_name() {
        if (peek().kind != TK::kName) fail("expected a name");
        return next().text;
    }

    struct DepthGuard {
        explicit DepthGuard(Parser& p) : parser(p) {
            if (++parser.depth_ > kMaxDepth) parser.fail(str_cat("nesting deeper than ", kMaxDepth));
        }
        ~DepthGuard() { --parser.depth_; }
        Parser& parser;
    };

    // Statements until one of `ends` ({% endif %}, {% else %}, ...), whose name is stored in
    // `found_end`; the tag's remaining tokens are left for the caller.
    Body parse_body(std::initializer_list<std::string_view> ends, std::string& found_end) {
        DepthGuard guard(*this);
        Body body;
        for (;;) {
            const Token& t = peek();
            if (t.kind == TK::kEnd) {
                if (ends.size() == 0) return body;
                fail(str_cat("expected {% ", *(ends.end() - 1), " %}"));
            }
            if (t.kind == TK::kText) {
                auto stmt = make_stmt(Stmt::Kind::kText, t.line);
                stmt->text = t.text;
                next();
                body.push_back(std::move(stmt));
            } else if (t.kind == TK::kOutputBegin) {
                next();
                auto stmt = make_stmt(Stmt::Kind::kOutput, t.line);
                stmt->expr = parse_expression();
                expect_tag_end();
                body.push_back(std::move(stmt));
            } else if (t.kind == TK::kStatementBegin) {
                const Token& keyword = peek(1);
                if (keyword.kind != TK::kName) {
                    next();
                    fail("expected a statement name");
                }
                for (std::string_view end : ends)
                    if (keyword.text == end) {
                        next();
                        next();
                        found_end = keyword.text;
                        return body;
                    }
                next();
                body.push_back(parse_statement());
            } else {
                fail("unexpected token");
            }
        }
    }

    std::unique_ptr<Stmt> parse_statement() {
        const Token& keyword = next();
        const std::string& k = keyword.text;
        if (k == "if") return parse_if(keyword.line);
        if (k == "for") return parse_for(keyword.line);
        if (k == "set") return parse_set(keyword.line);
        if (k == "macro") return parse_macro(keyword.line);
        if (k == "break" || k == "continue") {
            if (loop_depth_ == 0) throw JinjaError{str_cat("line ", keyword.line, ": {% ", k, " %} outside a for loop")};
            expect_tag_end();
            return make_stmt(k == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue, keyword.line);
        }
        if (k == "generation") {
            expect_tag_end();
            auto stmt = make_stmt(Stmt::Kind::kBlock, keyword.line);
            std::string end;
            stmt->bodies.push_back(parse_body({"endgeneration"}, end));
            expect_tag_end();
            return stmt;
        }
        --pos_;
        fail("unknown statement");
    }

    std::unique_ptr<Stmt> parse_if(size_t line) {
        auto stmt = make_stmt(Stmt::Kind::kIf, line);
        stmt->conditions.push_back(parse_expression());
        expect_tag_end();
        for (;;) {
            std::string end;
            stmt->bodies.push_back(parse_body({"elif", "else", "endif"}, end));
            if (end == "elif") {
                stmt->conditions.push_back(parse_expression());
                expect_tag_end();
            } else if (end == "else") {
                expect_tag_end();
                stmt->bodies.push_back(parse_body({"endif"}, end));
                expect_tag_end();
                return stmt;
            } else {
                expect_tag_end();
                return stmt;
            }
        }
    }

    std::unique_ptr<Stmt> parse_for(size_t line) {
        auto stmt = make_stmt(Stmt::Kind::kFor, line);
        const bool parenthesised = at_operator("(");
        if (parenthesised) next();
        stmt->targets.push_back(expect_name());
        while (at_operator(",")) {
            next();
            stmt->targets.push_back(expect_name());
        }
        if (parenthesised) expect_operator(")");
        if (!at_name("in")) fail("expected 'in'");
        next();
        stmt->expr = parse_or();   // no conditional here: "if" starts the loop filter
        if (at_name("if")) {
            next();
            stmt->condition = parse_or();
        }
        if (at_name("recursive")) fail("recursive loops are not supported");
        expect_tag_end();
        std::string end;
        ++loop_depth_;
        stmt->bodies.push_back(parse_body({"else", "endfor"}, end));
        --loop_depth_;
        expect_tag_end();
        if (end == "else") {
            stmt->bodies.push_back(parse_body({"endfor"}, end));
            expect_tag_end();
        }
        return stmt;
    }

    std::unique_ptr<Stmt> parse_set(size_t line) {
        auto stmt = make_stmt(Stmt::Kind::kSet, line);
        stmt->targets.push_back(expect_name());
        if (at_operator(".")) {
            next();
            stmt->targets.push_back(expect_name());
            stmt->sets_attribute = true;
        } else {
            while (at_operator(",")) {
                next();
                stmt->targets.push_back(expect_name());
            }
        }
        if (peek().kind == TK::kTagEnd) {
            next();
            std::string end;
            stmt->bodies.push_back(parse_body({"endset"}, end));
            expect_tag_end();
            return stmt;
        }
        expect_operator("=");
        stmt->expr = parse_expression_or_tuple();
        expect_tag_end();
        return stmt;
    }

    std::unique_ptr<Stmt> parse_macro(size_t line) {
        auto stmt = make_stmt(Stmt::Kind::kMacro, line);
        stmt->name = expect_name();
        expect_operator("(");
        while (!at_operator(")")) {
            Argument parameter{.name = expect_name(), .value = nullptr};
            if (at_operator("=")) {
                next();
                parameter.value = parse_expression();
            }
            stmt->parameters.push_back(std::move(parameter));
            if (!at_operator(",")) break;
            next();
        }
        expect_operator(")");
        expect_tag_end();
        std::string end;
        const size_t outer_loops = std::exchange(loop_depth_, 0);
        stmt->bodies.push_back(parse_body({"endmacro"}, end));
        loop_depth_ = outer_loops;
        expect_tag_end();
        return stmt;
    }

    static std::unique_ptr<Stmt> make_stmt(Stmt::Kind kind, size_t line) {
        auto stmt = std::make_unique<Stmt>();
        stmt->kind = kind;
        stmt->line = line;
        return stmt;
    }

    // ---- expressions ----

    ExprPtr make(Expr::Kind kind, size_t line) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->line = line;
        return e;
    }

    // A finished node: its height counted, so chains such as 1+1+...+1 or a|f|f|... cannot
    // build a tree deep enough to overflow the stack of the recursive evaluator.
    ExprPtr sealed(ExprPtr e) {
        size_t below = 0;
        for (const ExprPtr& item : e->items)
            if (item) below = std::max(below, item->height);
        for (const Argument& argument : e->arguments)
            if (argument.value) below = std::max(below, argument.value->height);
        e->height = below + 1;
        if (e->height > kMaxDepth) throw JinjaError{str_cat("line ", e->line, ": an expression nested deeper than ", kMaxDepth)};
        return e;
    }

    ExprPtr binary(std::string op, ExprPtr left, ExprPtr right) {
        ExprPtr e = make(Expr::Kind::kBinary, left->line);
        e->name = std::move(op);
        e->items.push_back(std::move(left));
        e->items.push_back(std::move(right));
        return sealed(std::move(e));
    }

    ExprPtr parse_expression_or_tuple() {
        ExprPtr first = parse_expression();
        if (!at_operator(",")) return first;
        ExprPtr tuple = make(Expr::Kind::kTuple, first->line);
        tuple->items.push_back(std::move(first));
        while (at_operator(",")) {
            next();
            tuple->items.push_back(parse_expression());
        }
        return sealed(std::move(tuple));
    }

    ExprPtr parse_expression() {
        DepthGuard guard(*this);
        ExprPtr value = parse_or();
        if (!at_name("if")) return value;
        next();
        ExprPtr e = make(Expr::Kind::kConditional, value->line);
        e->items.push_back(parse_or());
        e->items.push_back(std::move(value));
        if (at_name("else")) {
            next();
            e->items.push_back(parse_expression());
        } else {
            e->items.push_back(nullptr);
        }
        return sealed(std::move(e));
    }

    ExprPtr parse_or() {
        ExprPtr left = parse_and();
        while (at_name("or")) {
            next();
            left = binary("or", std::move(left), parse_and());
        }
        return left;
    }

    ExprPtr parse_and() {
        ExprPtr left = parse_not();
        while (at_name("and")) {
            next();
            left = binary("and", std::move(left), parse_not());
        }
        return left;
    }

    ExprPtr parse_not() {
        if (at_name("not")) {
            DepthGuard guard(*this);
            const size_t line = next().line;
            ExprPtr e = make(Expr::Kind::kUnary, line);
            e->name = "not";
            e->items.push_back(parse_not());
            return sealed(std::move(e));
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        ExprPtr left = parse_add();
        for (;;) {
            if (peek().kind == TK::kOperator &&
                (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
                 peek().text == "<=" || peek().text == ">=")) {
                std::string op = next().text;
                left = binary(op, std::move(left), parse_add());
            } else if (at_name("in")) {
                next();
                left = binary("in", std::move(left), parse_add());
            } else if (at_name("not") && peek(1).kind == TK::kName && peek(1).text == "in") {
                next();
                next();
                left = binary("not in", std::move(left), parse_add());
            } else {
                return left;
            }
        }
    }

    ExprPtr parse_add() {
        ExprPtr left = parse_concat();
        while (at_operator("+") || at_operator("-")) {
            std::string op = next().text;
            left = binary(op, std::move(left), parse_concat());
        }
        return left;
    }

    ExprPtr parse_concat() {
        ExprPtr left = parse_multiply();
        while (at_operator("~")) {
            next();
            left = binary("~", std::move(left), parse_multiply());
        }
        return left;
    }

    ExprPtr parse_multiply() {
        ExprPtr left = parse_power();
        while (at_operator("*") || at_operator("/") || at_operator("//") || at_operator("%")) {
            std::string op = next().text;
            left = binary(op, std::move(left), parse_power());
        }
        return left;
    }

    ExprPtr parse_power() {
        ExprPtr left = parse_unary();
        while (at_operator("**")) {
            next();
            left = binary("**", std::move(left), parse_unary());
        }
        return left;
    }

    ExprPtr parse_unary() {
        if (at_operator("-") || at_operator("+")) {
            DepthGuard guard(*this);
            const Token& op = next();
            ExprPtr e = make(Expr::Kind::kUnary, op.line);
            e->name = op.text;
            e->items.push_back(parse_unary());
            return sealed(std::move(e));
        }
        return parse_filters(parse_postfix(parse_primary()));
    }

    std::vector<Argument> parse_call_arguments() {
        std::vector<Argument> arguments;
        expect_operator("(");
        while (!at_operator(")")) {
            Argument argument;
            if (peek().kind == TK::kName && peek(1).kind == TK::kOperator && peek(1).text == "=") {
                argument.name = next().text;
                next();
            }
            argument.value = parse_expression();
            arguments.push_back(std::move(argument));
            if (!at_operator(",")) break;
            next();
        }
        expect_operator(")");
        return arguments;
    }

    ExprPtr parse_postfix(ExprPtr value) {
        for (;;) {
            if (at_operator(".")) {
                next();
                ExprPtr e = make(Expr::Kind::kAttribute, value->line);
                if (peek().kind == TK::kInteger) {   // a.0 is a[0] in Jinja
                    e->kind = Expr::Kind::kSubscript;
                    e->items.push_back(std::move(value));
                    ExprPtr index = make(Expr::Kind::kLiteral, peek().line);
                    index->value = Value::of(static_cast<int64_t>(std::strtoll(next().text.c_str(), nullptr, 10)));
                    e->items.push_back(std::move(index));
                } else {
                    e->name = expect_name();
                    e->items.push_back(std::move(value));
                }
                value = sealed(std::move(e));
            } else if (at_operator("[")) {
                value = parse_subscript(std::move(value));
            } else if (at_operator("(")) {
                ExprPtr e = make(Expr::Kind::kCall, value->line);
                e->items.push_back(std::move(value));
                e->arguments = parse_call_arguments();
                value = sealed(std::move(e));
            } else {
                return value;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr value) {
        expect_operator("[");
        ExprPtr parts[3];
        bool slice = false;
        for (int part = 0; part < 3; ++part) {
            if (!at_operator(":") && !at_operator("]")) parts[part] = parse_expression();
            if (!at_operator(":")) break;
            slice = true;
            next();
        }
        expect_operator("]");
        ExprPtr e = make(slice ? Expr::Kind::kSlice : Expr::Kind::kSubscript, value->line);
        e->items.push_back(std::move(value));
        if (!slice && !parts[0]) fail("expected an index");
        e->items.push_back(std::move(parts[0]));
        if (slice) {
            e->items.push_back(std::move(parts[1]));
            e->items.push_back(std::move(parts[2]));
        }
        return sealed(std::move(e));
    }

    ExprPtr parse_filters(ExprPtr value) {
        for (;;) {
            if (at_operator("|")) {
                next();
                ExprPtr e = make(Expr::Kind::kFilter, value->line);
                e->name = expect_name();
                e->items.push_back(std::move(value));
                if (at_operator("(")) e->arguments = parse_call_arguments();
                value = parse_postfix(sealed(std::move(e)));
            } else if (at_name("is")) {
                next();
                ExprPtr e = make(Expr::Kind::kTest, value->line);
                if (at_name("not")) {
                    next();
                    e->negated = true;
                }
                e->name = expect_name();
                e->items.push_back(std::move(value));
                if (at_operator("(")) {
                    e->arguments = parse_call_arguments();
                } else if (peek().kind == TK::kInteger || peek().kind == TK::kFloat || peek().kind == TK::kString ||
                           (peek().kind == TK::kName && !at_name("and") && !at_name("or") && !at_name("else") &&
                            !at_name("if") && !at_name("in") && !at_name("not") && !at_name("is"))) {
                    e->arguments.push_back({"", parse_postfix(parse_primary())});   // "is divisibleby 3"
                }
                value = sealed(std::move(e));
            } else {
                return value;
            }
        }
    }

    ExprPtr parse_primary() {
        DepthGuard guard(*this);
        const Token& t = peek();
        switch (t.kind) {
            case TK::kString: {
                ExprPtr e = make(Expr::Kind::kLiteral, t.line);
                std::string text = next().text;
                while (peek().kind == TK::kString) text += next().text;   // adjacent literals join
                e->value = Value::of(std::move(text));
                return e;
            }
            case TK::kInteger: {
                ExprPtr e = make(Expr::Kind::kLiteral, t.line);
                int64_t v = 0;
                const std::string& text = next().text;
                if (std::from_chars(text.data(), text.data() + text.size(), v).ec != std::errc{})
                    throw JinjaError{str_cat("line ", e->line, ": the integer ", text, " is out of range")};
                e->value = Value::of(v);
                return e;
            }
            case TK::kFloat: {
                ExprPtr e = make(Expr::Kind::kLiteral, t.line);
                e->value = Value::of(std::strtod(next().text.c_str(), nullptr));
                return e;
            }
            case TK::kName: {
                ExprPtr e = make(Expr::Kind::kLiteral, t.line);
                const std::string& name = next().text;
                if (name == "true" || name == "True") e->value = Value::of(true);
                else if (name == "false" || name == "False") e->value = Value::of(false);
                else if (name == "none" || name == "None") e->value = Value::none();
                else {
                    e->kind = Expr::Kind::kName;
                    e->name = name;
                }
                return e;
            }
            case TK::kOperator:
                if (t.text == "(") return parse_parenthesised();
                if (t.text == "[") return parse_list();
                if (t.text == "{") return parse_dict();
                [[fallthrough]];
            default: fail("expected a value");
        }
    }

    ExprPtr parse_parenthesised() {
        const size_t line = next().line;
        if (at_operator(")")) {
            next();
            return make(Expr::Kind::kTuple, line);
        }
        ExprPtr first = parse_expression();
        if (at_operator(")")) {
            next();
            return first;
        }
        ExprPtr tuple = make(Expr::Kind::kTuple, line);
        tuple->items.push_back(std::move(first));
        while (at_operator(",")) {
            next();
            if (at_operator(")")) break;
            tuple->items.push_back(parse_expression());
        }
        expect_operator(")");
        return sealed(std::move(tuple));
    }

    ExprPtr parse_list() {
        ExprPtr list = make(Expr::Kind::kList, next().line);
        while (!at_operator("]")) {
            list->items.push_back(parse_expression());
            if (!at_operator(",")) break;
            next();
        }
        expect_operator("]");
        return sealed(std::move(list));
    }

    ExprPtr parse_dict() {
        ExprPtr dict = make(Expr::Kind::kDict, next().line);
        while (!at_operator("}")) {
            dict->items.push_back(parse_expression());
            expect_operator(":");
            dict->items.push_back(parse_expression());
            if (!at_operator(",")) break;
            next();
        }
        expect_operator("}");
        return sealed(std::move(dict));
    }

    std::vector<Token> tokens_;
    size_t pos_ = 0;
    size_t depth_ = 0;
    size_t loop_depth_ = 0;   // for bodies being parsed (a macro's body starts at 0 again)
};

}  // namespace

Body parse_template(std::string_view source) { return Parser(lex_template(source)).parse(); }

}  // namespace tern::tokenizer::jinja
