#include "tokenizer/jinja/jinja_builtins.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

#include "core/str_cat.h"

namespace tern::tokenizer::jinja {
namespace {

// Ranges, repeats and joins larger than this are hostile.
constexpr size_t kMaxItems = 100'000;
constexpr size_t kMaxString = size_t{16} << 20;

[[noreturn]] void fail(const std::string& message) { throw JinjaError{message}; }

std::string type_error(std::string_view what, const Value& a, const Value& b) {
    return str_cat("cannot ", what, " ", kind_name(a.kind), " and ", kind_name(b.kind));
}

const Value* argument(const CallArgs& args, size_t index, std::string_view name) {
    for (const auto& [key, value] : args.named)
        if (key == name) return &value;
    return index < args.positional.size() ? &args.positional[index] : nullptr;
}

Value argument_or(const CallArgs& args, size_t index, std::string_view name, Value fallback) {
    const Value* v = argument(args, index, name);
    return v != nullptr ? *v : fallback;
}

const Text& string_argument(const CallArgs& args, size_t index, std::string_view name, std::string_view function) {
    const Value* v = argument(args, index, name);
    if (v == nullptr || !v->is_string()) fail(str_cat(function, "() needs a string as '", name, "'"));
    return v->string;
}

int64_t integer_argument(const Value& v, std::string_view function) {
    if (v.kind == Value::Kind::kInt) return v.integer;
    if (v.kind == Value::Kind::kBool) return v.boolean ? 1 : 0;
    fail(str_cat(function, "() needs an integer, not ", kind_name(v.kind)));
}

// Byte offsets of each code point of a UTF-8 string, and the end.
std::vector<size_t> code_point_offsets(const std::string& s) {
    std::vector<size_t> offsets;
    for (size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) offsets.push_back(i);
    offsets.push_back(s.size());
    return offsets;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

Text strip_text(const Text& text, bool left, bool right, const std::string* chars) {
    auto strippable = [&](char c) { return chars == nullptr ? is_space(c) : chars->find(c) != std::string::npos; };
    size_t begin = 0;
    size_t end = text.text.size();
    if (left)
        while (begin < end && strippable(text.text[begin])) ++begin;
    if (right)
        while (end > begin && strippable(text.text[end - 1])) --end;
    return text.substr(begin, end - begin);
}

Text map_chars(const Text& text, int (*convert)(int)) {
    Text out = text;
    for (char& c : out.text)
        if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(convert(static_cast<unsigned char>(c)));
    return out;
}

Text capitalize(const Text& text) {
    Text out = map_chars(text, [](int c) { return std::tolower(c); });
    if (!out.text.empty() && static_cast<unsigned char>(out.text[0]) < 0x80)
        out.text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out.text[0])));
    return out;
}

Text title(const Text& text) {
    Text out = text;
    bool word_start = true;
    for (char& c : out.text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80 && std::isalpha(u)) {
            c = static_cast<char>(word_start ? std::toupper(u) : std::tolower(u));
            word_start = false;
        } else {
            word_start = !(u >= 0x80 || std::isdigit(u));
        }
    }
    return out;
}

Text replace_text(const Text& text, const Text& from, const Text& to, int64_t count) {
    if (from.text.empty()) fail("replace() of an empty string is not supported");
    Text out;
    size_t pos = 0;
    for (int64_t done = 0; count < 0 || done < count; ++done) {
        const size_t found = text.text.find(from.text, pos);
        if (found == std::string::npos) break;
        out.append(text.substr(pos, found - pos));
        out.append(to);
        if (out.text.size() > kMaxString) fail("replace() makes a string too large");
        pos = found + from.text.size();
    }
    out.append(text.substr(pos));
    return out;
}

Array split_text(const Text& text, const Value* separator, int64_t max_split) {
    Array parts;
    const std::string& s = text.text;
    if (separator == nullptr || separator->kind == Value::Kind::kNone) {
        size_t i = 0;
        while (i < s.size()) {
            while (i < s.size() && is_space(s[i])) ++i;
            if (i == s.size()) break;
            size_t end = i;
            if (max_split >= 0 && static_cast<int64_t>(parts.size()) == max_split) {
                end = s.size();   // Python keeps the remainder as it is, trailing spaces too
            } else {
                while (end < s.size() && !is_space(s[end])) ++end;
            }
            parts.push_back(Value::of(text.substr(i, end - i)));
            i = end;
        }
        return parts;
    }
    if (!separator->is_string() || separator->string.text.empty()) fail("split() needs a non-empty string separator");
    const std::string& sep = separator->string.text;
    size_t pos = 0;
    for (;;) {
        const size_t found = (max_split < 0 || static_cast<int64_t>(parts.size()) < max_split) ? s.find(sep, pos) : std::string::npos;
        if (found == std::string::npos) {
            parts.push_back(Value::of(text.substr(pos)));
            return parts;
        }
        parts.push_back(Value::of(text.substr(pos, found - pos)));
        pos = found + sep.size();
    }
}

