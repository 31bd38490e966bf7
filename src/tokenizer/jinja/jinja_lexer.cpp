#include "tokenizer/jinja/jinja_lexer.h"

#include <algorithm>
#include <cctype>

#include "core/str_cat.h"
#include "tokenizer/jinja/jinja_value.h"
#include "tokenizer/utf8.h"

namespace tern::tokenizer::jinja {
namespace {

class Lexer {
public:
    explicit Lexer(std::string_view source) : source_(source) {}

    std::vector<Token> run() {
        while (pos_ < source_.size()) {
            const size_t open = find_tag_open(pos_);
            text_until(open);
            if (open == source_.size()) break;
            tag(open);
        }
        flush_text();
        tokens_.push_back({Token::Kind::kEnd, "", line_});
        return std::move(tokens_);
    }

private:
    size_t find_tag_open(size_t from) const {
        for (size_t i = from; i + 1 < source_.size(); ++i)
            if (source_[i] == '{' && (source_[i + 1] == '{' || source_[i + 1] == '%' || source_[i + 1] == '#')) return i;
        return source_.size();
    }

    void text_until(size_t end) {
        pending_text_.append(source_.substr(pos_, end - pos_));
        advance(end - pos_);
    }

    void flush_text() {
        if (!pending_text_.empty()) tokens_.push_back({Token::Kind::kText, std::move(pending_text_), text_line_});
        pending_text_.clear();
        text_line_ = line_;
    }

    // Whitespace control on the text before a tag: "-" strips all of it; lstrip_blocks strips
    // spaces and tabs back to the line start when nothing else is on that line.
    void strip_before(char kind, char marker) {
        if (marker == '-') {
            while (!pending_text_.empty() && std::isspace(static_cast<unsigned char>(pending_text_.back()))) pending_text_.pop_back();
            return;
        }
        if (kind == '{' || marker == '+') return;
        size_t i = pending_text_.size();
        while (i > 0 && (pending_text_[i - 1] == ' ' || pending_text_[i - 1] == '\t')) --i;
        const bool line_start = i == 0 ? at_line_start_ : pending_text_[i - 1] == '\n';
        if (line_start) pending_text_.resize(i);
    }

    // After a tag: "-" strips all following whitespace; trim_blocks drops one newline after a
    // block or comment tag.
    void strip_after(char kind, bool minus) {
        if (minus) {
            while (pos_ < source_.size() && std::isspace(static_cast<unsigned char>(source_[pos_]))) advance(1);
        } else if (kind != '{') {
            if (source_.compare(pos_, 2, "\r\n") == 0) advance(2);
            else if (pos_ < source_.size() && source_[pos_] == '\n') advance(1);
        }
    }

    void advance(size_t n) {
        for (size_t i = 0; i < n; ++i)
            if (source_[pos_ + i] == '\n') ++line_;
        pos_ += n;
    }

    void tag(size_t open) {
        const char kind = source_[open + 1];
        const size_t tag_line = line_;
        const char marker = open + 2 < source_.size() ? source_[open + 2] : '\0';
        strip_before(kind, marker == '-' || marker == '+' ? marker : '\0');
        advance(2 + (marker == '-' || marker == '+' ? 1 : 0));
        if (kind == '#') {
            const size_t close = source_.find("#}", pos_);
            if (close == std::string_view::npos) throw JinjaError{str_cat("line ", tag_line, ": a comment {# is never closed")};
            const bool minus = close > pos_ && source_[close - 1] == '-';
            advance(close + 2 - pos_);
            strip_after(kind, minus);
            at_line_start_ = source_[pos_ - 1] == '\n';
            return;
        }
        flush_text();
        tokens_.push_back({kind == '{' ? Token::Kind::kOutputBegin : Token::Kind::kStatementBegin, "", tag_line});
        const char close_char = kind == '{' ? '}' : '%';
        brace_depth_ = 0;
        for (;;) {
            while (pos_ < source_.size() && std::isspace(static_cast<unsigned char>(source_[pos_]))) advance(1);
            if (pos_ >= source_.size())
                throw JinjaError{str_cat("line ", tag_line, ": a tag opened with {", kind, " is never closed")};
            // "}}" inside a dict literal ({{ {'a': {'b': 1}} }}) is two closing braces.
            const bool minus = brace_depth_ == 0 && source_.compare(pos_, 3, std::string{'-', close_char, '}'}) == 0;
            if (minus || (brace_depth_ == 0 && source_.compare(pos_, 2, std::string{close_char, '}'}) == 0)) {
                advance(minus ? 3 : 2);
                tokens_.push_back({Token::Kind::kTagEnd, "", line_});
                strip_after(kind, minus);
                at_line_start_ = source_[pos_ - 1] == '\n';
                text_line_ = line_;
                return;
            }
            inside_tag(tag_line);
        }
    }

