// cudp::Error and the checks that throw it.
//
// Every error says what was expected, what was found, and where (layer, file,
// offset, flag). `fail(...)` streams its arguments into one message, so call
// sites read like the sentence the user will see:
//   fail("fc1: expected ", 4096, " input features, found ", 65536);
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace cudp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(concat(parts...));
}

// An error about one named parameter of a library call: `parameter` is the
// library's own name for it ("devices", "chunk_bytes", "output_rank"), never a
// command-line flag; what() is "parameter: message", or "parameter value:
// message" when the error is about the value as a whole ("devices cpu:0: ...").
// The app that took the value from a flag rewrites the parameter as its flag
// (apps/flag_errors.h), so no library folder names a flag.
class ParameterError : public Error {
 public:
  ParameterError(std::string parameter, const std::string& message)
      : ParameterError(std::move(parameter), std::string(), message) {}
  ParameterError(std::string parameter, std::string value, const std::string& message)
      : Error(parameter + (value.empty() ? "" : " " + value) + ": " + message),
        parameter_(std::move(parameter)),
        value_(std::move(value)),
        message_(message) {}
  const std::string& parameter() const { return parameter_; }
  const std::string& value() const { return value_; }      // "" when not named
  const std::string& message() const { return message_; }  // without parameter and value

 private:
  std::string parameter_, value_, message_;
};

template <class... Parts>
[[noreturn]] void fail_parameter(const std::string& parameter, const Parts&... parts) {
  throw ParameterError(parameter, concat(parts...));
}

// What CUDP_ASSERT throws: a broken invariant of cudp itself, never a bad input.
// It is an Error, so callers report it like any other; fuzz/ tells it apart.
class InternalError : public Error {
 public:
  using Error::Error;
};

// The same, naming the value: fail_value("devices", "cpu:0", "cpu:N needs ...").
template <class... Parts>
[[noreturn]] void fail_value(const std::string& parameter, const std::string& value,
                             const Parts&... parts) {
  throw ParameterError(parameter, value, concat(parts...));
}

}  // namespace cudp

// Internal invariant with the source location; user-facing checks call fail().
#define CUDP_ASSERT(cond)                                                              \
  do {                                                                                 \
    if (!(cond))                                                                       \
      throw ::cudp::InternalError(                                                     \
          ::cudp::concat(__FILE__, ":", __LINE__, ": internal check failed: " #cond)); \
  } while (0)