bool starts_or_ends(const Text& text, const Value& affix, bool start) {
    auto check = [&](const Value& a) {
        if (!a.is_string()) fail("startswith()/endswith() need a string or a tuple of strings");
        const std::string& x = a.string.text;
        if (x.size() > text.text.size()) return false;
        return start ? text.text.compare(0, x.size(), x) == 0 : text.text.compare(text.text.size() - x.size(), x.size(), x) == 0;
    };
    if (affix.kind == Value::Kind::kArray)
        return std::any_of(affix.array->begin(), affix.array->end(), check);
    return check(affix);
}

Value join(const Value& input, const Text& separator, const Value* attribute) {
    Text out;
    bool first = true;
    for (const Value& item : iterate(input)) {
        if (!first) out.append(separator);
        first = false;
        out.append(to_text(attribute != nullptr ? subscript(item, *attribute) : item));
        if (out.text.size() > kMaxString) fail("join() makes a string too large");
    }
    return Value::of(std::move(out));
}

size_t length(const Value& value) {
    switch (value.kind) {
        case Value::Kind::kUndefined: return 0;
        case Value::Kind::kString: return code_point_offsets(value.string.text).size() - 1;
        case Value::Kind::kArray: return value.array->size();
        case Value::Kind::kObject:
        case Value::Kind::kNamespace: return value.object->size();
        default: fail(str_cat("a ", kind_name(value.kind), " has no length"));
    }
}

Value items_of(const Value& value) {
    if (!value.is_mapping()) fail(str_cat("items() needs a dict, not ", kind_name(value.kind)));
    Array out;
    for (const auto& [key, item] : *value.object) out.push_back(Value::of(Array{Value::of(key), item}));
    return Value::of(std::move(out));
}

// selectattr/rejectattr/select/reject: which items a test (or truth) keeps.
Value select_items(const Value& input, const CallArgs& args, bool by_attribute, bool keep, const FilterContext& context) {
    Array out;
    const size_t first_test_arg = by_attribute ? 1 : 0;
    const Value* attribute = by_attribute ? argument(args, 0, "attribute") : nullptr;
    if (by_attribute && attribute == nullptr) fail("selectattr()/rejectattr() need an attribute name");
    for (const Value& item : iterate(input)) {
        const Value subject = attribute != nullptr ? subscript(item, *attribute) : item;
        bool passed;
        if (args.positional.size() > first_test_arg) {
            const Value& test_name = args.positional[first_test_arg];
            if (!test_name.is_string()) fail("a test name must be a string");
            CallArgs test_args;
            test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(first_test_arg) + 1,
                                        args.positional.end());
            passed = context.apply_test(test_name.string.text, subject, test_args);
        } else {
            passed = subject.truthy();
        }
        if (passed == keep) out.push_back(item);
    }
    return Value::of(std::move(out));
}

Value map_items(const Value& input, const CallArgs& args, const FilterContext& context) {
    Array out;
    const Value* attribute = argument(args, 99, "attribute");
    if (attribute != nullptr) {
        const Value fallback = argument_or(args, 99, "default", Value{});
        for (const Value& item : iterate(input)) {
            Value v = subscript(item, *attribute);
            out.push_back(v.is_undefined() ? fallback : v);
        }
        return Value::of(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].is_string()) fail("map() needs a filter name or attribute=");
    CallArgs rest;
    rest.positional.assign(args.positional.begin() + 1, args.positional.end());
    for (const Value& item : iterate(input)) out.push_back(context.apply_filter(args.positional[0].string.text, item, rest));
    return Value::of(std::move(out));
}

// Jinja's sort, dictsort, unique, min and max ignore case unless case_sensitive=true.
Value fold_case(const Value& v, bool case_sensitive) {
    if (case_sensitive || !v.is_string()) return v;
    return Value::of(map_chars(v.string, [](int c) { return std::tolower(c); }));
}

Value sort_items(const Value& input, const CallArgs& args) {
    Array items = iterate(input);
    const bool reverse = argument_or(args, 0, "reverse", Value::of(false)).truthy();
    const bool case_sensitive = argument_or(args, 1, "case_sensitive", Value::of(false)).truthy();
    const Value* attribute = argument(args, 2, "attribute");
    auto key = [&](const Value& v) { return fold_case(attribute != nullptr ? subscript(v, *attribute) : v, case_sensitive); };
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
        return reverse ? less(key(b), key(a)) : less(key(a), key(b));
    });
    return Value::of(std::move(items));
}