    void inside_tag(size_t tag_line) {
        const char c = source_[pos_];
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            size_t end = pos_;
            while (end < source_.size() && (std::isalnum(static_cast<unsigned char>(source_[end])) || source_[end] == '_')) ++end;
            tokens_.push_back({Token::Kind::kName, std::string(source_.substr(pos_, end - pos_)), line_});
            advance(end - pos_);
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
            number();
        } else if (c == '\'' || c == '"') {
            string(tag_line);
        } else {
            static constexpr std::string_view kTwoChar[] = {"==", "!=", "<=", ">=", "//", "**"};
            for (std::string_view op : kTwoChar)
                if (source_.compare(pos_, 2, op) == 0) {
                    tokens_.push_back({Token::Kind::kOperator, std::string(op), line_});
                    advance(2);
                    return;
                }
            if (std::string_view("()[]{}.,:|=+-*/%~<>").find(c) == std::string_view::npos)
                throw JinjaError{str_cat("line ", line_, ": unexpected character '", std::string(1, c), "' in a tag")};
            if (c == '{') ++brace_depth_;
            if (c == '}' && brace_depth_ > 0) --brace_depth_;
            tokens_.push_back({Token::Kind::kOperator, std::string(1, c), line_});
            advance(1);
        }
    }

    void number() {
        size_t end = pos_;
        while (end < source_.size() && (std::isdigit(static_cast<unsigned char>(source_[end])) || source_[end] == '_')) ++end;
        bool is_float = false;
        if (end + 1 < source_.size() && source_[end] == '.' && std::isdigit(static_cast<unsigned char>(source_[end + 1]))) {
            is_float = true;
            ++end;
            while (end < source_.size() && std::isdigit(static_cast<unsigned char>(source_[end]))) ++end;
        }
        if (end < source_.size() && (source_[end] == 'e' || source_[end] == 'E')) {
            size_t e = end + 1;
            if (e < source_.size() && (source_[e] == '+' || source_[e] == '-')) ++e;
            if (e < source_.size() && std::isdigit(static_cast<unsigned char>(source_[e]))) {
                is_float = true;
                end = e;
                while (end < source_.size() && std::isdigit(static_cast<unsigned char>(source_[end]))) ++end;
            }
        }
        std::string text(source_.substr(pos_, end - pos_));
        text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
        tokens_.push_back({is_float ? Token::Kind::kFloat : Token::Kind::kInteger, text, line_});
        advance(end - pos_);
    }

    void string(size_t tag_line) {
        const char quote = source_[pos_];
        const size_t start_line = line_;
        advance(1);
        std::string out;
        for (;;) {
            if (pos_ >= source_.size())
                throw JinjaError{str_cat("line ", start_line, ": a string is never closed (tag on line ", tag_line, ")")};
            const char c = source_[pos_];
            if (c == quote) {
                advance(1);
                break;
            }
            if (c == '\\' && pos_ + 1 < source_.size()) {
                const char e = source_[pos_ + 1];
                switch (e) {
                    case 'n': out += '\n'; break;
                    case 't': out += '\t'; break;
                    case 'r': out += '\r'; break;
                    case '\\': out += '\\'; break;
                    case '\'': out += '\''; break;
                    case '"': out += '"'; break;
                    case '\n': break;
                    case 'x':
                    case 'u':
                    case 'U': {
                        const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                        uint32_t code = 0;
                        bool ok = pos_ + 2 + digits <= source_.size();
                        for (size_t i = 0; ok && i < digits; ++i) {
                            const char h = source_[pos_ + 2 + i];
                            ok = std::isxdigit(static_cast<unsigned char>(h)) != 0;
                            code = code * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                                                                     : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10);
                        }
                        if (!ok || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
                            throw JinjaError{str_cat("line ", line_, ": a bad \\", std::string(1, e), " escape in a string")};
                        append_utf8(out, code);
                        advance(2 + digits);
                        continue;
                    }
                    default: out += '\\'; out += e;
                }
                advance(2);
                continue;
            }
            out += c;
            advance(1);
        }
        tokens_.push_back({Token::Kind::kString, std::move(out), start_line});
    }

    std::string_view source_;
    size_t pos_ = 0;
    size_t line_ = 1;
    size_t text_line_ = 1;
    size_t brace_depth_ = 0;      // open "{" of dict literals in the current tag
    bool at_line_start_ = true;   // the pending text starts a line (after a newline or at the start)
    std::string pending_text_;
    std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> lex_template(std::string_view source) { return Lexer(source).run(); }

}  // namespace tern::tokenizer::jinja
