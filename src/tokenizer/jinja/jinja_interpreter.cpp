// Walks a parsed template (jinja_ast.h) and writes its text. Scoping follows Jinja: a for
// loop's body gets a fresh scope each iteration and nothing set inside leaks out (templates
// use namespace() for that); if blocks share their enclosing scope; a macro sees the
// template's top level and its own parameters.
#include <unordered_map>

#include "core/str_cat.h"
#include "tokenizer/jinja/jinja_builtins.h"
#include "tokenizer/jinja/jinja_parser.h"
#include "tokenizer/jinja/jinja_template.h"

namespace tern::tokenizer::jinja {
namespace {

constexpr size_t kMaxOutput = size_t{16} << 20;
constexpr size_t kMaxIterations = 100'000;   // real templates loop over the messages
constexpr size_t kMaxCallDepth = 64;
// Bytes of strings and lists all operations of one rendering may produce: what bounds its time.
constexpr size_t kMaxWork = size_t{1} << 30;

[[noreturn]] void fail(const std::string& message) { throw JinjaError{message}; }

class Interpreter {
public:
    explicit Interpreter(const Object& variables) {
        frames_.emplace_back();
        for (const auto& [name, value] : global_functions()) frames_.back()[name] = value;
        for (const auto& [name, value] : variables) frames_.back()[name] = value;
        filter_context_.apply_filter = [this](std::string_view name, const Value& input, const CallArgs& args) {
            return filter(name, input, args, filter_context_);
        };
        filter_context_.apply_test = [](std::string_view name, const Value& input, const CallArgs& args) {
            return test(name, input, args);
        };
    }

    Text render(const Body& body) {
        exec(body);
        return std::move(out_);
    }

private:
    enum class Flow { kNormal, kBreak, kContinue };
    using Frame = std::unordered_map<std::string, Value>;

    // ---- statements ----

    Flow exec(const Body& body) {
        for (const auto& stmt : body) {
            const Flow flow = exec_located(*stmt);
            if (flow != Flow::kNormal) return flow;
        }
        return Flow::kNormal;
    }

    Flow exec_located(const Stmt& stmt) {
        try {
            return exec(stmt);
        } catch (JinjaError& error) {
            if (!error.message.starts_with("line ")) error.message = str_cat("line ", stmt.line, ": ", error.message);
            throw;
        }
    }

    Flow exec(const Stmt& stmt) {
        switch (stmt.kind) {
            case Stmt::Kind::kText: emit(Text::trusted(stmt.text)); return Flow::kNormal;
            case Stmt::Kind::kOutput: emit(to_text(eval(*stmt.expr))); return Flow::kNormal;
            case Stmt::Kind::kIf:
                for (size_t i = 0; i < stmt.conditions.size(); ++i)
                    if (eval(*stmt.conditions[i]).truthy()) return exec(stmt.bodies[i]);
                if (stmt.bodies.size() > stmt.conditions.size()) return exec(stmt.bodies.back());
                return Flow::kNormal;
            case Stmt::Kind::kFor: run_for(stmt); return Flow::kNormal;
            case Stmt::Kind::kSet: run_set(stmt); return Flow::kNormal;
            case Stmt::Kind::kMacro: define_macro(stmt); return Flow::kNormal;
            case Stmt::Kind::kBreak: return Flow::kBreak;
            case Stmt::Kind::kContinue: return Flow::kContinue;
            case Stmt::Kind::kBlock: return exec(stmt.bodies[0]);
        }
        return Flow::kNormal;
    }

    void emit(const Text& text) {
        out_.append(text);
        if (out_.text.size() > kMaxOutput) fail(str_cat("the rendering is larger than ", kMaxOutput >> 20, " MiB"));
    }