Value dict_sort(const Value& input, const CallArgs& args) {
    if (!input.is_mapping()) fail("dictsort needs a dict");
    const bool case_sensitive = argument_or(args, 0, "case_sensitive", Value::of(false)).truthy();
    Object sorted = *input.object;
    std::stable_sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) {
        return less(fold_case(Value::of(a.first), case_sensitive), fold_case(Value::of(b.first), case_sensitive));
    });
    Array out;
    for (const auto& [key, value] : sorted) out.push_back(Value::of(Array{Value::of(key), value}));
    return Value::of(std::move(out));
}

Value to_int(const Value& v, const Value& fallback) {
    switch (v.kind) {
        case Value::Kind::kInt: return v;
        case Value::Kind::kBool: return Value::of(static_cast<int64_t>(v.boolean));
        case Value::Kind::kFloat:
            // Only values that fit: the cast of anything else is undefined.
            return std::isfinite(v.number) && std::fabs(v.number) < 9.2e18 ? Value::of(static_cast<int64_t>(v.number)) : fallback;
        case Value::Kind::kString: {
            const std::string& s = v.string.text;
            char* end = nullptr;
            const long long parsed = std::strtoll(s.c_str(), &end, 10);
            if (end != s.c_str() && *end == '\0') return Value::of(static_cast<int64_t>(parsed));
            return fallback;
        }
        default: return fallback;
    }
}

Value indent_text(const Text& text, const CallArgs& args) {
    const int64_t width = integer_argument(argument_or(args, 0, "width", Value::of(int64_t{4})), "indent");
    const bool first = argument_or(args, 1, "first", Value::of(false)).truthy();
    const bool blank = argument_or(args, 2, "blank", Value::of(false)).truthy();
    const Text pad = Text::trusted(std::string(static_cast<size_t>(std::clamp<int64_t>(width, 0, 1024)), ' '));
    Text out;
    size_t pos = 0;
    bool first_line = true;
    while (pos <= text.text.size()) {
        size_t end = text.text.find('\n', pos);
        if (end == std::string::npos) end = text.text.size();
        const Text line = text.substr(pos, end - pos);
        if ((first_line ? first : true) && (blank || !line.text.empty())) out.append(pad);
        out.append(line);
        if (out.text.size() > kMaxString) fail("indent() makes a string too large");
        if (end == text.text.size()) break;
        out.append(text.substr(end, 1));
        pos = end + 1;
        first_line = false;
    }
    return Value::of(std::move(out));
}

std::string strftime_now(const std::string& format) {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buffer[256];
    const size_t n = std::strftime(buffer, sizeof buffer, format.c_str(), &local);
    return std::string(buffer, n);
}

Value range(const CallArgs& args) {
    if (args.positional.empty() || args.positional.size() > 3) fail("range() takes 1 to 3 integers");
    int64_t start = 0;
    int64_t stop = 0;
    int64_t step = 1;
    if (args.positional.size() == 1) {
        stop = integer_argument(args.positional[0], "range");
    } else {
        start = integer_argument(args.positional[0], "range");
        stop = integer_argument(args.positional[1], "range");
        if (args.positional.size() == 3) step = integer_argument(args.positional[2], "range");
    }
    if (step == 0) fail("range() step must not be zero");
    Array out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (out.size() >= kMaxItems) fail(str_cat("range() longer than ", kMaxItems));
        out.push_back(Value::of(i));
    }
    return Value::of(std::move(out));
}

Value callable(std::string name, std::function<Value(const CallArgs&)> call) {
    Value v;
    v.kind = Value::Kind::kCallable;
    v.callable = std::make_shared<const Callable>(Callable{std::move(name), std::move(call)});
    return v;
}

Value repeat(const Value& text_or_list, int64_t times) {
    times = std::max<int64_t>(times, 0);
    if (text_or_list.is_string()) {
        const size_t size = std::max<size_t>(text_or_list.string.text.size(), 1);
        if (static_cast<uint64_t>(times) > kMaxString / size) fail("string repetition too large");
        Text out;
        for (int64_t i = 0; i < times; ++i) out.append(text_or_list.string);
        return Value::of(std::move(out));
    }
    size_t bytes = 0;   // the strings copied, besides the items
    for (const Value& item : *text_or_list.array) bytes += item.is_string() ? item.string.text.size() : 0;
    const size_t items = std::max<size_t>(text_or_list.array->size(), 1);
    if (static_cast<uint64_t>(times) > kMaxItems / items || static_cast<uint64_t>(times) > kMaxString / std::max<size_t>(bytes, 1))
        fail("list repetition too large");
    Array out;
    for (int64_t i = 0; i < times; ++i) out.insert(out.end(), text_or_list.array->begin(), text_or_list.array->end());
    return Value::of(std::move(out));
}

