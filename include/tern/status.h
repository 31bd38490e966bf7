// Error and Result: how every tern function that can meet bad input reports it.
//
// Bad input (a file, a flag, a request) never aborts: the function returns an Error whose
// message is one line naming the thing, where it is, what was expected and what was found,
// e.g. "model.gguf: tensor 'blk.7.ffn_down.weight': data [0x3a1000, +0x500000) runs past end
// of file (0x3f0000 bytes)". Broken invariants (bugs) are not errors; see TERN_CHECK.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tern {

class Error {
public:
    explicit Error(std::string message) : message_(std::move(message)) {}

    const std::string& message() const { return message_; }

    // Returns a copy whose message is prefixed with "context: ".
    Error within(std::string_view context) const {
        std::string prefixed(context);
        prefixed += ": ";
        prefixed += message_;
        return Error(std::move(prefixed));
    }

private:
    std::string message_;
};

// Holds either a value or an Error. Accessing the wrong alternative is a bug (std::get throws
// std::bad_variant_access, which nothing catches, so the program stops loudly).
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    const Error& error() const { return std::get<1>(state_); }

private:
    std::variant<T, Error> state_;
};

// Result of an operation that produces nothing but may fail.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    const Error& error() const { return error_; }

private:
    Error error_{std::string()};
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace tern

// Propagates an error from an expression returning Result<T>/Status.
#define TERN_TRY(expr)                                \
    do {                                              \
        if (auto tern_try_result_ = (expr); !tern_try_result_.ok()) \
            return tern_try_result_.error();          \
    } while (false)

#define TERN_CONCAT_INNER(a, b) a##b
#define TERN_CONCAT(a, b) TERN_CONCAT_INNER(a, b)

// `TERN_ASSIGN_OR_RETURN(auto x, make_x());` declares x from a Result or returns its error.
#define TERN_ASSIGN_OR_RETURN(decl, expr)                                        \
    auto TERN_CONCAT(tern_result_, __LINE__) = (expr);                           \
    if (!TERN_CONCAT(tern_result_, __LINE__).ok())                               \
        return TERN_CONCAT(tern_result_, __LINE__).error();                      \
    decl = std::move(TERN_CONCAT(tern_result_, __LINE__)).value()