    void bind_targets(Frame& frame, const std::vector<std::string>& targets, const Value& item) {
        if (targets.size() == 1) {
            frame[targets[0]] = item;
            return;
        }
        const Array parts = iterate(item);
        if (parts.size() != targets.size())
            fail(str_cat("cannot unpack ", parts.size(), " values into ", targets.size(), " names"));
        for (size_t i = 0; i < targets.size(); ++i) frame[targets[i]] = parts[i];
    }

    // The loop filter ("for x in xs if cond") runs before the loop: loop.length counts what passed.
    Array filtered(const Stmt& stmt, Array all) {
        Array kept;
        for (Value& item : all) {
            frames_.emplace_back();
            bind_targets(frames_.back(), stmt.targets, item);
            const bool keep = eval(*stmt.condition).truthy();
            frames_.pop_back();
            if (keep) kept.push_back(std::move(item));
        }
        return kept;
    }

    void run_for(const Stmt& stmt) {
        Array items = iterate(eval(*stmt.expr));
        if (stmt.condition) items = filtered(stmt, std::move(items));
        const auto n = static_cast<int64_t>(items.size());
        for (int64_t i = 0; i < n; ++i) {
            if (++iterations_ > kMaxIterations) fail(str_cat("more than ", kMaxIterations, " loop iterations"));
            Frame frame;
            bind_targets(frame, stmt.targets, items[static_cast<size_t>(i)]);
            frame["loop"] = Value::of(Object{
                {"index", Value::of(i + 1)}, {"index0", Value::of(i)}, {"revindex", Value::of(n - i)},
                {"revindex0", Value::of(n - i - 1)}, {"first", Value::of(i == 0)}, {"last", Value::of(i == n - 1)},
                {"length", Value::of(n)}, {"previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value{}},
                {"nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value{}}});
            frames_.push_back(std::move(frame));
            const Flow flow = exec(stmt.bodies[0]);
            frames_.pop_back();
            if (flow == Flow::kBreak) break;
        }
        if (n == 0 && stmt.bodies.size() > 1) exec(stmt.bodies[1]);
    }

    void run_set(const Stmt& stmt) {
        Value value;
        if (stmt.expr) {
            value = eval(*stmt.expr);
        } else {
            Text captured;
            std::swap(captured, out_);
            exec(stmt.bodies[0]);
            std::swap(captured, out_);
            value = Value::of(std::move(captured));
        }
        if (stmt.sets_attribute) {
            const Value target = lookup(stmt.targets[0]);
            if (target.kind != Value::Kind::kNamespace)
                fail(str_cat("cannot set an attribute of '", stmt.targets[0], "' (a ", kind_name(target.kind),
                             "; only namespace() objects can be changed)"));
            target.set_member(stmt.targets[1], std::move(value));
            return;
        }
        bind_targets(frames_.back(), stmt.targets, value);
    }

    void define_macro(const Stmt& stmt) {
        Value macro;
        macro.kind = Value::Kind::kCallable;
        macro.callable = std::make_shared<const Callable>(Callable{
            stmt.name, [this, &stmt](const CallArgs& args) { return call_macro(stmt, args); }});
        frames_.back()[stmt.name] = std::move(macro);
    }

    Value call_macro(const Stmt& stmt, const CallArgs& args) {
        if (call_depth_ >= kMaxCallDepth) fail(str_cat("macros nested deeper than ", kMaxCallDepth));
        if (args.positional.size() > stmt.parameters.size())
            fail(str_cat("macro '", stmt.name, "' takes ", stmt.parameters.size(), " arguments, given ", args.positional.size()));
        Frame parameters;
        for (size_t i = 0; i < stmt.parameters.size(); ++i) {
            const Argument& p = stmt.parameters[i];
            if (i < args.positional.size()) parameters[p.name] = args.positional[i];
            else if (p.value) parameters[p.name] = eval(*p.value);
            else parameters[p.name] = Value{};
        }
        for (const auto& named : args.named) {
            const bool known = std::any_of(stmt.parameters.begin(), stmt.parameters.end(),
                                           [&](const Argument& p) { return p.name == named.first; });
            if (!known) fail(str_cat("macro '", stmt.name, "' has no parameter '", named.first, "'"));
            parameters[named.first] = named.second;
        }
        std::vector<Frame> saved = std::move(frames_);
        frames_ = {saved.front(), std::move(parameters)};
        Text captured;
        std::swap(captured, out_);
        ++call_depth_;
        try {
            exec(stmt.bodies[0]);
        } catch (...) {
            --call_depth_;
            std::swap(captured, out_);
            frames_ = std::move(saved);
            throw;
        }
        --call_depth_;
        std::swap(captured, out_);
        frames_ = std::move(saved);
        return Value::of(std::move(captured));
    }

    // ---- expressions ----

    Value lookup(const std::string& name) const {
        for (auto it = frames_.rbegin(); it != frames_.rend(); ++it)
            if (auto found = it->find(name); found != it->end()) return found->second;
        return {};
    }

    CallArgs eval_arguments(const std::vector<Argument>& arguments) {
        CallArgs args;
        for (const Argument& a : arguments) {
            if (a.name.empty()) args.positional.push_back(eval(*a.value));
            else args.named.emplace_back(a.name, eval(*a.value));
        }
        return args;
    }

    static std::string describe(const Expr& e) {
        if (e.kind == Expr::Kind::kName) return "'" + e.name + "'";
        if (e.kind == Expr::Kind::kAttribute) return describe(*e.items[0]) + "." + e.name;
        return "the value";
    }

    // Counts what an operation produced against kMaxWork.
    Value charged(Value v) {
        if (v.is_string()) work_ += v.string.text.size();
        else if (v.kind == Value::Kind::kArray) work_ += v.array->size() * sizeof(Value);
        if (work_ > kMaxWork) fail(str_cat("the template does more than ", kMaxWork >> 20, " MiB of string and list work"));
        return v;
    }

    Value eval(const Expr& e) {
        switch (e.kind) {
            case Expr::Kind::kList:
            case Expr::Kind::kTuple:
            case Expr::Kind::kSlice:
            case Expr::Kind::kCall:
            case Expr::Kind::kFilter:
            case Expr::Kind::kBinary: return charged(eval_uncharged(e));
            default: return eval_uncharged(e);
        }
    }

    Value eval_uncharged(const Expr& e) {
        switch (e.kind) {
            case Expr::Kind::kLiteral: return e.value;
            case Expr::Kind::kName: return lookup(e.name);
            case Expr::Kind::kList:
            case Expr::Kind::kTuple: {
                Array items;
                for (const auto& item : e.items) items.push_back(eval(*item));
                return Value::of(std::move(items));
            }
            case Expr::Kind::kDict: {
                Object entries;
                for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
                    const Value key = eval(*e.items[i]);
                    if (contains_untrusted(key)) fail("message text cannot be a dict key");
                    Value value = eval(*e.items[i + 1]);
                    const std::string name = to_text(key).text;
                    auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& p) { return p.first == name; });
                    if (it != entries.end()) it->second = std::move(value);
                    else entries.emplace_back(name, std::move(value));
                }
                return Value::of(std::move(entries));
            }
            case Expr::Kind::kAttribute: {
                const Value receiver = eval(*e.items[0]);
                if (receiver.is_undefined()) fail(str_cat(describe(*e.items[0]), " is undefined (reading .", e.name, ")"));
                if (receiver.is_mapping()) {
                    Value member = receiver.member(e.name);
                    if (!member.is_undefined() || !has_method(receiver, e.name)) return member;
                }
                if (has_method(receiver, e.name)) return bound_method(receiver, e.name);
                return {};
            }
            case Expr::Kind::kSubscript: {
                const Value receiver = eval(*e.items[0]);
                if (receiver.is_undefined()) fail(str_cat(describe(*e.items[0]), " is undefined (reading an index)"));
                return subscript(receiver, eval(*e.items[1]));
            }
            case Expr::Kind::kSlice: {
                const Value receiver = eval(*e.items[0]);
                auto part = [&](size_t i) { return e.items[i] ? eval(*e.items[i]) : Value{}; };
                return slice(receiver, part(1), part(2), part(3));
            }
            case Expr::Kind::kCall: return call(e);
            case Expr::Kind::kFilter: {
                const Value input = eval(*e.items[0]);
                return filter(e.name, input, eval_arguments(e.arguments), filter_context_);
            }
            case Expr::Kind::kTest: {
                const Value input = eval(*e.items[0]);
                return Value::of(test(e.name, input, eval_arguments(e.arguments)) != e.negated);
            }
            case Expr::Kind::kUnary: return unary_operation(e.name, eval(*e.items[0]));
            case Expr::Kind::kBinary: {
                if (e.name == "and" || e.name == "or") {
                    Value left = eval(*e.items[0]);
                    if (left.truthy() == (e.name == "or")) return left;
                    return eval(*e.items[1]);
                }
                const Value left = eval(*e.items[0]);
                return binary_operation(e.name, left, eval(*e.items[1]));
            }
            case Expr::Kind::kConditional:
                if (eval(*e.items[0]).truthy()) return eval(*e.items[1]);
                return e.items[2] ? eval(*e.items[2]) : Value{};
        }
        return {};
    }

    static Value bound_method(const Value& receiver, const std::string& name) {
        Value method;
        method.kind = Value::Kind::kCallable;
        method.callable = std::make_shared<const Callable>(
            Callable{name, [receiver, name](const CallArgs& args) { return call_method(receiver, name, args); }});
        return method;
    }

    Value call(const Expr& e) {
        const Expr& callee = *e.items[0];
        if (callee.kind == Expr::Kind::kAttribute) {
            const Value receiver = eval(*callee.items[0]);
            if (receiver.is_undefined()) fail(str_cat(describe(*callee.items[0]), " is undefined (calling .", callee.name, "())"));
            const Value member = receiver.is_mapping() ? receiver.member(callee.name) : Value{};
            if (member.kind != Value::Kind::kCallable) return call_method(receiver, callee.name, eval_arguments(e.arguments));
        }
        const Value function = eval(callee);
        if (function.kind != Value::Kind::kCallable) fail(str_cat(describe(callee), " is not a function"));
        return function.callable->call(eval_arguments(e.arguments));
    }

    std::vector<Frame> frames_;
    Text out_;
    size_t iterations_ = 0;
    size_t call_depth_ = 0;
    size_t work_ = 0;
    FilterContext filter_context_;
};

}  // namespace

Result<JinjaTemplate> JinjaTemplate::parse(std::string_view source) {
    try {
        // Jinja reads every newline as "\n", and with keep_trailing_newline=False (Hugging
        // Face's setting) drops one final newline.
        std::string text;
        text.reserve(source.size());
        for (size_t i = 0; i < source.size(); ++i) {
            if (source[i] == '\r') {
                text += '\n';
                if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
            } else {
                text += source[i];
            }
        }
        if (text.ends_with('\n')) text.pop_back();
        JinjaTemplate parsed;
        parsed.body_ = std::make_shared<const Body>(parse_template(text));
        return parsed;
    } catch (const JinjaError& error) {
        return Error(str_cat("chat template: ", error.message));
    } catch (const std::exception& error) {   // out of memory, above all
        return Error(str_cat("chat template: ", error.what()));
    }
}

Result<Text> JinjaTemplate::render(const Object& variables) const {
    try {
        return Interpreter(variables).render(*body_);
    } catch (const JinjaError& error) {
        return Error(str_cat("chat template: ", error.message));
    } catch (const std::exception& error) {   // out of memory, above all
        return Error(str_cat("chat template: ", error.what()));
    }
}

}  // namespace tern::tokenizer::jinja