Value arithmetic(std::string_view op, const Value& a, const Value& b) {
    const bool both_int = (a.kind == Value::Kind::kInt || a.kind == Value::Kind::kBool) &&
                          (b.kind == Value::Kind::kInt || b.kind == Value::Kind::kBool);
    auto integer = [](const Value& v) { return v.kind == Value::Kind::kBool ? int64_t{v.boolean} : v.integer; };
    auto number = [](const Value& v) { return v.kind == Value::Kind::kBool ? (v.boolean ? 1.0 : 0.0) : v.as_double(); };
    if (op == "/") {
        if (number(b) == 0) fail("division by zero");
        return Value::of(number(a) / number(b));
    }
    if (both_int) {
        const int64_t x = integer(a);
        const int64_t y = integer(b);
        int64_t result = 0;
        const auto overflow = [&] { fail(str_cat("integer overflow in ", x, " ", op, " ", y)); };
        if (op == "+") return __builtin_add_overflow(x, y, &result) ? (overflow(), Value{}) : Value::of(result);
        if (op == "-") return __builtin_sub_overflow(x, y, &result) ? (overflow(), Value{}) : Value::of(result);
        if (op == "*") return __builtin_mul_overflow(x, y, &result) ? (overflow(), Value{}) : Value::of(result);
        if (op == "**") {
            if (y < 0) return Value::of(std::pow(static_cast<double>(x), static_cast<double>(y)));
            result = 1;
            for (int64_t i = 0; i < y; ++i) {
                if (__builtin_mul_overflow(result, x, &result)) overflow();
                if (result == 0 || result == 1) break;   // 0 and 1 stay put (and -1 alternates, bounded by y)
            }
            if (x == -1) result = (y % 2 == 0) ? 1 : -1;
            return Value::of(result);
        }
        if (y == 0) fail("integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) overflow();
        int64_t quotient = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --quotient;   // Python floors
        if (op == "//") return Value::of(quotient);
        return Value::of(x - quotient * y);
    }
    const double x = number(a);
    const double y = number(b);
    if (op == "+") return Value::of(x + y);
    if (op == "-") return Value::of(x - y);
    if (op == "*") return Value::of(x * y);
    if (op == "**") return Value::of(std::pow(x, y));
    if (y == 0) fail("float division or modulo by zero");
    const double floored = std::floor(x / y);
    if (op == "//") return Value::of(floored);
    return Value::of(x - floored * y);
}

}  // namespace

Array iterate(const Value& value) {
    switch (value.kind) {
        case Value::Kind::kArray: return *value.array;
        case Value::Kind::kObject:
        case Value::Kind::kNamespace: {
            Array keys;
            for (const auto& [key, item] : *value.object) keys.push_back(Value::of(key));
            return keys;
        }
        case Value::Kind::kString: {
            Array chars;
            const std::vector<size_t> offsets = code_point_offsets(value.string.text);
            for (size_t i = 0; i + 1 < offsets.size(); ++i)
                chars.push_back(Value::of(value.string.substr(offsets[i], offsets[i + 1] - offsets[i])));
            return chars;
        }
        case Value::Kind::kUndefined: return {};
        default: fail(str_cat("a ", kind_name(value.kind), " cannot be iterated"));
    }
}

Value subscript(const Value& value, const Value& index) {
    if (value.is_mapping()) {
        if (index.is_string()) return value.member(index.string.text);
        return value.member(to_text(index).text);
    }
    if (value.kind == Value::Kind::kArray || value.is_string()) {
        if (index.kind != Value::Kind::kInt) {
            if (index.is_string() && value.kind == Value::Kind::kArray) return {};
            fail(str_cat("a ", kind_name(value.kind), " index must be an integer, not ", kind_name(index.kind)));
        }
        if (value.kind == Value::Kind::kArray) {
            const auto n = static_cast<int64_t>(value.array->size());
            const int64_t i = index.integer < 0 ? index.integer + n : index.integer;
            if (i < 0 || i >= n) return {};
            return (*value.array)[static_cast<size_t>(i)];
        }
        const std::vector<size_t> offsets = code_point_offsets(value.string.text);
        const auto n = static_cast<int64_t>(offsets.size()) - 1;
        const int64_t i = index.integer < 0 ? index.integer + n : index.integer;
        if (i < 0 || i >= n) return {};
        return Value::of(value.string.substr(offsets[static_cast<size_t>(i)], offsets[static_cast<size_t>(i) + 1] - offsets[static_cast<size_t>(i)]));
    }
    return {};
}

Value slice(const Value& value, const Value& start_value, const Value& stop_value, const Value& step_value) {
    auto optional_int = [](const Value& v, int64_t fallback) {
        if (v.is_undefined() || v.kind == Value::Kind::kNone) return fallback;
        return integer_argument(v, "slice");
    };
    int64_t step = optional_int(step_value, 1);
    if (step == 0) fail("slice step cannot be zero");
    std::vector<size_t> offsets;
    int64_t n;
    if (value.is_string()) {
        offsets = code_point_offsets(value.string.text);
        n = static_cast<int64_t>(offsets.size()) - 1;
    } else if (value.kind == Value::Kind::kArray) {
        n = static_cast<int64_t>(value.array->size());
    } else {
        fail(str_cat("a ", kind_name(value.kind), " cannot be sliced"));
    }
    auto clamp_index = [&](int64_t i, bool upper) {
        if (i < 0) i += n;
        if (step > 0) return std::clamp<int64_t>(i, 0, n);
        return std::clamp<int64_t>(i, -1, upper ? n - 1 : n - 1);
    };
    const int64_t start = start_value.is_undefined() || start_value.kind == Value::Kind::kNone
                              ? (step > 0 ? 0 : n - 1) : clamp_index(optional_int(start_value, 0), true);
    const int64_t stop = stop_value.is_undefined() || stop_value.kind == Value::Kind::kNone
                             ? (step > 0 ? n : -1) : clamp_index(optional_int(stop_value, 0), false);
    // A step longer than the sequence picks the start alone; clamping it keeps i + step in range.
    step = std::clamp<int64_t>(step, -(n + 1), n + 1);
    std::vector<int64_t> picked;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) picked.push_back(i);
    if (value.is_string()) {
        Text out;
        for (int64_t i : picked) {
            const auto k = static_cast<size_t>(i);
            out.append(value.string.substr(offsets[k], offsets[k + 1] - offsets[k]));
        }
        return Value::of(std::move(out));
    }
    Array out;
    for (int64_t i : picked) out.push_back((*value.array)[static_cast<size_t>(i)]);
    return Value::of(std::move(out));
}

Value binary_operation(std::string_view op, const Value& a, const Value& b) {
    using K = Value::Kind;
    if (op == "==") return Value::of(equal(a, b));
    if (op == "!=") return Value::of(!equal(a, b));
    if (op == "<") return Value::of(less(a, b));
    if (op == ">") return Value::of(less(b, a));
    if (op == "<=") return Value::of(!less(b, a));
    if (op == ">=") return Value::of(!less(a, b));
    if (op == "in" || op == "not in") {
        bool found = false;
        if (b.is_string()) {
            if (!a.is_string()) fail(str_cat("'in <string>' needs a string on the left, not ", kind_name(a.kind)));
            found = b.string.text.find(a.string.text) != std::string::npos;
        } else if (b.kind == K::kArray) {
            found = std::any_of(b.array->begin(), b.array->end(), [&](const Value& v) { return equal(v, a); });
        } else if (b.is_mapping()) {
            found = a.is_string() && !b.member(a.string.text).is_undefined();
        } else if (!b.is_undefined()) {
            fail(str_cat("'in' needs a string, list or dict on the right, not ", kind_name(b.kind)));
        }
        return Value::of(op == "in" ? found : !found);
    }
    if (op == "~") {
        Text out = to_text(a);
        out.append(to_text(b));
        if (out.text.size() > kMaxString) fail("string too large");
        return Value::of(std::move(out));
    }
    if (op == "+") {
        if (a.is_string() && b.is_string()) {
            Text out = a.string;
            out.append(b.string);
            if (out.text.size() > kMaxString) fail("string too large");
            return Value::of(std::move(out));
        }
        if (a.kind == K::kArray && b.kind == K::kArray) {
            Array out = *a.array;
            out.insert(out.end(), b.array->begin(), b.array->end());
            return Value::of(std::move(out));
        }
    }
    if (op == "*") {
        if ((a.is_string() || a.kind == K::kArray) && b.kind == K::kInt) return repeat(a, b.integer);
        if ((b.is_string() || b.kind == K::kArray) && a.kind == K::kInt) return repeat(b, a.integer);
    }
    if (op == "%" && a.is_string()) fail("'%' string formatting is not supported; use ~ or format filters");
    const bool numeric = (a.is_number() || a.kind == K::kBool) && (b.is_number() || b.kind == K::kBool);
    if (!numeric) fail(type_error(str_cat("apply '", op, "' to"), a, b));
    return arithmetic(op, a, b);
}

Value unary_operation(std::string_view op, const Value& operand) {
    if (op == "not") return Value::of(!operand.truthy());
    if (operand.kind == Value::Kind::kInt) {
        if (op == "-" && operand.integer == INT64_MIN) fail("integer overflow in unary -");
        return Value::of(op == "-" ? -operand.integer : operand.integer);
    }
    if (operand.kind == Value::Kind::kFloat) return Value::of(op == "-" ? -operand.number : operand.number);
    if (operand.kind == Value::Kind::kBool) return Value::of(static_cast<int64_t>(op == "-" ? -operand.boolean : operand.boolean));
    fail(str_cat("cannot apply unary '", op, "' to ", kind_name(operand.kind)));
}

Value filter(std::string_view name, const Value& input, const CallArgs& args, const FilterContext& context) {
    auto text_input = [&]() -> Text { return input.is_string() ? input.string : to_text(input); };
    if (name == "trim") {
        const Value* chars = argument(args, 0, "chars");
        const std::string* set = chars != nullptr && chars->is_string() ? &chars->string.text : nullptr;
        return Value::of(strip_text(text_input(), true, true, set));
    }
    if (name == "length" || name == "count") return Value::of(static_cast<int64_t>(length(input)));
    if (name == "tojson") {
        const Value indent = argument_or(args, 0, "indent", Value::none());
        const int width = indent.kind == Value::Kind::kInt ? static_cast<int>(std::clamp<int64_t>(indent.integer, 0, 64)) : -1;
        const bool sort_keys = argument_or(args, 99, "sort_keys", Value::of(false)).truthy();
        std::string json = to_json(input, width, sort_keys);
        return Value::of(contains_untrusted(input) ? Text::from_message(std::move(json)) : Text::trusted(std::move(json)));
    }
    if (name == "upper") return Value::of(map_chars(text_input(), [](int c) { return std::toupper(c); }));
    if (name == "lower") return Value::of(map_chars(text_input(), [](int c) { return std::tolower(c); }));
    if (name == "capitalize") return Value::of(capitalize(text_input()));
    if (name == "title") return Value::of(title(text_input()));
    if (name == "string") return Value::of(text_input());
    if (name == "safe" || name == "e" || name == "escape" || name == "forceescape") {
        if (name == "safe") return input;
        fail("HTML escaping is not supported in chat templates");
    }
    if (name == "default" || name == "d") {
        const Value fallback = argument_or(args, 0, "default_value", Value::of(""));
        const bool boolean = argument_or(args, 1, "boolean", Value::of(false)).truthy();
        if (input.is_undefined() || (boolean && !input.truthy())) return fallback;
        return input;
    }
    if (name == "join") {
        const Value separator = argument_or(args, 0, "d", Value::of(""));
        return join(input, to_text(separator), argument(args, 1, "attribute"));
    }
    if (name == "first" || name == "last") {
        const Array items = iterate(input);
        if (items.empty()) return {};
        return name == "first" ? items.front() : items.back();
    }
    if (name == "list") return Value::of(iterate(input));
    if (name == "reverse") {
        if (input.is_string()) return slice(input, {}, {}, Value::of(int64_t{-1}));
        Array items = iterate(input);
        std::reverse(items.begin(), items.end());
        return Value::of(std::move(items));
    }
    if (name == "int") return to_int(input, argument_or(args, 0, "default", Value::of(int64_t{0})));
    if (name == "float") {
        if (input.is_number()) return Value::of(input.as_double());
        if (input.is_string()) {
            char* end = nullptr;
            const double d = std::strtod(input.string.text.c_str(), &end);
            if (end != input.string.text.c_str() && *end == '\0') return Value::of(d);
        }
        return argument_or(args, 0, "default", Value::of(0.0));
    }
    if (name == "abs") {
        if (input.kind == Value::Kind::kInt) return Value::of(input.integer < 0 ? -input.integer : input.integer);
        if (input.kind == Value::Kind::kFloat) return Value::of(std::fabs(input.number));
        fail("abs needs a number");
    }
    if (name == "round") {
        const int64_t precision = integer_argument(argument_or(args, 0, "precision", Value::of(int64_t{0})), "round");
        const double scale = std::pow(10.0, static_cast<double>(precision));
        return Value::of(std::nearbyint(input.as_double() * scale) / scale);
    }
    if (name == "replace") {
        const Value count = argument_or(args, 2, "count", Value::none());
        return Value::of(replace_text(text_input(), string_argument(args, 0, "old", "replace"),
                                      string_argument(args, 1, "new", "replace"),
                                      count.kind == Value::Kind::kInt ? count.integer : -1));
    }
    if (name == "items") return items_of(input);
    if (name == "dictsort") return dict_sort(input, args);
    if (name == "sort") return sort_items(input, args);
    if (name == "unique") {
        const bool case_sensitive = argument_or(args, 0, "case_sensitive", Value::of(false)).truthy();
        Array out;
        for (const Value& item : iterate(input))
            if (std::none_of(out.begin(), out.end(),
                             [&](const Value& v) { return equal(fold_case(v, case_sensitive), fold_case(item, case_sensitive)); }))
                out.push_back(item);
        return Value::of(std::move(out));
    }
    if (name == "selectattr") return select_items(input, args, true, true, context);
    if (name == "rejectattr") return select_items(input, args, true, false, context);
    if (name == "select") return select_items(input, args, false, true, context);
    if (name == "reject") return select_items(input, args, false, false, context);
    if (name == "map") return map_items(input, args, context);
    if (name == "indent") return indent_text(text_input(), args);
    if (name == "wordcount") return Value::of(static_cast<int64_t>(split_text(text_input(), nullptr, -1).size()));
    if (name == "min" || name == "max") {
        const Array items = iterate(input);
        if (items.empty()) return {};
        const bool case_sensitive = argument_or(args, 0, "case_sensitive", Value::of(false)).truthy();
        auto best = items.begin();
        for (auto it = items.begin(); it != items.end(); ++it) {
            const Value a = fold_case(*it, case_sensitive);
            const Value b = fold_case(*best, case_sensitive);
            if (name == "min" ? less(a, b) : less(b, a)) best = it;
        }
        return *best;
    }
    if (name == "sum") {
        Value total = argument_or(args, 1, "start", Value::of(int64_t{0}));
        for (const Value& item : iterate(input)) total = binary_operation("+", total, item);
        return total;
    }
    fail(str_cat("unknown filter '", name, "'"));
}

bool test(std::string_view name, const Value& input, const CallArgs& args) {
    using K = Value::Kind;
    if (name == "defined") return !input.is_undefined();
    if (name == "undefined") return input.is_undefined();
    if (name == "none") return input.kind == K::kNone;
    if (name == "string") return input.is_string();
    if (name == "number") return input.is_number();
    if (name == "integer") return input.kind == K::kInt;
    if (name == "float") return input.kind == K::kFloat;
    if (name == "boolean") return input.kind == K::kBool;
    if (name == "true") return input.kind == K::kBool && input.boolean;
    if (name == "false") return input.kind == K::kBool && !input.boolean;
    if (name == "mapping") return input.is_mapping();
    if (name == "sequence") return input.kind == K::kArray || input.is_string() || input.is_mapping();
    if (name == "iterable") return input.kind == K::kArray || input.is_string() || input.is_mapping();
    if (name == "callable") return input.kind == K::kCallable;
    if (name == "lower") return input.is_string() && map_chars(input.string, [](int c) { return std::tolower(c); }).text == input.string.text;
    if (name == "upper") return input.is_string() && map_chars(input.string, [](int c) { return std::toupper(c); }).text == input.string.text;
    if (name == "even" || name == "odd") {
        if (input.kind != K::kInt) fail(str_cat("'", name, "' needs an integer"));
        return (input.integer % 2 == 0) == (name == "even");
    }
    if (name == "divisibleby") {
        const Value* d = argument(args, 0, "num");
        if (d == nullptr || d->kind != K::kInt || d->integer == 0 || input.kind != K::kInt) fail("'divisibleby' needs integers");
        return d->integer == -1 || input.integer % d->integer == 0;
    }
    const Value* other = argument(args, 0, "b");
    if (name == "equalto" || name == "eq" || name == "==") return other != nullptr && equal(input, *other);
    if (name == "ne" || name == "!=") return other != nullptr && !equal(input, *other);
    if (name == "in") return other != nullptr && binary_operation("in", input, *other).boolean;
    if (name == "sameas") return other != nullptr && input.kind == other->kind && equal(input, *other);
    fail(str_cat("unknown test '", name, "'"));
}

bool has_method(const Value& self, std::string_view name) {
    static constexpr std::string_view kString[] = {"strip", "lstrip", "rstrip", "startswith", "endswith", "split",
                                                   "upper", "lower", "title", "capitalize", "replace", "find",
                                                   "count", "join", "rsplit", "splitlines", "isdigit", "isspace"};
    static constexpr std::string_view kDict[] = {"items", "keys", "values", "get"};
    if (self.is_string()) return std::find(std::begin(kString), std::end(kString), name) != std::end(kString);
    if (self.kind == Value::Kind::kObject) return std::find(std::begin(kDict), std::end(kDict), name) != std::end(kDict);
    if (self.kind == Value::Kind::kArray) return name == "index" || name == "count";
    return false;
}

Value call_method(const Value& self, std::string_view name, const CallArgs& args) {
    if (self.is_string()) {
        const Text& s = self.string;
        const Value* chars_arg = argument(args, 0, "chars");
        const std::string* chars = chars_arg != nullptr && chars_arg->is_string() ? &chars_arg->string.text : nullptr;
        if (name == "strip") return Value::of(strip_text(s, true, true, chars));
        if (name == "lstrip") return Value::of(strip_text(s, true, false, chars));
        if (name == "rstrip") return Value::of(strip_text(s, false, true, chars));
        if (name == "startswith" || name == "endswith") {
            const Value* affix = argument(args, 0, "prefix");
            if (affix == nullptr) fail(str_cat(name, "() needs an argument"));
            return Value::of(starts_or_ends(s, *affix, name == "startswith"));
        }
        if (name == "split" || name == "rsplit") {
            if (name == "rsplit" && argument(args, 1, "maxsplit") != nullptr) fail("rsplit() with maxsplit is not supported");
            const Value max = argument_or(args, 1, "maxsplit", Value::of(int64_t{-1}));
            return Value::of(split_text(s, argument(args, 0, "sep"), integer_argument(max, "split")));
        }
        if (name == "splitlines") {
            Array lines;
            size_t pos = 0;
            while (pos < s.text.size()) {
                size_t end = s.text.find('\n', pos);
                if (end == std::string::npos) end = s.text.size();
                size_t line_end = end > pos && s.text[end - 1] == '\r' ? end - 1 : end;
                lines.push_back(Value::of(s.substr(pos, line_end - pos)));
                pos = end + 1;
            }
            return Value::of(std::move(lines));
        }
        if (name == "upper") return Value::of(map_chars(s, [](int c) { return std::toupper(c); }));
        if (name == "lower") return Value::of(map_chars(s, [](int c) { return std::tolower(c); }));
        if (name == "title") return Value::of(title(s));
        if (name == "capitalize") return Value::of(capitalize(s));
        if (name == "replace") {
            const Value count = argument_or(args, 2, "count", Value::of(int64_t{-1}));
            return Value::of(replace_text(s, string_argument(args, 0, "old", "replace"), string_argument(args, 1, "new", "replace"),
                                          integer_argument(count, "replace")));
        }
        if (name == "find") {
            const size_t at = s.text.find(string_argument(args, 0, "sub", "find").text);
            if (at == std::string::npos) return Value::of(int64_t{-1});
            return Value::of(static_cast<int64_t>(code_point_offsets(s.text.substr(0, at)).size() - 1));
        }
        if (name == "count") {
            const std::string& sub = string_argument(args, 0, "sub", "count").text;
            if (sub.empty()) return Value::of(static_cast<int64_t>(length(self) + 1));
            int64_t n = 0;
            for (size_t at = s.text.find(sub); at != std::string::npos; at = s.text.find(sub, at + sub.size())) ++n;
            return Value::of(n);
        }
        if (name == "join") {
            const Value* items = argument(args, 0, "iterable");
            if (items == nullptr) fail("join() needs a list");
            return join(*items, s, nullptr);
        }
        if (name == "isdigit")
            return Value::of(!s.text.empty() && std::all_of(s.text.begin(), s.text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }));
        if (name == "isspace") return Value::of(!s.text.empty() && std::all_of(s.text.begin(), s.text.end(), is_space));
    }
    if (self.kind == Value::Kind::kObject) {
        if (name == "items") return items_of(self);
        if (name == "keys") return Value::of(iterate(self));
        if (name == "values") {
            Array values;
            for (const auto& [key, value] : *self.object) values.push_back(value);
            return Value::of(std::move(values));
        }
        if (name == "get") {
            const Value* key = argument(args, 0, "key");
            if (key == nullptr) fail("get() needs a key");
            const Value found = subscript(self, *key);
            return found.is_undefined() ? argument_or(args, 1, "default", Value::none()) : found;
        }
    }
    if (self.kind == Value::Kind::kArray && (name == "index" || name == "count")) {
        const Value* needle = argument(args, 0, "value");
        if (needle == nullptr) fail(str_cat(name, "() needs a value"));
        int64_t n = 0;
        for (size_t i = 0; i < self.array->size(); ++i)
            if (equal((*self.array)[i], *needle)) {
                if (name == "index") return Value::of(static_cast<int64_t>(i));
                ++n;
            }
        if (name == "index") fail("index(): the value is not in the list");
        return Value::of(n);
    }
    fail(str_cat("a ", kind_name(self.kind), " has no method '", name, "'"));
}

Object global_functions() {
    Object globals;
    globals.emplace_back("raise_exception", callable("raise_exception", [](const CallArgs& args) -> Value {
        const Value message = argument_or(args, 0, "message", Value::of("the chat template raised an exception"));
        fail(str_cat("the chat template refused: ", to_text(message).text));
    }));
    globals.emplace_back("namespace", callable("namespace", [](const CallArgs& args) {
        Object attributes;
        if (!args.positional.empty() && args.positional[0].is_mapping()) attributes = *args.positional[0].object;
        for (const auto& [key, value] : args.named) attributes.emplace_back(key, value);
        return Value::namespace_of(std::move(attributes));
    }));
    globals.emplace_back("dict", callable("dict", [](const CallArgs& args) {
        Object entries;
        for (const auto& [key, value] : args.named) entries.emplace_back(key, value);
        return Value::of(std::move(entries));
    }));
    globals.emplace_back("range", callable("range", range));
    globals.emplace_back("strftime_now", callable("strftime_now", [](const CallArgs& args) {
        const Text& format = string_argument(args, 0, "format", "strftime_now");
        std::string now = strftime_now(format.text);
        return Value::of(format.any_untrusted() ? Text::from_message(std::move(now)) : Text::trusted(std::move(now)));
    }));
    return globals;
}

}  // namespace tern::tokenizer::jinja
